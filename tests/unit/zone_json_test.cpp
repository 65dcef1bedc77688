// JSON zone loading: a good zone's model, every error with its line:column, and
// rdata of many types through ldns and back.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "unit/support/dns_wire.hpp"
#include "unit/support/zone_fixture.hpp"
#include "zone/rdata_codec.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

std::string n(const char* text) { return wire_name(text); }

const zone::NodeHead& node(const zone::Zone& z, const char* name) {
  const zone::NodeHead* nd = z.find(n(name));
  REQUIRE_MESSAGE(nd != nullptr, "no node " << name);
  return *nd;
}

std::vector<std::string> texts(const zone::RRsetView& rrset) {
  std::vector<std::string> out;
  for (const auto rd : rrset.rdata) out.push_back(zone::rdata_to_text(rrset.type, rd.wire));
  return out;
}

}  // namespace

TEST_SUITE("zone.json") {
  TEST_CASE("the template zone used below is valid") {
    const ZoneLoad z = load_zone_text(zone_with({}));
    INFO(z.all());
    CHECK(z.diagnostics.empty());
    CHECK(z.zone != nullptr);
  }

  TEST_CASE("a good zone: names, TTLs, ENTs, delegations, targets") {
    const auto z = good_zone(R"({
  "origin": "Example.COM",
  "ttl": 7200,
  "soa": {"mname": "ns1", "rname": "hostmaster.example.com.", "serial": 2026112701,
          "refresh": "7200", "retry": 900, "expire": 1209600, "minimum": 300},
  "records": {
    "@":        {"NS": ["ns1", "ns2"], "MX": ["10 mail", "20 mail.example.net."]},
    "ns1":      {"A": "192.0.2.1"},
    "ns2.example.com.": {"A": "192.0.2.2", "AAAA": "2001:db8::2"},
    "mail":     {"A": {"ttl": 600, "data": ["192.0.2.25", "192.0.2.26", "192.0.2.25"]}},
    "WWW":      {"CNAME": "@"},
    "a.b.c":    {"TXT": "\"deep\""},
    "*.dev":    {"A": "192.0.2.80"},
    "lab":      {"NS": ["ns.lab", "ns1"], "DS": "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"},
    "ns.lab":   {"A": "192.0.2.99"},
    "_sip._udp": {"SRV": "10 60 5060 ns1"},
    "app":      {"service": "web"}
  }
})");
    CHECK(z->origin() == n("example.com."));  // folded, made absolute
    CHECK(z->origin_labels() == 2);
    CHECK(z->source() == "test.json");
    CHECK(z->serial() == 2026112701u);
    CHECK(z->soa().ttl == 7200);                 // the zone default
    CHECK(z->negative_ttl() == 300);             // min(7200, 300)
    CHECK(texts(z->soa()) == std::vector<std::string>{"ns1.example.com. hostmaster.example.com. 2026112701 7200 900 1209600 300"});

    const auto& apex = z->apex();
    CHECK(apex.name() == z->origin());
    CHECK_FALSE(apex.is_delegation());
    // RRsets sorted by type
    REQUIRE(apex.entry_count == 3);
    CHECK(apex.entries()[0].type == dns::type::NS);
    CHECK(apex.entries()[1].type == dns::type::SOA);
    CHECK(apex.entries()[2].type == dns::type::MX);
    CHECK(texts(apex.find_rrset(dns::type::NS)) == std::vector<std::string>{"ns1.example.com.", "ns2.example.com."});
    CHECK(texts(apex.find_rrset(dns::type::MX)) ==
          std::vector<std::string>{"10 mail.example.com.", "20 mail.example.net."});

    // per-RRset TTL, default TTL, duplicates dropped
    const auto& mail = node(*z, "mail.example.com.");
    CHECK(mail.find(dns::type::A)->ttl == 600);
    CHECK(texts(mail.find_rrset(dns::type::A)) == std::vector<std::string>{"192.0.2.25", "192.0.2.26"});
    CHECK(node(*z, "ns1.example.com.").find(dns::type::A)->ttl == 7200);

    // absolute, relative and upper-case owner names
    CHECK(node(*z, "ns2.example.com.").find(dns::type::AAAA) != nullptr);
    CHECK(texts(node(*z, "www.example.com.").find_rrset(dns::type::CNAME)) == std::vector<std::string>{"example.com."});

    // empty non-terminals
    CHECK(node(*z, "a.b.c.example.com.").find(dns::type::TXT) != nullptr);
    CHECK(node(*z, "b.c.example.com.").empty());
    CHECK(node(*z, "c.example.com.").empty());
    CHECK(node(*z, "dev.example.com.").empty());
    CHECK(node(*z, "_udp.example.com.").empty());
    CHECK(node(*z, "*.dev.example.com.").find(dns::type::A) != nullptr);
    CHECK(z->find(n("x.dev.example.com.")) == nullptr);
    CHECK(z->node_count() == 15);

    // delegation and glue
    const auto& lab = node(*z, "lab.example.com.");
    CHECK(lab.is_delegation());
    CHECK(lab.find(dns::type::DS) != nullptr);
    CHECK_FALSE(node(*z, "ns.lab.example.com.").is_delegation());

    // additional-section targets resolved to in-zone nodes
    const auto lab_ns = lab.find_rrset(dns::type::NS);
    REQUIRE(lab_ns.rdata.size() == 2);
    CHECK(lab_ns.rdata[0].target_head == &node(*z, "ns.lab.example.com."));
    CHECK(lab_ns.rdata[1].target_head == &node(*z, "ns1.example.com."));
    const auto mx = apex.find_rrset(dns::type::MX);
    CHECK(mx.rdata[0].target_head == &mail);
    CHECK(mx.rdata[1].target_head == nullptr);  // out of zone
    CHECK(mx.rdata[0].target() == n("mail.example.com."));
    const auto srv = node(*z, "_sip._udp.example.com.").find_rrset(dns::type::SRV);
    CHECK(srv.rdata[0].has_target);
    CHECK(srv.rdata[0].target_head == &node(*z, "ns1.example.com."));
    CHECK(srv.rdata[0].compressible_count == 0);  // RFC 3597: SRV names are not compressed
    CHECK(mx.rdata[0].compressible_count == 1);
    CHECK(z->soa().rdata[0].compressible_count == 2);

    // dynamic names
    CHECK(z->service_name(node(*z, "app.example.com.")) == "web");
    CHECK(node(*z, "app.example.com.").entry_count == 0);
  }

  TEST_CASE("negative TTL is min(SOA TTL, SOA MINIMUM)") {
    auto soa_zone = [](const char* soa_ttl, const char* minimum) {
      return std::string(R"({"origin": "example.com.", "ttl": 3600,
        "soa": {"mname": "ns1", "rname": "h", "serial": 1, "refresh": 2, "retry": 3, "expire": 4, "minimum": )") +
             minimum + (soa_ttl[0] ? std::string(", \"ttl\": ") + soa_ttl : std::string()) +
             R"(}, "records": {"@": {"NS": "ns1"}}})";
    };
    CHECK(good_zone(soa_zone("", "300"))->negative_ttl() == 300);
    CHECK(good_zone(soa_zone("", "86400"))->negative_ttl() == 3600);
    CHECK(good_zone(soa_zone("100", "300"))->negative_ttl() == 100);
    const auto z = good_zone(soa_zone("100", "300"));
    CHECK(z->soa().ttl == 100);
    CHECK(good_zone(soa_zone("0", "300"))->negative_ttl() == 0);
  }

  TEST_CASE("the SOA may be given as a record at the apex") {
    const auto z = good_zone(R"({"origin": "example.com.",
      "records": {"@": {"SOA": {"ttl": 120, "data": "ns1 hostmaster 7 1 2 3 60"}, "NS": "ns1"}}})");
    CHECK(z->serial() == 7);
    CHECK(z->negative_ttl() == 60);
    CHECK(z->soa().ttl == 120);
    CHECK(z->find(n("ns1.example.com.")) == nullptr);
  }

  TEST_CASE("relative, absolute and @ names are the same node") {
    const auto z = good_zone(zone_with({R"(    "www": {"A": "192.0.2.1"})",
                                        R"(    "WWW.example.com.": {"A": "192.0.2.2"})"}));
    std::vector<std::string> a = texts(node(*z, "www.example.com.").find_rrset(dns::type::A));
    std::sort(a.begin(), a.end());
    CHECK(a == std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
  }

  TEST_CASE("the shipped example zone loads") {
    config::Diagnostics d;
    const auto z = zone::load_json_zone_file(std::string(MERIDIAN_SOURCE_DIR) + "/zones/example.com.json", d);
    INFO(d.to_string());
    CHECK(d.empty());
    CHECK(z != nullptr);
  }

  TEST_CASE("a missing file is reported, not thrown") {
    config::Diagnostics d;
    CHECK(zone::load_json_zone_file("/nonexistent/zone.json", d) == nullptr);
    REQUIRE(d.size() == 1);
    CHECK(d.items()[0].file == "/nonexistent/zone.json");
    CHECK(d.items()[0].message == "cannot open file");
  }

  TEST_CASE("errors with their line:column") {
    auto first_error = [](const std::vector<std::string>& lines) {
      const ZoneLoad z = load_zone_text(zone_with(lines));
      CHECK(z.zone == nullptr);
      CHECK(z.diagnostics.items().front().file == "test.json");
      return z.first();
    };
    SUBCASE("bad A rdata") {
      const std::string e = first_error({R"(    "www": {"A": "192.0.2.300"})"});
      CHECK(e.rfind("7:18: bad A data \"192.0.2.300\"", 0) == 0);
    }
    SUBCASE("bad rdata inside an array") {
      CHECK(first_error({R"(    "www": {"A": ["192.0.2.1", "300.1.1.1"]})"}).rfind("7:32: bad A data", 0) == 0);
    }
    SUBCASE("bad rdata in a {ttl, data} object") {
      CHECK(first_error({R"(    "www": {"A": {"ttl": 60, "data": "x"}})"}).rfind("7:38: bad A data \"x\"", 0) == 0);
    }
    SUBCASE("bad MX rdata on a later line") {
      CHECK(first_error({R"(    "www": {"A": "192.0.2.1"})", R"(    "mx": {"MX": "mail"})"})
                .rfind("8:18: bad MX data \"mail\"", 0) == 0);
    }
    SUBCASE("unknown type") {
      CHECK(first_error({R"(    "www": {"BOGUS": "x"})"}) == "7:13: unknown record type \"BOGUS\"");
    }
    SUBCASE("types that cannot be stored") {
      CHECK(first_error({R"(    "www": {"OPT": "x"})"}) == "7:13: record type OPT cannot be stored in a zone");
      CHECK(first_error({R"(    "www": {"RRSIG": "x"})"}) == "7:13: record type RRSIG cannot be stored in a zone");
    }
    SUBCASE("SOA below the apex") {
      CHECK(first_error({R"(    "www": {"SOA": "ns1 h 1 2 3 4 5"})"}) == "7:13: SOA is only allowed at the apex");
    }
    SUBCASE("unknown key in a {ttl, data} object") {
      CHECK(first_error({R"(    "www": {"A": {"data": "192.0.2.1", "tll": 5}})"}) ==
            "7:40: unknown key \"tll\" (expected one of: ttl, data)");
    }
    SUBCASE("{ttl} without data") {
      CHECK(first_error({R"(    "www": {"A": {"ttl": 5}})"}) == "7:18: missing \"data\"");
    }
    SUBCASE("record data of the wrong JSON type") {
      CHECK(first_error({R"(    "www": {"A": 5})"}) == "7:18: record data must be a string or a non-empty array of strings");
      CHECK(first_error({R"(    "www": {"A": []})"}) == "7:18: record data must be a string or a non-empty array of strings");
      CHECK(first_error({R"(    "www": {"A": ["192.0.2.1", 7]})"}) == "7:32: record data must be a string in presentation format");
      CHECK(first_error({R"(    "www": "192.0.2.1")"}).rfind("7:12: a name maps to an object of record types", 0) == 0);
    }
    SUBCASE("CNAME and other data") {
      CHECK(first_error({R"(    "www": {"CNAME": "app", "A": "192.0.2.1"})"}) ==
            "7:5: a CNAME cannot coexist with other data at the same name (RFC 1034 3.6.2)");
    }
    SUBCASE("two CNAMEs") {
      CHECK(first_error({R"(    "www": {"CNAME": ["a", "b"]})"}) == "7:28: a name can have only one CNAME");
    }
    SUBCASE("two DNAMEs, data below a DNAME") {
      CHECK(first_error({R"(    "old": {"DNAME": ["a.example.", "b.example."]})"}) == "7:37: a name can have only one DNAME");
      CHECK(first_error({R"(    "old": {"DNAME": "new.example.com."})", R"(    "x.old": {"A": "192.0.2.1"})"}) ==
            "8:5: no data may sit below the DNAME at old.example.com. (RFC 6672 2.3)");
      CHECK(first_error({R"(    "old": {"DNAME": "new.example.com."})", R"(    "a.b.old": {"service": "web"})"}) ==
            "8:5: no data may sit below the DNAME at old.example.com. (RFC 6672 2.3)");
    }
    SUBCASE("name outside the zone") {
      CHECK(first_error({R"(    "www.example.org.": {"A": "192.0.2.1"})"}) ==
            "7:5: \"www.example.org.\" is not inside the zone example.com.");
      CHECK(first_error({R"(    "com.": {"A": "192.0.2.1"})"}) == "7:5: \"com.\" is not inside the zone example.com.");
    }
    SUBCASE("invalid owner name") {
      CHECK(first_error({R"(    "a..b": {"A": "192.0.2.1"})"}) == "7:5: \"a..b\" is not a valid domain name");
    }
    SUBCASE("a service below a delegation") {
      CHECK(first_error({R"(    "lab": {"NS": "ns.lab"})", R"(    "app.lab": {"service": "web"})"}) ==
            "8:5: below the delegation at lab.example.com. a service is not allowed");
    }
    SUBCASE("a service at a delegation") {
      CHECK(first_error({R"(    "lab": {"NS": "ns.lab", "service": "web"})"}) ==
            "7:5: a delegation point cannot have a service");
    }
    SUBCASE("a CNAME beside other data at or below a delegation (Knot and BIND refuse it too)") {
      CHECK(first_error({R"(    "lab": {"NS": "ns.lab", "CNAME": "www"})"}) ==
            "7:5: a CNAME cannot coexist with other data at the same name (RFC 1034 3.6.2)");
      CHECK(first_error({R"(    "lab": {"NS": "ns.lab"})", R"(    "x.lab": {"CNAME": "www", "A": "192.0.2.1"})"}) ==
            "8:5: a CNAME cannot coexist with other data at the same name (RFC 1034 3.6.2)");
    }
    SUBCASE("bad per-RRset TTL") {
      CHECK(first_error({R"(    "www": {"A": {"ttl": "1h", "data": "192.0.2.1"}})"}) ==
            "7:26: a TTL must be an integer from 0 to 2147483647");
      CHECK(first_error({R"(    "www": {"A": {"ttl": 2147483648, "data": "192.0.2.1"}})"}) ==
            "7:26: a TTL must be an integer from 0 to 2147483647");
      CHECK(first_error({R"(    "www": {"A": {"ttl": -1, "data": "192.0.2.1"}})"}) ==
            "7:26: a TTL must be an integer from 0 to 2147483647");
      CHECK(first_error({R"(    "www": {"A": {"ttl": 1.5, "data": "192.0.2.1"}})"}) ==
            "7:26: a TTL must be an integer from 0 to 2147483647");
    }
    SUBCASE("service and a static A") {
      CHECK(first_error({R"(    "app": {"service": "web", "A": "192.0.2.1"})"}) ==
            "7:5: a name with a \"service\" gets its A/AAAA from the service; remove the static A/AAAA");
    }
    SUBCASE("service and a CNAME") {
      CHECK(first_error({R"(    "app": {"service": "web", "CNAME": "www"})"}) ==
            "7:5: a CNAME cannot coexist with other data at the same name (RFC 1034 3.6.2)");
    }
    SUBCASE("empty service name") {
      CHECK(first_error({R"(    "app": {"service": ""})"}) == "7:24: \"service\" names a service defined in meridian.json");
    }
  }

  TEST_CASE("errors in the top-level keys") {
    auto first = [](const std::string& text) {
      const ZoneLoad z = load_zone_text(text);
      CHECK(z.zone == nullptr);
      return z.first();
    };
    const std::string soa =
        R"({"mname": "ns1", "rname": "h", "serial": 1, "refresh": 2, "retry": 3, "expire": 4, "minimum": 5})";
    SUBCASE("unknown key") {
      CHECK(first("{\n  \"origin\": \"example.com.\",\n  \"colour\": \"blue\",\n  \"soa\": " + soa +
                  ",\n  \"records\": {\"@\": {\"NS\": \"ns1\"}}\n}") ==
            "3:3: unknown key \"colour\" (expected one of: origin, ttl, soa, records, transfer, dnssec)");
    }
    SUBCASE("bad zone TTL") {
      CHECK(first("{\n  \"origin\": \"example.com.\",\n  \"ttl\": -1,\n  \"soa\": " + soa +
                  ",\n  \"records\": {\"@\": {\"NS\": \"ns1\"}}\n}") ==
            "3:10: a TTL must be an integer from 0 to 2147483647");
    }
    SUBCASE("SOA missing") {
      CHECK(first("{\n  \"origin\": \"example.com.\",\n  \"records\": {\"@\": {\"NS\": \"ns1\"}}\n}") ==
            "1:1: the zone needs exactly one SOA record at its apex");
    }
    SUBCASE("SOA missing a field") {
      CHECK(first("{\n  \"origin\": \"example.com.\",\n  \"soa\": {\"mname\": \"ns1\", \"rname\": \"h\"},\n"
                  "  \"records\": {\"@\": {\"NS\": \"ns1\"}}\n}") == "3:10: \"soa\" is missing \"serial\"");
    }
    SUBCASE("SOA field of the wrong type") {
      CHECK(first("{\n  \"origin\": \"example.com.\",\n  \"soa\": {\"mname\": \"ns1\", \"rname\": \"h\", \"serial\": -1, "
                  "\"refresh\": 2, \"retry\": 3, \"expire\": 4, \"minimum\": 5},\n"
                  "  \"records\": {\"@\": {\"NS\": \"ns1\"}}\n}") ==
            "3:51: \"serial\" must be a string or a non-negative number");
    }
    SUBCASE("unknown SOA field") {
      CHECK(first("{\"origin\": \"example.com.\",\n \"soa\": {\"mname\": \"ns1\", \"rname\": \"h\", \"serial\": 1, "
                  "\"refresh\": 2, \"retry\": 3, \"expire\": 4, \"minimum\": 5, \"minimun\": 5},\n"
                  " \"records\": {\"@\": {\"NS\": \"ns1\"}}}") ==
            "2:106: unknown key \"minimun\" (expected one of: mname, rname, serial, refresh, retry, expire, minimum, "
            "ttl)");
    }
    SUBCASE("SOA given twice") {
      CHECK(first("{\"origin\": \"example.com.\", \"soa\": " + soa +
                  ",\n \"records\": {\"@\": {\"NS\": \"ns1\", \"SOA\": \"ns1 h 1 2 3 4 5\"}}}") ==
            "2:33: the SOA is given twice (in \"soa\" and in records)");
    }
    SUBCASE("apex NS missing") {
      CHECK(first("{\n  \"origin\": \"example.com.\",\n  \"soa\": " + soa +
                  ",\n  \"records\": {\"www\": {\"A\": \"192.0.2.1\"}}\n}") ==
            "1:1: the zone needs NS records at its apex");
    }
    SUBCASE("origin missing or invalid") {
      CHECK(first("{\"records\": {}}") ==
            "1:1: \"origin\" must be a domain name string such as \"example.com.\"");
      CHECK(first("{\n  \"origin\": \"a..b\"\n}") == "2:13: \"origin\" is not a valid domain name");
    }
    SUBCASE("records not an object") {
      CHECK(first("{\"origin\": \"example.com.\", \"soa\": " + soa + ",\n \"records\": [1]}") ==
            "2:13: \"records\" must be an object of names");
    }
    SUBCASE("not an object at all") { CHECK(first("[1, 2]") == "1:1: a zone file must hold a JSON object"); }
  }

  TEST_CASE("every error is reported, not only the first") {
    const ZoneLoad z = load_zone_text(zone_with({R"(    "a": {"A": "bad"})", R"(    "b": {"BOGUS": "x"})",
                                                 R"(    "c": {"A": {"ttl": -5, "data": "192.0.2.1"}})"}));
    CHECK(z.zone == nullptr);
    REQUIRE(z.diagnostics.size() == 3);
    CHECK(z.diagnostics.items()[0].line == 7);
    CHECK(z.diagnostics.items()[1].line == 8);
    CHECK(z.diagnostics.items()[2].line == 9);
    CHECK(z.diagnostics.items()[2].column == 24);
    CHECK(z.diagnostics.items()[1].to_string() == "test.json:8:11: unknown record type \"BOGUS\"");
  }
}

