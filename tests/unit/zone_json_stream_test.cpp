// The streaming zone reader (json_zone.cpp reads SAX events, never the whole
// zone as one JSON value): keys in any order, a key given twice, positions after
// escapes and numbers, invalid JSON.
#include <doctest/doctest.h>

#include <string>

#include "dns/constants.hpp"
#include "unit/support/zone_fixture.hpp"
#include "zone/json_zone.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

const char* const kSoa =
    R"({"mname": "ns1", "rname": "h", "serial": 7, "refresh": 2, "retry": 3, "expire": 4, "minimum": 300})";

}  // namespace

TEST_SUITE("zone.json.stream") {
  TEST_CASE("records before the origin, the TTL and the SOA") {
    const auto z = good_zone(std::string("{\"records\": {\"@\": {\"NS\": \"ns1\"}, \"ns1\": {\"A\": \"192.0.2.1\"},\n"
                                         "  \"mail\": {\"MX\": \"10 ns1\"}},\n \"ttl\": 900, \"soa\": ") +
                             kSoa + ", \"origin\": \"example.com.\"}");
    CHECK(z->serial() == 7u);
    const zone::NodeHead* ns1 = z->find_head(wire_name("ns1.example.com."));
    REQUIRE(ns1 != nullptr);
    // The zone TTL came after the records and still applies to them.
    CHECK(ns1->rrset(*ns1->find(dns::type::A)).ttl == 900);
    // "10 ns1" was read relative to the origin given at the end.
    const zone::NodeHead* mail = z->find_head(wire_name("mail.example.com."));
    REQUIRE(mail != nullptr);
    CHECK(mail->rrset(*mail->find(dns::type::MX)).rdata.front().target_head == ns1);
  }

  TEST_CASE("an error among records read before the origin has its position") {
    const ZoneLoad z = load_zone_text(std::string("{\"records\": {\"@\": {\"NS\": \"ns1\"},\n  \"www\": {\"A\": \"300.1.1.1\"}},\n"
                                                  " \"soa\": ") +
                                      kSoa + ", \"origin\": \"example.com.\"}");
    CHECK(z.zone == nullptr);
    CHECK(z.first().rfind("2:16: bad A data", 0) == 0);
  }

  TEST_CASE("the SOA among the records and in \"soa\" after them") {
    const ZoneLoad z = load_zone_text(std::string("{\"origin\": \"example.com.\",\n \"records\": {\"@\": {\"NS\": \"ns1\", "
                                                  "\"SOA\": \"ns1 h 1 2 3 4 5\"}},\n \"soa\": ") +
                                      kSoa + "}");
    CHECK(z.zone == nullptr);
    CHECK(z.first() == "2:33: the SOA is given twice (in \"soa\" and in records)");
  }

  TEST_CASE("a name given twice in records is an error at the second") {
    const ZoneLoad z = load_zone_text(zone_with({R"(    "www": {"A": "192.0.2.1"})", R"(    "www": {"A": "192.0.2.2"})"}));
    CHECK(z.zone == nullptr);
    CHECK(z.first() == "8:5: key \"www\" appears twice in the same object");
    // The same name written two ways is one node, not a repeat.
    CHECK(load_zone_text(zone_with({R"(    "www": {"A": "192.0.2.1"})", R"(    "www.example.com.": {"A": "192.0.2.2"})"}))
              .zone != nullptr);
    // An escape spells the same key.
    CHECK(load_zone_text(zone_with({R"(    "www": {"A": "192.0.2.1"})", R"(    "w\u0077w": {"A": "192.0.2.2"})"})).first() ==
          "8:5: key \"www\" appears twice in the same object");
  }

  TEST_CASE("a type given twice in a name is an error at the second") {
    const ZoneLoad z = load_zone_text(zone_with({R"(    "www": {"A": "192.0.2.1", "A": "192.0.2.2"})"}));
    CHECK(z.zone == nullptr);
    CHECK(z.first() == "7:31: key \"A\" appears twice in the same object");
  }

  TEST_CASE("positions after escaped strings and numbers") {
    // The key and the value that follow an escaped quote and a number are where the text has them.
    CHECK(load_zone_text(zone_with({R"(    "t": {"TXT": "\"a \\\" b\""}, "u": {"A": {"ttl": 5, "data": "x"}})"})).first()
              .rfind("7:65: bad A data \"x\"", 0) == 0);
    CHECK(load_zone_text(zone_with({R"(    "u": {"A": {"ttl": 5 , "tll": 1, "data": "192.0.2.1"}})"})).first() ==
          "7:28: unknown key \"tll\" (expected one of: ttl, data)");
  }

  TEST_CASE("invalid JSON is one error with its position, and no origin") {
    config::Diagnostics d;
    const zone::ZoneFile f = zone::load_json_zone_text("{\"origin\": \"example.com.\",\n  \"records\": {,}}", "bad.json", d);
    CHECK(f.zone == nullptr);
    CHECK(f.origin.empty());
    REQUIRE(d.size() == 1);
    CHECK(d.items()[0].line == 2);
    CHECK(d.items()[0].column == 15);
    CHECK(d.items()[0].message.rfind("invalid JSON: ", 0) == 0);
  }

  TEST_CASE("a bad zone still names its origin") {
    config::Diagnostics d;
    const zone::ZoneFile f = zone::load_json_zone_text(
        std::string("{\"origin\": \"Example.com\", \"soa\": ") + kSoa + ", \"records\": {\"@\": {\"NS\": \"ns1\"}, \"x\": {\"A\": \"bad\"}}}",
        "bad.json", d);
    CHECK(f.zone == nullptr);
    CHECK(f.origin == wire_name("example.com."));
    CHECK(d.size() == 1);
  }
}
