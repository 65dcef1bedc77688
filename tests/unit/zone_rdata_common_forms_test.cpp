// parse_rdata reads the commonest forms (A, AAAA, plain names, MX) itself; every
// result must be what ldns alone gives, byte for byte, and every error must be
// ldns's (the direct readers give up on anything they do not fully accept).
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "zone/rdata_codec.hpp"

using namespace meridian;

namespace {

std::string wire(const char* text) { return *dns::name_from_text(text); }

void check_same_as_ldns(uint16_t type, const std::string& text, const std::string& origin) {
  const std::string owner = wire("www.example.com.");
  const zone::ParsedRdata direct = zone::parse_rdata(type, text, owner, origin);
  const zone::ParsedRdata reference = zone::parse_rdata_with_ldns(type, text, owner, origin);
  INFO("type ", type, " text \"", text, "\"");
  CHECK(direct.error == reference.error);
  CHECK(direct.rdata.wire == reference.rdata.wire);
  CHECK(direct.rdata.compressible_count == reference.rdata.compressible_count);
  CHECK(direct.rdata.compressible_at[0] == reference.rdata.compressible_at[0]);
  CHECK(direct.rdata.compressible_at[1] == reference.rdata.compressible_at[1]);
  CHECK(direct.rdata.has_target == reference.rdata.has_target);
  CHECK(direct.rdata.target_at == reference.rdata.target_at);
}

}  // namespace

TEST_CASE("common rdata forms: the direct readers give ldns's bytes and errors") {
  const std::string origin = wire("example.com.");
  const std::vector<std::string> addresses4 = {"192.0.2.1", "0.0.0.0", "255.255.255.255", "1.2.3", "256.1.1.1",
                                               "01.2.3.4", " 1.2.3.4", "1.2.3.4 ", "1.2.3.4.5", "::1", "",
                                               "a.b.c.d", "1.2.3.4/24"};
  for (const auto& text : addresses4) check_same_as_ldns(dns::type::A, text, origin);
  const std::vector<std::string> addresses6 = {"::", "::1", "2001:db8::1", "2001:DB8::A", "::ffff:192.0.2.1",
                                               "2001:db8:0:0:0:0:0:1", "1.2.3.4", "gggg::", "2001:db8::1 ",
                                               ":::", "2001:db8::1%eth0", ""};
  for (const auto& text : addresses6) check_same_as_ldns(dns::type::AAAA, text, origin);

  const std::string label63(63, 'a'), label64(64, 'b');
  std::string long_relative;  // 250 bytes of labels: too long once the origin is appended
  while (long_relative.size() < 240) long_relative += "abcdefghi.";
  long_relative += "x";
  const std::vector<std::string> names = {"ns1", "ns1.example.net.", "@", "*.wild", "a_b", "UPPER.Case.",
                                          "a..b", ".", "x.", "-", "1", label63, label64, label63 + ".",
                                          long_relative, "a\\.b", "\"quoted\"", "a b", "ns1.example.com"};
  for (const uint16_t type : {dns::type::NS, dns::type::CNAME, dns::type::PTR})
    for (const auto& text : names) check_same_as_ldns(type, text, origin);

  const std::vector<std::string> exchanges = {"10 mail", "0 .", "65535 mx.example.net.", "65536 mx", "010 mail",
                                              "10\tmail", "10   mail", "-1 mail", "+5 mail", "10", "mail 10",
                                              "10 mail extra", "10 mail ", "10 @", "99999999999 mx", "10 a..b"};
  for (const auto& text : exchanges) check_same_as_ldns(dns::type::MX, text, origin);
}

TEST_CASE("common rdata forms: random addresses and names read as ldns reads them") {
  const std::string origin = wire("zone.test.");
  std::mt19937 random(20261205);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 300; ++i) {
    const std::string v4 = std::to_string(byte(random)) + "." + std::to_string(byte(random)) + "." +
                           std::to_string(byte(random)) + "." + std::to_string(byte(random));
    check_same_as_ldns(dns::type::A, v4, origin);
    char v6[64];
    std::snprintf(v6, sizeof v6, "2001:db8:%x::%x:%x", byte(random) * 256 + byte(random), byte(random),
                  byte(random) * 256 + byte(random));
    check_same_as_ldns(dns::type::AAAA, v6, origin);
    static constexpr char kChars[] = "abcXYZ019-_*.";
    std::string name;
    const int length = 1 + byte(random) % 20;
    for (int c = 0; c < length; ++c) name += kChars[byte(random) % (sizeof kChars - 1)];
    check_same_as_ldns(dns::type::CNAME, name, origin);
    check_same_as_ldns(dns::type::MX, std::to_string(byte(random)) + " " + name, origin);
  }
}