TEST_SUITE("zone.rdata") {
  TEST_CASE("a TXT character-string over 255 bytes is an error that says how to split it") {
    const std::string origin = n("example.com."), owner = n("www.example.com.");
    for (const std::string& text : {std::string(256, 'x'), "\"" + std::string(300, 'y') + "\"",
                                   "\"short\" \"" + std::string(200, 'z') + "\\\"" + std::string(60, 'z') + "\""}) {
      CAPTURE(text.size());
      const auto p = zone::parse_rdata(dns::type::TXT, text, owner, origin);
      CHECK(p.error.find("at most 255 bytes") != std::string::npos);
      CHECK(p.error.find("several quoted strings") != std::string::npos);
    }
    // 255 bytes, escapes counted as the byte they stand for, and a long value in two strings
    const std::string at_limit = "\"" + std::string(250, 'a') + "\\034\\\"bc\"";
    const auto ok = zone::parse_rdata(dns::type::TXT, at_limit, owner, origin);
    CHECK(ok.error == "");
    CHECK(ok.rdata.wire.size() == 1 + 254);
    const auto split = zone::parse_rdata(dns::type::TXT, "\"" + std::string(255, 'k') + "\" \"" + std::string(100, 'k') + "\"",
                                         owner, origin);
    CHECK(split.error == "");
    CHECK(split.rdata.wire.size() == 1 + 255 + 1 + 100);
  }

  struct RdataCase {
    const char* type;
    const char* input;
    const char* text;  // rdata_to_text of the parsed wire
  };

  TEST_CASE("rdata of many types round-trips through rdata_to_text") {
    const RdataCase cases[] = {
        {"A", "192.0.2.1", "192.0.2.1"},
        {"AAAA", "2001:DB8:0:0::1", "2001:db8::1"},
        {"NS", "ns1", "ns1.example.com."},
        {"CNAME", "@", "example.com."},
        {"MX", "10 mail", "10 mail.example.com."},
        {"MX", "0 .", "0 ."},
        {"TXT", "\"v=spf1 -all\"", "\"v=spf1 -all\""},
        {"TXT", "\"hello world\" \"say \\\"hi\\\"\" plain", "\"hello world\" \"say \\\"hi\\\"\" \"plain\""},
        {"TXT", "\"semi;colon\" \"back\\\\slash\"", "\"semi;colon\" \"back\\\\slash\""},
        {"SRV", "10 60 5060 sip", "10 60 5060 sip.example.com."},
        {"CAA", "0 issue \"letsencrypt.org\"", "0 issue \"letsencrypt.org\""},
        {"CAA", "128 iodef \"mailto:security@example.com\"", "128 iodef \"mailto:security@example.com\""},
        {"NAPTR", "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com.",
         "100 10 \"S\" \"SIP+D2U\" \"\" _sip._udp.example.com."},
        {"NAPTR", "100 50 \"a\" \"z3950+N2L+N2C\" \"!^urn:cid:.+@([^\\\\.]+\\\\.)(.*)$!\\\\2!i\" .",
         "100 50 \"a\" \"z3950+N2L+N2C\" \"!^urn:cid:.+@([^\\\\.]+\\\\.)(.*)$!\\\\2!i\" ."},
        {"SSHFP", "2 1 123456789ABCDEF67890123456789ABCDEF67890", "2 1 123456789abcdef67890123456789abcdef67890"},
        {"TLSA", "3 1 1 0C72AC70B745AC19998811B131D662C9AC69DBDBE7CB23E5B514B56664C5D3D6",
         "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"},
        {"DS", "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
         "60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118"},
        {"HINFO", "\"PC\" \"Linux 6\"", "\"PC\" \"Linux 6\""},
        {"PTR", "host", "host.example.com."},
        {"PTR", "host.example.net.", "host.example.net."},
        {"SOA", "ns1 hostmaster 1 2 3 4 5", "ns1.example.com. hostmaster.example.com. 1 2 3 4 5"},
        {"TYPE65534", "\\# 4 0a000001", "\\# 4 0a000001"},
    };
    const std::string origin = n("example.com.");
    const std::string owner = n("www.example.com.");
    for (const auto& c : cases) {
      const std::string type_name = c.type, input = c.input;
      CAPTURE(type_name);
      CAPTURE(input);
      const auto type = zone::rr_type_from_name(c.type);
      REQUIRE(type.has_value());
      const zone::ParsedRdata p = zone::parse_rdata(*type, c.input, owner, origin);
      REQUIRE(p.error == "");
      const std::string text = zone::rdata_to_text(*type, p.rdata.wire);
      CHECK(text == c.text);
      // and the printed text parses back to the same wire
      const zone::ParsedRdata again = zone::parse_rdata(*type, text, owner, origin);
      REQUIRE(again.error == "");
      CHECK(hex(again.rdata.wire) == hex(p.rdata.wire));
    }
  }

  TEST_CASE("rdata wire bytes for a few types") {
    const std::string origin = n("example.com."), owner = n("example.com.");
    auto wire = [&](uint16_t type, const char* text) {
      const auto p = zone::parse_rdata(type, text, owner, origin);
      REQUIRE(p.error == "");
      return hex(p.rdata.wire);
    };
    CHECK(wire(dns::type::A, "192.0.2.1") == "c0 00 02 01");
    CHECK(wire(dns::type::MX, "10 mx") == "00 0a 02 6d 78 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00");
    CHECK(wire(dns::type::TXT, "\"a b\" c") == "03 61 20 62 01 63");
    CHECK(wire(65534, "\\# 3 abcdef") == "ab cd ef");
    // generic syntax for a known type gives that type's wire form
    CHECK(wire(dns::type::A, "\\# 4 c0000201") == "c0 00 02 01");
  }

  TEST_CASE("type names") {
    CHECK(zone::rr_type_from_name("A") == dns::type::A);
    CHECK(zone::rr_type_from_name("mx") == dns::type::MX);
    CHECK(zone::rr_type_from_name("TYPE65534") == 65534);
    CHECK(zone::rr_type_from_name("CAA") == 257);
    CHECK_FALSE(zone::rr_type_from_name("BOGUS").has_value());
    CHECK_FALSE(zone::rr_type_from_name("").has_value());
    CHECK(zone::rr_type_name(dns::type::AAAA) == "AAAA");
    CHECK(zone::rr_type_name(65534) == "TYPE65534");
  }

  TEST_CASE("bad rdata is an error, never a crash") {
    const std::string origin = n("example.com."), owner = n("www.example.com.");
    const struct {
      uint16_t type;
      const char* text;
    } bad[] = {{dns::type::A, "192.0.2.256"}, {dns::type::A, ""},           {dns::type::A, "192.0.2.1 extra"},
               {dns::type::AAAA, "1::2::3"},  {dns::type::MX, "mail"},      {dns::type::MX, "10"},
               {dns::type::SRV, "1 2 mail"},  {dns::type::DS, "1 2 3 XYZ"}, {65534, "\\# 4 00"},
               {dns::type::SOA, "ns1 h 1 2"}};
    for (const auto& b : bad) {
      const std::string text = b.text;
      CAPTURE(text);
      const auto p = zone::parse_rdata(b.type, b.text, owner, origin);
      CHECK(p.error != "");
    }
  }
}

