#include "forward/l4/proxy_protocol.hpp"

namespace meridian::forward::l4 {

namespace ip = boost::asio::ip;

namespace {

ip::address plain(const ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
  return a;
}

}  // namespace

std::string proxy_v1(const ip::tcp::endpoint& client, const ip::tcp::endpoint& local) {
  const ip::address c = plain(client.address()), l = plain(local.address());
  if (c.is_v4() != l.is_v4()) return "PROXY UNKNOWN\r\n";
  return std::string("PROXY ") + (c.is_v4() ? "TCP4 " : "TCP6 ") + c.to_string() + " " + l.to_string() + " " +
         std::to_string(client.port()) + " " + std::to_string(local.port()) + "\r\n";
}

std::string proxy_v2(const ip::tcp::endpoint& client, const ip::tcp::endpoint& local) {
  static const char signature[] = "\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A";
  std::string h(signature, 12);
  const ip::address c = plain(client.address()), l = plain(local.address());
  auto port = [&](uint16_t p) {
    h += static_cast<char>(p >> 8);
    h += static_cast<char>(p & 0xff);
  };
  if (c.is_v4() && l.is_v4()) {
    h += '\x21';  // version 2, PROXY
    h += '\x11';  // AF_INET, STREAM
    h += '\x00';
    h += '\x0c';
    const auto cb = c.to_v4().to_bytes(), lb = l.to_v4().to_bytes();
    h.append(reinterpret_cast<const char*>(cb.data()), 4);
    h.append(reinterpret_cast<const char*>(lb.data()), 4);
  } else if (c.is_v6() && l.is_v6()) {
    h += '\x21';
    h += '\x21';  // AF_INET6, STREAM
    h += '\x00';
    h += '\x24';
    const auto cb = c.to_v6().to_bytes(), lb = l.to_v6().to_bytes();
    h.append(reinterpret_cast<const char*>(cb.data()), 16);
    h.append(reinterpret_cast<const char*>(lb.data()), 16);
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
