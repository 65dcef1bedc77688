#include "geo/mmdb_network.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace meridian::geo {
namespace {

constexpr std::array<uint8_t, 12> kIpv4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool host_bits_clear(const IpNetwork& net) {
  for (unsigned i = net.prefix_length; i < 128; ++i) {
    if (net.bit(i)) return false;
  }
  return true;
}

IpNetwork masked(IpNetwork net) {
  for (unsigned i = net.prefix_length; i < 128; ++i) {
    net.bytes[i / 8] &= static_cast<uint8_t>(~(0x80u >> (i % 8)));
  }
  return net;
}

// ::ffff:a.b.c.d/n with n >= 96 is IPv4 data; the tree keeps IPv4 at ::/96.
void normalize_ipv4_mapped(IpNetwork& net) {
  if (net.ipv4 || net.prefix_length < 96) return;
  for (std::size_t i = 0; i < kIpv4MappedPrefix.size(); ++i) {
    if (net.bytes[i] != kIpv4MappedPrefix[i]) return;
  }
  net.bytes[10] = net.bytes[11] = 0;
  net.ipv4 = true;
}

}  // namespace

std::string IpNetwork::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (ipv4) {
    inet_ntop(AF_INET, bytes.data() + 12, text, sizeof text);
    return std::string(text) + "/" + std::to_string(prefix_length - 96);
  }
  inet_ntop(AF_INET6, bytes.data(), text, sizeof text);
  return std::string(text) + "/" + std::to_string(prefix_length);
}

std::optional<IpNetwork> parse_network(std::string_view text, std::string* error) {
  auto fail = [&](std::string message) -> std::optional<IpNetwork> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  const std::size_t slash = text.find('/');
  const std::string address(text.substr(0, slash));
  IpNetwork net;
  unsigned family_bits = 128;
  if (inet_pton(AF_INET, address.c_str(), net.bytes.data() + 12) == 1) {
    net.ipv4 = true;
    family_bits = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), net.bytes.data()) != 1) {
    return fail("'" + address + "' is not an IPv4 or IPv6 address");
  }
  unsigned prefix = family_bits;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || prefix > family_bits) {
      return fail("prefix length '" + std::string(digits) + "' is not a number from 0 to " +
                  std::to_string(family_bits));
    }
  }
  net.prefix_length = prefix + (128 - family_bits);
  if (!host_bits_clear(net)) {
    return fail("host bits are set below the prefix (did you mean " + masked(net).to_string() + "?)");
  }
  normalize_ipv4_mapped(net);
  return net;
}

}  // namespace meridian::geo