TEST_SUITE("zone.rdata") {
  // ldns converts rdata integers with strtol/strtoul and casts without a range
  // check, so an out-of-range field loads as a different, wrapped value with no
  // diagnostic: MX 65536 -> 0, MX -1 -> 65535, SRV port 70000 -> 4464, SOA serial
  // 4294967296 -> 0, CAA flags 256 -> 0.
  TEST_CASE("out-of-range integers in rdata are errors") {
    const std::string origin = n("example.com."), owner = n("www.example.com.");
    const struct {
      uint16_t type;
      const char* text;
    } bad[] = {{dns::type::MX, "65536 mail"},
               {dns::type::MX, "-1 mail"},
               {dns::type::SRV, "1 2 70000 sip"},
               {dns::type::SOA, "ns1 h 4294967296 1 2 3 4"},
               {257 /*CAA*/, "256 issue \"ca.example.net\""},
               {dns::type::DS, "70000 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"}};
    for (const auto& b : bad) {
      const std::string text = b.text;
      CAPTURE(text);
      const auto p = zone::parse_rdata(b.type, b.text, owner, origin);
      CHECK_MESSAGE(p.error != "", "loaded as: " << zone::rdata_to_text(b.type, p.rdata.wire));
    }
    // the same through the zone file's "soa" object, where numbers are passed on as text
    const ZoneLoad z = load_zone_text(R"({"origin": "example.com.", "soa": {"mname": "ns1", "rname": "h",
      "serial": 4294967296, "refresh": 2, "retry": 3, "expire": 4, "minimum": 5}, "records": {"@": {"NS": "ns1"}}})");
    CHECK_MESSAGE(z.zone == nullptr, "loaded with serial " << (z.zone ? z.zone->serial() : 0));
  }

  // RFC 3597 section 5: empty rdata of an unknown type is written "\# 0". The
  // printed text is "", which is not presentation format a master file or the
  // JSON zone loader can read back for every type.
  TEST_CASE("empty rdata prints in the generic syntax") {
    const std::string origin = n("example.com."), owner = n("www.example.com.");
    const auto p = zone::parse_rdata(65534, "\\# 0", owner, origin);
    REQUIRE(p.error == "");
    CHECK(p.rdata.wire.empty());
    CHECK(zone::rdata_to_text(65534, p.rdata.wire) == "\\# 0");
  }
}

