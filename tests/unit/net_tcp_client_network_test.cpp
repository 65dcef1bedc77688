// The client network a TCP connection counts against for dns.tcp.max_per_client:
// an IPv4 /32, an IPv6 /64, an IPv4-mapped address as its IPv4 address.
#include <doctest/doctest.h>

#include <boost/asio/ip/address.hpp>

#include "net/tcp_server.hpp"

using meridian::net::TcpServer;

namespace {
TcpServer::ClientNetwork network_of(const char* text) {
  return TcpServer::client_network(boost::asio::ip::make_address(text));
}
}  // namespace

TEST_SUITE("net.tcp_client_network") {
  TEST_CASE("IPv4 /32, IPv6 /64, mapped addresses as IPv4") {
    CHECK(network_of("192.0.2.1") == network_of("192.0.2.1"));
    CHECK_FALSE(network_of("192.0.2.1") == network_of("192.0.2.2"));
    CHECK(network_of("2001:db8:1:2::1") == network_of("2001:db8:1:2:ffff::9"));
    CHECK_FALSE(network_of("2001:db8:1:2::1") == network_of("2001:db8:1:3::1"));
    CHECK(network_of("::ffff:192.0.2.1") == network_of("192.0.2.1"));
    // The same 64 bits as an IPv4 key: still another network.
    CHECK_FALSE(network_of("::c000:201") == network_of("192.0.2.1"));
    CHECK_FALSE(network_of("::") == network_of("0.0.0.0"));
    CHECK(network_of("2001:db8::1").v6);
    CHECK_FALSE(network_of("192.0.2.1").v6);
  }
}
