#include "util/ip_address.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace meridian::util {

namespace ip = boost::asio::ip;

IpAddress IpAddress::from_asio(const ip::address& a) {
  if (a.is_v4()) return v4(a.to_v4().to_bytes().data());
  return v6(a.to_v6().to_bytes().data());
}

ip::address IpAddress::to_asio() const {
  if (family == 4) {
    ip::address_v4::bytes_type b;
    std::memcpy(b.data(), address, 4);
    return ip::address_v4(b);
  }
  ip::address_v6::bytes_type b;
  std::memcpy(b.data(), address, 16);
  return ip::address_v6(b);
}

std::string IpAddress::to_string() const { return to_asio().to_string(); }

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
  boost::system::error_code ec;
  const auto a = ip::make_address(text, ec);
  if (ec) return std::nullopt;
  return from_asio(a);
}

ip::address unmapped(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

std::optional<IpNetwork> parse_network(std::string_view text, std::string& error, std::string_view shown_as) {
  std::string quoted(1, '"');  // appended: GCC 12's -Wrestrict misfires on "\"" + std::string at -O3
  quoted += shown_as.empty() ? text : shown_as;
  quoted += '"';
  const auto slash = text.find('/');
  const auto address = slash == std::string_view::npos ? std::nullopt : IpAddress::parse(text.substr(0, slash));
  unsigned len = 0;
  const std::string_view len_text = slash == std::string_view::npos ? std::string_view() : text.substr(slash + 1);
  const auto [end, err] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
  if (!address || err != std::errc() || end != len_text.data() + len_text.size()) {
    error = quoted + " is not a valid network";
    return std::nullopt;
  }
  IpNetwork n;
  static_cast<IpAddress&>(n) = *address;
  const unsigned width = n.family == 4 ? 32u : 128u;
  if (len > width) {
    error = quoted + (n.family == 4 ? ": an IPv4 prefix is at most 32" : ": an IPv6 prefix is at most 128");
    return std::nullopt;
  }
  n.prefix_len = len;
  // Host bits must be zero, so what the operator wrote is what matches.
  for (unsigned bit = len; bit < width; ++bit) {
    if (n.address[bit / 8] & (0x80 >> (bit % 8))) {
      error = quoted + ": address bits are set beyond the prefix length";
      return std::nullopt;
    }
  }
  return n;
}

}  // namespace meridian::util
