// The one address type of the query path, routing tables and forwarders: text
// and asio conversions, IPv4-mapped addresses, and ADDRESS/PREFIX networks.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <boost/asio/ip/address.hpp>

#include <cstring>
#include <string>
#include <type_traits>

#include "routing/client_key.hpp"
#include "util/ip_address.hpp"

using meridian::util::IpAddress;
using meridian::util::parse_network;

namespace {

// The bytes inet_pton gives for the text (what the kernel and the wire carry).
std::string pton(int af, const char* text) {
  unsigned char b[16] = {};
  REQUIRE(inet_pton(af, text, b) == 1);
  return std::string(reinterpret_cast<const char*>(b), af == AF_INET ? 4 : 16);
}

std::string bytes_of(const IpAddress& a) { return std::string(reinterpret_cast<const char*>(a.bytes()), a.size()); }

}  // namespace

TEST_CASE("IpAddress keeps the per-query client's layout: 17 trivially copyable bytes") {
  static_assert(std::is_trivially_copyable_v<IpAddress>);
  static_assert(sizeof(IpAddress) == 17);
  const IpAddress none;
  CHECK(none.family == 0);
}

TEST_CASE("IpAddress::parse reads IPv4 and IPv6 text and refuses anything else") {
  const auto v4 = IpAddress::parse("192.0.2.77");
  REQUIRE(v4);
  CHECK(v4->family == 4);
  CHECK(v4->size() == 4);
  CHECK(bytes_of(*v4) == pton(AF_INET, "192.0.2.77"));
  for (int i = 4; i < 16; ++i) CHECK(v4->address[i] == 0);

  const auto v6 = IpAddress::parse("2001:db8::ff:1");
  REQUIRE(v6);
  CHECK(v6->family == 6);
  CHECK(v6->size() == 16);
  CHECK(bytes_of(*v6) == pton(AF_INET6, "2001:db8::ff:1"));

  const auto mapped = IpAddress::parse("::ffff:198.51.100.9");
  REQUIRE(mapped);
  CHECK(mapped->family == 6);  // parsing keeps what was written
  CHECK(mapped->is_ipv4_mapped());
  CHECK(bytes_of(*mapped) == pton(AF_INET6, "::ffff:198.51.100.9"));

  for (const char* bad : {"", "192.0.2", "192.0.2.256", "192.0.2.1/24", "2001:db8:::1", "example.com", " 192.0.2.1"}) {
    CAPTURE(bad);
    CHECK_FALSE(IpAddress::parse(bad));
  }
}

TEST_CASE("IpAddress converts to and from asio addresses without loss") {
  for (const char* text : {"0.0.0.0", "203.0.113.255", "::", "::1", "2001:db8:1:2:3:4:5:6", "::ffff:10.1.2.3"}) {
    CAPTURE(text);
    const auto asio_address = boost::asio::ip::make_address(text);
    const IpAddress a = IpAddress::from_asio(asio_address);
    CHECK(a.family == (asio_address.is_v4() ? 4 : 6));
    CHECK(a.to_asio() == asio_address);
    CHECK(a.to_string() == asio_address.to_string());
    CHECK(IpAddress::parse(text) == a);
  }
}

TEST_CASE("unmapped gives the IPv4 address an IPv4-mapped IPv6 one carries, and leaves others alone") {
  const IpAddress mapped = *IpAddress::parse("::ffff:198.51.100.9");
  CHECK(mapped.unmapped() == *IpAddress::parse("198.51.100.9"));
  for (const char* other : {"198.51.100.9", "2001:db8::1", "::198.51.100.9", "::fffe:198.51.100.9", "64:ff9b::c633:6409"}) {
    CAPTURE(other);
    const IpAddress a = *IpAddress::parse(other);
    CHECK_FALSE(a.is_ipv4_mapped());
    CHECK(a.unmapped() == a);
  }
  // The asio form, for the forwarders' peers.
  CHECK(meridian::util::unmapped(boost::asio::ip::make_address("::ffff:10.0.0.1")).to_string() == "10.0.0.1");
  CHECK(meridian::util::unmapped(boost::asio::ip::make_address("2001:db8::1")).to_string() == "2001:db8::1");
  CHECK(meridian::util::unmapped(boost::asio::ip::make_address("10.0.0.1")).to_string() == "10.0.0.1");
}

