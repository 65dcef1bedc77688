#include "forward/l4/proxy_protocol.hpp"

#include "util/ip_address.hpp"

namespace meridian::forward::l4 {

namespace ip = boost::asio::ip;

std::string proxy_v1(const ip::tcp::endpoint& client, const ip::tcp::endpoint& local) {
  const ip::address c = util::unmapped(client.address()), l = util::unmapped(local.address());
  if (c.is_v4() != l.is_v4()) return "PROXY UNKNOWN\r\n";
  return std::string("PROXY ") + (c.is_v4() ? "TCP4 " : "TCP6 ") + c.to_string() + " " + l.to_string() + " " +
         std::to_string(client.port()) + " " + std::to_string(local.port()) + "\r\n";
}

std::string proxy_v2(const ip::tcp::endpoint& client, const ip::tcp::endpoint& local) {
  static const char signature[] = "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A";
  std::string h(signature, 12);
  const ip::address c = util::unmapped(client.address()), l = util::unmapped(local.address());
  auto port = [&](uint16_t p) {
    h += static_cast<char>(p >> 8);
    h += static_cast<char>(p & 0xff);
  };
  if (c.is_v4() && l.is_v4()) {
    h += '\x21';  // version 2, PROXY
    h += '\x11';  // AF_INET, STREAM
    h += '\x00';
    h += '\x0c';
    h.append(reinterpret_cast<const char*>(util::IpAddress::from_asio(c).bytes()), 4);
    h.append(reinterpret_cast<const char*>(util::IpAddress::from_asio(l).bytes()), 4);
  } else if (c.is_v6() && l.is_v6()) {
    h += '\x21';
    h += '\x21';  // AF_INET6, STREAM
    h += '\x00';
    h += '\x24';
    h.append(reinterpret_cast<const char*>(util::IpAddress::from_asio(c).bytes()), 16);
    h.append(reinterpret_cast<const char*>(util::IpAddress::from_asio(l).bytes()), 16);
  } else {
    h += '\x20';  // LOCAL: no address information
    h += '\x00';
    h += '\x00';
    h += '\x00';
    return h;
  }
  port(client.port());
  port(local.port());
  return h;
}

}  // namespace meridian::forward::l4
