// Data at and below zone cuts (issue #12): glue at the delegation's own name is
// loaded and served as glue; occluded data loads with one warning per name and
// never reaches an answer, whatever the query (direct, ANY, DS, through a CNAME,
// a wildcard or additional-section processing).
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "dns/constants.hpp"
#include "unit/support/dns_wire.hpp"
#include "unit/support/zone_fixture.hpp"
#include "zone/rdata_codec.hpp"

using namespace meridian;
using namespace meridian::test;
namespace type = dns::type;

namespace {

using Lines = std::vector<std::string>;

// In line order (the loader visits names in the JSON object's key order).
Lines warnings(const ZoneLoad& z) {
  std::vector<config::Diagnostic> sorted = z.diagnostics.warnings();
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.line < b.line; });
  Lines out;
  for (const auto& d : sorted)
    out.push_back(std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message);
  return out;
}

Lines types_at(const zone::Zone& z, const char* name) {
  const zone::NodeHead* node = z.find(wire_name(name));
  REQUIRE_MESSAGE(node, "no node " << name);
  Lines out;
  for (unsigned i = 0; i < node->entry_count; ++i) out.push_back(zone::rr_type_name(node->entries()[i].type));
  return out;
}

Lines texts(const std::vector<Record>& section) {
  Lines out;
  for (const auto& rr : section)
    out.push_back(rr.owner + " " + rr.type_name() + " " + rr.rdata);
  std::sort(out.begin(), out.end());
  return out;
}

// PowerDNS's ns-with-identical-glue and Knot's basic zone: the NS target is the cut.
const Lines kIdenticalGlue = {
    R"(    "sub": {"NS": "sub", "A": "192.0.2.10", "AAAA": "2001:db8::10"})",
};

const Lines kOccluded = {
    R"(    "sub": {"NS": "ns.sub", "DS": "12345 13 2 e2d3c916f6deeac73294e8268fb5885044a833fc5459588f4a9184cfc41a5766", "TXT": "\"at the cut\"", "MX": "10 ns.sub"})",  // 7
    R"(    "ns.sub": {"A": "192.0.2.20", "TXT": "\"glue beside\""})",   // 8
    R"(    "cname.below.sub": {"CNAME": "www"})",                      // 9
    R"(    "dn.sub": {"DNAME": "example.org."})",                      // 10
    R"(    "x.dn.sub": {"A": "192.0.2.21"})",                          // 11: below a DNAME, but occluded anyway
    R"(    "deep.sub": {"NS": "ns.example.org."})",                    // 12: a cut below a cut
    R"(    "*.sub": {"TXT": "\"wild below\""})",                       // 13
    R"(    "www": {"A": "192.0.2.80"})",                               // 14
    R"(    "mx": {"MX": ["10 ns.sub", "20 cname.below.sub", "30 sub"]})",  // 15
    R"(    "srv": {"SRV": "0 0 80 ns.sub"})",                          // 16
    R"(    "tosub": {"CNAME": "cname.below.sub"})",                    // 17
    R"(    "*": {"TXT": "\"wild above\""})",                           // 18
};

}  // namespace

