#include "zone/presentation_text.hpp"

#include <arpa/inet.h>

#include "dns/constants.hpp"
#include "zone/rdata_codec.hpp"

namespace meridian::zone {

namespace {

// Appends the name that starts wire; returns its length, 0 when it is not a
// whole uncompressed name (ldns's host2str.c rules: . ; ( ) \ escaped by a
// backslash, bytes outside ASCII's printable set as \DDD).
std::size_t append_name(std::string& out, std::string_view wire) {
  std::size_t i = 0;
  if (!wire.empty() && wire[0] == 0) {
    out += '.';
    return 1;
  }
  while (i < wire.size()) {
    const auto length = static_cast<uint8_t>(wire[i]);
    if (length == 0) return i + 1;
    if (length > 63 || i + 1 + length > wire.size()) return 0;
    for (std::size_t k = i + 1; k <= i + length; ++k) {
      const auto c = static_cast<unsigned char>(wire[k]);
      if (c == '.' || c == ';' || c == '(' || c == ')' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x21 || c > 0x7e) {
        const char digits[4] = {'\\', static_cast<char>('0' + c / 100), static_cast<char>('0' + c / 10 % 10),
                                static_cast<char>('0' + c % 10)};
        out.append(digits, 4);
      } else {
        out += static_cast<char>(c);
      }
    }
    out += '.';
    i += 1 + length;
  }
  return 0;
}

// The whole wire is one name.
std::string name_rdata_text(std::string_view wire, std::string prefix = {}) {
  std::string out = std::move(prefix);
  if (wire.size() > 255 || append_name(out, wire) != wire.size()) return {};
  return out;
}

}  // namespace

std::string ldns_name_text(std::string_view wire) { return name_rdata_text(wire); }

std::string presentation_text(uint16_t type, std::string_view wire) {
  std::string out;
  switch (type) {
    case dns::type::A:
      // What inet_ntop writes, without its sprintf.
      if (wire.size() != 4) break;
      for (std::size_t i = 0; i < 4; ++i) {
        if (i) out += '.';
        const auto b = static_cast<uint8_t>(wire[i]);
        if (b >= 100) out += static_cast<char>('0' + b / 100);
        if (b >= 10) out += static_cast<char>('0' + b / 10 % 10);
        out += static_cast<char>('0' + b % 10);
      }
      return out;
    case dns::type::AAAA: {
      if (wire.size() != 16) break;
      char text[INET6_ADDRSTRLEN];
      if (!inet_ntop(AF_INET6, wire.data(), text, sizeof text)) break;
      return text;
    }
    case dns::type::NS: case dns::type::CNAME: case dns::type::PTR: case dns::type::DNAME:
      if (std::string name = name_rdata_text(wire); !name.empty()) return name;
      break;
    case dns::type::MX:
      if (wire.size() < 3) break;
      if (std::string text = name_rdata_text(
              wire.substr(2), std::to_string(static_cast<uint8_t>(wire[0]) << 8 | static_cast<uint8_t>(wire[1])) + ' ');
          !text.empty())
        return text;
      break;
    default:
      break;
  }
  return rdata_to_text(type, wire);
}

}  // namespace meridian::zone