TEST_CASE("parse_network reads ADDRESS/PREFIX and contains() matches within the prefix") {
  std::string error;
  const auto v4 = parse_network("198.51.100.0/22", error);
  REQUIRE_MESSAGE(v4, error);
  CHECK(v4->family == 4);
  CHECK(v4->prefix_len == 22);
  CHECK(bytes_of(*v4) == pton(AF_INET, "198.51.100.0"));
  CHECK(v4->contains(IpAddress::parse("198.51.103.255")->bytes()));
  CHECK_FALSE(v4->contains(IpAddress::parse("198.51.104.0")->bytes()));

  const auto v6 = parse_network("2001:db8:ff00::/40", error);
  REQUIRE_MESSAGE(v6, error);
  CHECK(v6->family == 6);
  CHECK(v6->prefix_len == 40);
  CHECK(v6->contains(IpAddress::parse("2001:db8:ff12::1")->bytes()));
  CHECK_FALSE(v6->contains(IpAddress::parse("2001:db8:fe00::1")->bytes()));

  const auto all = parse_network("0.0.0.0/0", error);
  REQUIRE(all);
  CHECK(all->contains(IpAddress::parse("255.255.255.255")->bytes()));
  const auto host = parse_network("::1/128", error);
  REQUIRE(host);
  CHECK(host->contains(IpAddress::parse("::1")->bytes()));
  CHECK_FALSE(host->contains(IpAddress::parse("::2")->bytes()));
}

TEST_CASE("parse_network explains what is wrong, quoting what the operator wrote") {
  std::string error;
  CHECK_FALSE(parse_network("10.0.0.0/33", error));
  CHECK(error == "\"10.0.0.0/33\": an IPv4 prefix is at most 32");
  CHECK_FALSE(parse_network("2001:db8::/129", error));
  CHECK(error == "\"2001:db8::/129\": an IPv6 prefix is at most 128");
  CHECK_FALSE(parse_network("10.0.0.1/24", error));
  CHECK(error == "\"10.0.0.1/24\": address bits are set beyond the prefix length");
  for (const char* bad : {"10.0.0.0", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8x", "10.0.0.0/-1", "nonsense/8", "/8"}) {
    CAPTURE(bad);
    error.clear();
    CHECK_FALSE(parse_network(bad, error));
    CHECK(error == "\"" + std::string(bad) + "\" is not a valid network");
  }
  // A caller with its own syntax around the network (a "net:" key) has the whole text quoted.
  CHECK_FALSE(parse_network("10.0.0.0/40", error, "net:10.0.0.0/40"));
  CHECK(error == "\"net:10.0.0.0/40\": an IPv4 prefix is at most 32");
}

TEST_CASE("net: client keys report parse_network's problems about the whole key, as before") {
  std::string error;
  CHECK_FALSE(meridian::routing::parse_client_key("net:10.0.0.0/33", error));
  CHECK(error == "\"net:10.0.0.0/33\": an IPv4 prefix is at most 32");
  CHECK_FALSE(meridian::routing::parse_client_key("net:2001:db8::1/64", error));
  CHECK(error == "\"net:2001:db8::1/64\": address bits are set beyond the prefix length");
  CHECK_FALSE(meridian::routing::parse_client_key("net:10.0.0.0/8/8", error));
  CHECK(error == "\"net:10.0.0.0/8/8\" is not a valid network");
  CHECK_FALSE(meridian::routing::parse_client_key("net:10.0.0.0", error));
  CHECK(error == "\"net:10.0.0.0\": a net key is net:ADDRESS/PREFIX");
  const auto key = meridian::routing::parse_client_key("net:2001:db8::/32", error);
  REQUIRE(key);
  CHECK(key->kind == meridian::routing::ClientKey::by_net);
  CHECK(key->prefix_len == 32);
  CHECK(key->text == "net:2001:db8::/32");
  CHECK(key->contains(IpAddress::parse("2001:db8:ffff::1")->bytes()));
}