TEST_SUITE("zone.cuts") {
  TEST_CASE("glue at the delegation's own name loads, silently") {
    ZoneLoad z = load_zone_text(zone_with(kIdenticalGlue));
    INFO(z.all());
    REQUIRE(z.zone);
    CHECK(z.diagnostics.empty());
    CHECK(z.diagnostics.warnings().empty());
    CHECK(types_at(*z.zone, "sub.example.com.") == Lines{"A", "NS", "AAAA"});
    const zone::NodeHead& cut = *z.zone->find(wire_name("sub.example.com."));
    CHECK(cut.is_delegation());
    // the NS names the cut itself: its target is the cut's own head
    const zone::RecordView ns = cut.find_rrset(type::NS).rdata.front();
    REQUIRE(ns.target_head);
    CHECK(ns.target_head == &cut);
  }

  TEST_CASE("occluded data loads with one warning per name and is dropped") {
    ZoneLoad z = load_zone_text(zone_with(kOccluded));
    INFO(z.all());
    REQUIRE(z.zone);
    CHECK(z.diagnostics.empty());
    // one per name, at the name's key; none for the DNAME child below the cut
    CHECK(warnings(z) == Lines{
        "7:5: MX, TXT at the delegation point sub.example.com. is never served (occluded: only NS, DS and glue A/AAAA are)",
        "8:5: TXT at ns.sub.example.com. is below the delegation at sub.example.com. and is never served (occluded)",
        "9:5: CNAME at cname.below.sub.example.com. is below the delegation at sub.example.com. and is never served (occluded)",
        "10:5: DNAME at dn.sub.example.com. is below the delegation at sub.example.com. and is never served (occluded)",
        "12:5: NS at deep.sub.example.com. is below the delegation at sub.example.com. and is never served (occluded)",
        "13:5: TXT at *.sub.example.com. is below the delegation at sub.example.com. and is never served (occluded)",
    });
    for (const auto& d : z.diagnostics.warnings()) CHECK(d.file == "test.json");
    CHECK(types_at(*z.zone, "sub.example.com.") == Lines{"NS", "DS"});
    CHECK(types_at(*z.zone, "ns.sub.example.com.") == Lines{"A"});
    CHECK(types_at(*z.zone, "x.dn.sub.example.com.") == Lines{"A"});  // glue-shaped, kept
    CHECK(types_at(*z.zone, "cname.below.sub.example.com.").empty());
    CHECK(types_at(*z.zone, "deep.sub.example.com.").empty());
    CHECK_FALSE(z.zone->find(wire_name("deep.sub.example.com."))->is_delegation());
    CHECK_FALSE(z.zone->find(wire_name("dn.sub.example.com."))->has_dname());
  }

  TEST_CASE("the warning names the topmost cut when cuts nest") {
    ZoneLoad z = load_zone_text(zone_with({R"(    "b.a": {"NS": "ns.example.org."})", R"(    "a": {"NS": "ns.example.org."})",
                                           R"(    "c.b.a": {"TXT": "\"x\""})"}));
    INFO(z.all());
    REQUIRE(z.zone);
    CHECK(warnings(z) == Lines{
        "7:5: NS at b.a.example.com. is below the delegation at a.example.com. and is never served (occluded)",
        "9:5: TXT at c.b.a.example.com. is below the delegation at a.example.com. and is never served (occluded)",
    });
  }

  TEST_CASE("data below a DNAME that is not below a cut stays an error") {
    ZoneLoad z = load_zone_text(zone_with({R"(    "dn": {"DNAME": "example.org."})", R"(    "x.dn": {"TXT": "\"x\""})"}));
    CHECK(z.zone == nullptr);
    CHECK(z.first() == "8:5: no data may sit below the DNAME at dn.example.com. (RFC 6672 2.3)");
    CHECK(z.diagnostics.warnings().empty());
  }

  TEST_CASE("warnings are capped like errors") {
    Lines lines = {R"(    "sub": {"NS": "ns.example.org."})"};
    for (int i = 0; i < 150; ++i) lines.push_back("    \"t" + std::to_string(i) + ".sub\": {\"TXT\": \"\\\"x\\\"\"}");
    ZoneLoad z = load_zone_text(zone_with(lines));
    REQUIRE(z.zone);
    REQUIRE(z.diagnostics.warnings().size() == 101);
    CHECK(z.diagnostics.warnings().back().message == "more occluded names follow; the first 100 are listed above");
  }
}

TEST_SUITE("responder.cuts") {
  TEST_CASE("identical glue is served in the referral's additional section") {
    Responder r(zone_with(kIdenticalGlue));
    for (const uint16_t qtype : {type::A, type::NS, type::TXT, type::ANY}) {
      for (const char* name : {"sub.example.com.", "x.sub.example.com."}) {
        CAPTURE(name);
        CAPTURE(qtype);
        const Answer a = r.ask(name, qtype);
        REQUIRE(a.msg.ok);
        CHECK_FALSE(a.msg.aa);
        CHECK(a.msg.answer.empty());
        CHECK(texts(a.msg.authority) == Lines{"sub.example.com. NS sub.example.com."});
        CHECK(texts(a.msg.additional) == Lines{"sub.example.com. A 192.0.2.10", "sub.example.com. AAAA 2001:db8::10"});
      }
    }
  }

  TEST_CASE("occluded data never reaches an answer") {
    Responder r(zone_with(kOccluded));
    const Lines referral = {"sub.example.com. NS ns.sub.example.com."};
    const Lines glue = {"ns.sub.example.com. A 192.0.2.20"};
    // every name at or below the cut, every type: a referral, nothing occluded
    for (const char* name : {"sub.example.com.", "ns.sub.example.com.", "cname.below.sub.example.com.",
                             "x.dn.sub.example.com.", "dn.sub.example.com.", "host.deep.sub.example.com.",
                             "nothere.sub.example.com."}) {
      for (const uint16_t qtype : {type::A, type::TXT, type::MX, type::CNAME, type::DNAME, type::NS, type::ANY}) {
        CAPTURE(name);
        CAPTURE(qtype);
        const Answer a = r.ask(name, qtype);
        REQUIRE(a.msg.ok);
        CHECK(a.msg.rcode == dns::rcode::NOERROR);
        CHECK_FALSE(a.msg.aa);
        CHECK(a.msg.answer.empty());
        CHECK(texts(a.msg.authority) == referral);
        CHECK(texts(a.msg.additional) == glue);
      }
    }
    // DS at the cut: the parent's DS, never the occluded TXT/MX
    const Answer ds = r.ask("sub.example.com.", type::DS);
    CHECK(ds.msg.aa);
    REQUIRE(ds.msg.answer.size() == 1);
    CHECK(ds.msg.answer[0].type == type::DS);
    // additional data: glue addresses of in-zone targets below a cut, as Knot
    // does; a target whose data is all occluded adds nothing
    const Answer mx = r.ask("mx.example.com.", type::MX);
    CHECK(mx.msg.aa);
    CHECK(mx.msg.answer.size() == 3);
    CHECK(texts(mx.msg.additional) == glue);
    CHECK(texts(r.ask("srv.example.com.", type::SRV).msg.additional) == glue);
    // a CNAME into the delegated subtree: the CNAME, then the referral (AA kept
    // for the CNAME the zone is authoritative for, as Knot)
    const Answer chain = r.ask("tosub.example.com.", type::A);
    CHECK(chain.msg.aa);
    CHECK(texts(chain.msg.answer) == Lines{"tosub.example.com. CNAME cname.below.sub.example.com."});
    CHECK(texts(chain.msg.authority) == referral);
    CHECK(texts(chain.msg.additional) == glue);
    // the wildcard above the cut does not reach below it
    const Answer wild = r.ask("other.example.com.", type::TXT);
    CHECK(texts(wild.msg.answer) == Lines{"other.example.com. TXT \"wild above\""});
  }
}