TEST_SUITE("zone.zoneset") {
  TEST_CASE("longest-match zone lookup") {
    auto zone_for = [](const char* origin) {
      return good_zone(std::string(R"({"origin": ")") + origin +
                       R"(", "soa": {"mname": "ns1", "rname": "h", "serial": 1, "refresh": 2, "retry": 3,
                       "expire": 4, "minimum": 5}, "records": {"@": {"NS": "ns1"}}})");
    };
    zone::ZoneSet set;
    CHECK(set.add(zone_for("example.com.")));
    CHECK(set.add(zone_for("sub.example.com.")));
    CHECK(set.add(zone_for("org.")));
    CHECK_FALSE(set.add(zone_for("EXAMPLE.com.")));
    CHECK(set.size() == 3);
    auto find = [&](const char* name) -> std::string {
      dns::NameBuffer nb;
      const std::string w = n(name);
      std::size_t pos = 0;
      REQUIRE(dns::read_name(reinterpret_cast<const uint8_t*>(w.data()), w.size(), pos, nb, true) ==
              dns::NameStatus::ok);
      const zone::Zone* z = set.find_zone(nb.view(), nb.label_offsets, nb.labels);
      return z ? dns::name_to_text(z->origin()) : "none";
    };
    CHECK(find("example.com.") == "example.com.");
    CHECK(find("www.example.com.") == "example.com.");
    CHECK(find("sub.example.com.") == "sub.example.com.");
    CHECK(find("a.b.sub.example.com.") == "sub.example.com.");
    CHECK(find("xsub.example.com.") == "example.com.");
    CHECK(find("example.org.") == "org.");
    CHECK(find("org.") == "org.");
    CHECK(find("com.") == "none");
    CHECK(find("example.net.") == "none");
    CHECK(find(".") == "none");
    CHECK(set.find_exact(n("sub.example.com.")) != nullptr);
    CHECK(set.find_exact(n("www.example.com.")) == nullptr);
  }

  TEST_CASE("a root zone matches every name") {
    zone::ZoneSet set;
    CHECK(set.add(good_zone(R"({"origin": ".", "soa": {"mname": "a.root-servers.net.", "rname": "nstld.verisign-grs.com.",
      "serial": 1, "refresh": 2, "retry": 3, "expire": 4, "minimum": 5}, "records": {"@": {"NS": "a.root-servers.net."}}})")));
    dns::NameBuffer nb;
    const std::string w = n("www.example.com.");
    std::size_t pos = 0;
    REQUIRE(dns::read_name(reinterpret_cast<const uint8_t*>(w.data()), w.size(), pos, nb, true) == dns::NameStatus::ok);
    const zone::Zone* z = set.find_zone(nb.view(), nb.label_offsets, nb.labels);
    REQUIRE(z != nullptr);
    CHECK(z->origin() == std::string(1, '\0'));
  }
}

TEST_SUITE("zone.json.error_cap") {
  // A broken generator can produce a zone of errors; each is located by a scan of
  // the text, so the report stops at 100 with one line saying there are more.
  std::vector<std::string> bad_addresses(int count) {
    std::vector<std::string> lines;
    for (int i = 0; i < count; ++i) lines.push_back("    \"h" + std::to_string(i) + "\": {\"A\": \"not-an-address\"}");
    return lines;
  }

  TEST_CASE("past 100 errors one line says more follow") {
    const ZoneLoad z = load_zone_text(zone_with(bad_addresses(300)));
    CHECK(z.zone == nullptr);
    REQUIRE(z.diagnostics.size() == 101);
    for (std::size_t i = 0; i < 100; ++i) CHECK(z.diagnostics.items()[i].message.find("not-an-address") != std::string::npos);
    CHECK(z.diagnostics.items()[100].message == "more errors follow; the first 100 are listed above");
  }

  TEST_CASE("100 errors are all listed") {
    const ZoneLoad z = load_zone_text(zone_with(bad_addresses(100)));
    CHECK(z.zone == nullptr);
    CHECK(z.diagnostics.size() == 100);
  }
}
