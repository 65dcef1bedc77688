// query::answer_query end to end on zones loaded from JSON: every response is
// decoded by hand (and checked with ldns) and compared with what RFC 1034,
// 2308, 4592, 6891, 7871 and 8482 ask for.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "unit/support/dns_wire.hpp"
#include "unit/support/zone_fixture.hpp"

using namespace meridian;
using namespace meridian::test;
using query::Transport;
namespace type = dns::type;
namespace rcode = dns::rcode;

namespace {

std::string big_txt_records() {
  std::string s = "[";
  for (int i = 0; i < 40; ++i) {
    if (i) s += ", ";
    s += "\"\\\"txt record number " + std::to_string(100 + i) + " with some padding text\\\"\"";
  }
  return s + "]";
}

std::string main_zone() {
  return R"({
  "origin": "example.com.",
  "ttl": 3600,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 2026112701, "refresh": 7200,
          "retry": 900, "expire": 1209600, "minimum": 300, "ttl": 600},
  "records": {
    "@":         {"NS": ["ns1", "ns2"], "MX": "10 mail", "A": "192.0.2.10", "TXT": "\"apex\""},
    "ns1":       {"A": "192.0.2.1"},
    "ns2":       {"A": "192.0.2.2", "AAAA": "2001:db8::2"},
    "mail":      {"A": {"ttl": 600, "data": ["192.0.2.25", "192.0.2.26"]}},
    "www":       {"CNAME": "app"},
    "app":       {"A": "192.0.2.50"},
    "alias":     {"CNAME": "www"},
    "away":      {"CNAME": "www.example.org."},
    "far":       {"CNAME": "www.example.net."},
    "dangling":  {"CNAME": "nothere"},
    "loop1":     {"CNAME": "loop2"},
    "loop2":     {"CNAME": "loop1"},
    "self":      {"CNAME": "self"},
    "a.b.c":     {"TXT": "\"deep\""},
    "lab":       {"NS": ["ns.lab", "ns.example.org."], "DS": "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"},
    "ns.lab":    {"A": "192.0.2.99"},
    "nods":      {"NS": "ns.example.org."},
    "*.dev":     {"A": "192.0.2.80"},
    "host.dev":  {"TXT": "\"host\""},
    "*.cn":      {"CNAME": "app"},
    "_sip._udp": {"SRV": "10 60 5060 app"},
    "mx2":       {"MX": ["10 mail", "20 mail"]},
    "big":       {"TXT": )" +
         big_txt_records() + R"(}
  }
})";
}

const char* const kOrgZone = R"({
  "origin": "example.org.",
  "soa": {"mname": "ns", "rname": "h", "serial": 1, "refresh": 2, "retry": 3, "expire": 4, "minimum": 60},
  "records": {"@": {"NS": "ns"}, "ns": {"A": "198.51.100.53"}, "www": {"A": "198.51.100.1"}}
})";

// RFC 4592 section 2.2.1, in meridian's zone format (the SRV data is not given there).
const char* const kRfc4592Zone = R"({
  "origin": "example.",
  "ttl": 3600,
  "soa": {"mname": "ns.example.com.", "rname": "hostmaster.example.", "serial": 1, "refresh": 7200,
          "retry": 900, "expire": 1209600, "minimum": 300},
  "records": {
    "@":               {"NS": ["ns.example.com.", "ns.example.net."]},
    "*":               {"TXT": "\"this is a wildcard\"", "MX": "10 host1.example."},
    "sub.*":           {"TXT": "\"this is not a wildcard\""},
    "host1":           {"A": "192.0.2.1"},
    "_ssh._tcp.host1": {"SRV": "0 0 22 host1.example."},
    "_ssh._tcp.host2": {"SRV": "0 0 22 host2.example."},
    "subdel":          {"NS": ["ns.example.com.", "ns.example.net."]}
  }
})";

struct MainFixture {
  Responder r;
  MainFixture() {
    r.add_zone(main_zone());
    r.add_zone(kOrgZone);
    r.snapshot().identity.version = "meridian-test";
    r.snapshot().identity.identity = "host-a";
    r.snapshot().identity.nsid = "node-7";
    r.snapshot().max_udp_payload = 1232;
  }
};

Answer ask_checked(Responder& r, const Bytes& q, Transport t = Transport::udp) {
  Answer a = r.ask(q, t);
  REQUIRE(a.wire.size() > 0);
  INFO("response: " << hex(a.wire));
  REQUIRE_MESSAGE(a.msg.ok, a.msg.error);
  CHECK(ldns_parses(a.wire));
  CHECK(a.msg.qr);
  return a;
}
Answer ask_checked(Responder& r, const char* name, uint16_t qtype, Transport t = Transport::udp) {
  return ask_checked(r, make_query(name, qtype), t);
}

std::vector<std::string> texts(const std::vector<Record>& section) {
  std::vector<std::string> out;
  for (const auto& rr : section) out.push_back(rr.owner + " " + std::to_string(rr.ttl) + " " + rr.type_name() + " " + rr.rdata);
  return out;
}
using Lines = std::vector<std::string>;

const char* const kSoaText = "example.com. 300 SOA ns1.example.com. hostmaster.example.com. 2026112701 7200 900 1209600 300";

Bytes edns_query(const char* name, uint16_t qtype, uint16_t payload = 1232, uint32_t ttl = 0, const Bytes& options = {}) {
  QuerySpec s{name, qtype};
  s.rd = true;
  Edns& e = s.edns.emplace();
  e.payload = payload;
  e.ext_rcode = static_cast<uint8_t>(ttl >> 24);
  e.version = static_cast<uint8_t>(ttl >> 16);
  e.do_bit = (ttl & dns::edns::kDoBit) != 0;
  e.raw_options = options;
  REQUIRE_MESSAGE((ttl & 0x7FFF) == 0, "the OPT TTL's Z bits are not settable here");
  return build_query(s);
}

}  // namespace

TEST_SUITE("responder") {
  TEST_CASE_FIXTURE(MainFixture, "positive answer: AA, RD echoed, no RA, owner compressed to the question") {
    const Answer a = ask_checked(r, "app.example.com.", type::A);
    CHECK(a.msg.id == QuerySpec{}.id);
    CHECK(a.msg.rcode == rcode::NOERROR);
    CHECK(a.msg.aa);
    CHECK_FALSE(a.msg.tc);
    CHECK(a.msg.rd);
    CHECK_FALSE(a.msg.ra);
    CHECK(a.msg.opcode == 0);
    CHECK(a.msg.qdcount == 1);
    CHECK(a.msg.question.at(0).owner == "app.example.com.");
    CHECK(a.msg.question.at(0).type == type::A);
    CHECK(a.msg.question.at(0).klass == dns::klass::IN);
    CHECK(texts(a.msg.answer) == Lines{"app.example.com. 3600 A 192.0.2.50"});
    CHECK(a.msg.authority.empty());
    CHECK(a.msg.additional.empty());
    CHECK_FALSE(a.msg.has_opt);
    CHECK(a.wire[a.msg.answer[0].offset] == 0xC0);
    CHECK(a.wire[a.msg.answer[0].offset + 1] == 0x0C);
    CHECK(a.info.rcode == rcode::NOERROR);
    CHECK(a.info.qtype == type::A);
    REQUIRE(a.info.zone != nullptr);
    CHECK(a.info.zone->origin() == wire_name("example.com."));
    CHECK_FALSE(a.info.truncated);
  }

  TEST_CASE_FIXTURE(MainFixture, "RRset TTLs, and CD echoed") {
    QuerySpec s{"mail.example.com."};
    s.other_flags = dns::flag::CD | dns::flag::AD;
    const Answer a = ask_checked(r, build_query(s));
    CHECK(texts(a.msg.answer) == Lines{"mail.example.com. 600 A 192.0.2.25", "mail.example.com. 600 A 192.0.2.26"});
    CHECK(a.msg.cd);
    CHECK_FALSE(a.msg.rd);
    CHECK((a.msg.flags & dns::flag::AD) == 0);
  }

  TEST_CASE_FIXTURE(MainFixture, "NXDOMAIN: SOA with the negative TTL in authority") {
    const Answer a = ask_checked(r, "nothere.example.com.", type::A);
    CHECK(a.msg.rcode == rcode::NXDOMAIN);
    CHECK(a.msg.aa);
    CHECK(a.msg.answer.empty());
    CHECK(texts(a.msg.authority) == Lines{kSoaText});
    CHECK(a.msg.additional.empty());
    CHECK(a.info.rcode == rcode::NXDOMAIN);
    // deeper, and below a name that exists
    CHECK(ask_checked(r, "x.y.nothere.example.com.", type::A).msg.rcode == rcode::NXDOMAIN);
    CHECK(ask_checked(r, "x.app.example.com.", type::A).msg.rcode == rcode::NXDOMAIN);
  }

  TEST_CASE_FIXTURE(MainFixture, "NODATA: NOERROR, no answer, SOA") {
    const Answer a = ask_checked(r, "app.example.com.", type::AAAA);
    CHECK(a.msg.rcode == rcode::NOERROR);
    CHECK(a.msg.aa);
    CHECK(a.msg.answer.empty());
    CHECK(texts(a.msg.authority) == Lines{kSoaText});
    // at the apex
    const Answer apex = ask_checked(r, "example.com.", type::AAAA);
    CHECK(apex.msg.rcode == rcode::NOERROR);
    CHECK(texts(apex.msg.authority) == Lines{kSoaText});
  }

  TEST_CASE_FIXTURE(MainFixture, "empty non-terminals are NODATA, not NXDOMAIN") {
    for (const char* ent : {"b.c.example.com.", "c.example.com.", "_udp.example.com."}) {
      CAPTURE(ent);
      for (uint16_t t : {type::A, type::TXT, type::ANY}) {
        const Answer a = ask_checked(r, ent, t);
        CHECK(a.msg.rcode == rcode::NOERROR);
        CHECK(a.msg.aa);
        CHECK(a.msg.answer.empty());
        CHECK(texts(a.msg.authority) == Lines{kSoaText});
      }
    }
    CHECK(texts(ask_checked(r, "a.b.c.example.com.", type::TXT).msg.answer) ==
          Lines{"a.b.c.example.com. 3600 TXT \"deep\""});
    CHECK(ask_checked(r, "x.b.c.example.com.", type::TXT).msg.rcode == rcode::NXDOMAIN);
  }

  TEST_CASE_FIXTURE(MainFixture, "additional section: NS, MX and SRV targets") {
    const Answer ns = ask_checked(r, "example.com.", type::NS);
    CHECK(texts(ns.msg.answer) == Lines{"example.com. 3600 NS ns1.example.com.", "example.com. 3600 NS ns2.example.com."});
    CHECK(texts(ns.msg.additional) == Lines{"ns1.example.com. 3600 A 192.0.2.1", "ns2.example.com. 3600 A 192.0.2.2",
                                            "ns2.example.com. 3600 AAAA 2001:db8::2"});
    CHECK(ns.msg.authority.empty());
    const Answer mx = ask_checked(r, "example.com.", type::MX);
    CHECK(texts(mx.msg.answer) == Lines{"example.com. 3600 MX 10 mail.example.com."});
    CHECK(texts(mx.msg.additional) == Lines{"mail.example.com. 600 A 192.0.2.25", "mail.example.com. 600 A 192.0.2.26"});
    const Answer srv = ask_checked(r, "_sip._udp.example.com.", type::SRV);
    CHECK(texts(srv.msg.answer) == Lines{"_sip._udp.example.com. 3600 SRV 10 60 5060 app.example.com."});
    CHECK(texts(srv.msg.additional) == Lines{"app.example.com. 3600 A 192.0.2.50"});
  }

  // Two MX records naming the same host: the host's A RRset belongs in the
  // additional section once (RFC 2181 5: no duplicate records in a message section).
  TEST_CASE_FIXTURE(MainFixture, "additional section has no duplicate RRsets") {
    const Answer a = ask_checked(r, "mx2.example.com.", type::MX);
    CHECK(a.msg.answer.size() == 2);
    CHECK(texts(a.msg.additional) == Lines{"mail.example.com. 600 A 192.0.2.25", "mail.example.com. 600 A 192.0.2.26"});
  }

  TEST_CASE_FIXTURE(MainFixture, "CNAME: chain followed inside the zone, compressed target") {
    const Answer a = ask_checked(r, "www.example.com.", type::A);
    CHECK(a.msg.rcode == rcode::NOERROR);
    CHECK(a.msg.aa);
    CHECK(texts(a.msg.answer) ==
          Lines{"www.example.com. 3600 CNAME app.example.com.", "app.example.com. 3600 A 192.0.2.50"});
    CHECK(a.msg.authority.empty());
    // CNAME rdata "app" + pointer to example.com: 6 bytes
    CHECK(dns::read_u16(a.wire.data() + a.msg.answer[0].offset + 10) == 6);

    const Answer two = ask_checked(r, "alias.example.com.", type::A);
    CHECK(texts(two.msg.answer) == Lines{"alias.example.com. 3600 CNAME www.example.com.",
                                         "www.example.com. 3600 CNAME app.example.com.",
                                         "app.example.com. 3600 A 192.0.2.50"});
  }

  TEST_CASE_FIXTURE(MainFixture, "CNAME: asked for itself, or with ANY") {
    CHECK(texts(ask_checked(r, "www.example.com.", type::CNAME).msg.answer) ==
          Lines{"www.example.com. 3600 CNAME app.example.com."});
    CHECK(texts(ask_checked(r, "www.example.com.", type::ANY).msg.answer) ==
          Lines{"www.example.com. 3600 CNAME app.example.com."});
  }

  TEST_CASE_FIXTURE(MainFixture, "CNAME: target in another served zone, out of every zone, missing") {
    const Answer org = ask_checked(r, "away.example.com.", type::A);
    CHECK(org.msg.aa);
    CHECK(texts(org.msg.answer) ==
          Lines{"away.example.com. 3600 CNAME www.example.org.", "www.example.org. 3600 A 198.51.100.1"});

    const Answer far = ask_checked(r, "far.example.com.", type::A);
    CHECK(far.msg.rcode == rcode::NOERROR);
    CHECK(far.msg.aa);
    CHECK(texts(far.msg.answer) == Lines{"far.example.com. 3600 CNAME www.example.net."});
    CHECK(far.msg.authority.empty());

    // RFC 6604: the rcode is that of the last name in the chain
    const Answer dangling = ask_checked(r, "dangling.example.com.", type::A);
    CHECK(dangling.msg.rcode == rcode::NXDOMAIN);
    CHECK(texts(dangling.msg.answer) == Lines{"dangling.example.com. 3600 CNAME nothere.example.com."});
    CHECK(texts(dangling.msg.authority) == Lines{kSoaText});
  }

  TEST_CASE_FIXTURE(MainFixture, "CNAME loops end") {
    const Answer loop = ask_checked(r, "loop1.example.com.", type::A);
    CHECK(loop.msg.rcode == rcode::NOERROR);
    CHECK(texts(loop.msg.answer) ==
          Lines{"loop1.example.com. 3600 CNAME loop2.example.com.", "loop2.example.com. 3600 CNAME loop1.example.com."});
    const Answer self = ask_checked(r, "self.example.com.", type::A);
    CHECK(texts(self.msg.answer) == Lines{"self.example.com. 3600 CNAME self.example.com."});
    CHECK(ask_checked(r, "loop2.example.com.", type::TXT, Transport::tcp).msg.answer.size() == 2);
  }

  TEST_CASE_FIXTURE(MainFixture, "referral: NS in authority, glue in additional, AA clear") {
    for (const char* name : {"host.lab.example.com.", "lab.example.com.", "a.b.lab.example.com."}) {
      for (uint16_t t : {type::A, type::NS, type::ANY}) {
        CAPTURE(name);
        CAPTURE(t);
        const Answer a = ask_checked(r, name, t);
        CHECK(a.msg.rcode == rcode::NOERROR);
        CHECK_FALSE(a.msg.aa);
        CHECK(a.msg.answer.empty());
        CHECK(texts(a.msg.authority) ==
              Lines{"lab.example.com. 3600 NS ns.lab.example.com.", "lab.example.com. 3600 NS ns.example.org."});
        CHECK(texts(a.msg.additional) == Lines{"ns.lab.example.com. 3600 A 192.0.2.99"});
      }
    }
    // glue names themselves are below the cut: referral too
    CHECK_FALSE(ask_checked(r, "ns.lab.example.com.", type::A).msg.aa);
    // a delegation without in-zone glue
    const Answer nods = ask_checked(r, "www.nods.example.com.", type::A);
    CHECK_FALSE(nods.msg.aa);
    CHECK(texts(nods.msg.authority) == Lines{"nods.example.com. 3600 NS ns.example.org."});
    CHECK(nods.msg.additional.empty());
  }

  // Records come from precompiled images whose owner and in-zone names are
  // pointers filled in per message: check each points where it should.
  TEST_CASE_FIXTURE(MainFixture, "compression: owners and in-zone names point at names already in the message") {
    auto u16 = [](const Answer& a, std::size_t at) { return dns::read_u16(a.wire.data() + at); };
    // NXDOMAIN: the SOA's owner, MNAME and RNAME point at "example.com" in the question (12 + 8).
    const Answer nx = ask_checked(r, "nothere.example.com.", type::A);
    REQUIRE(nx.msg.authority.size() == 1);
    const std::size_t soa = nx.msg.authority[0].offset;
    CHECK(u16(nx, soa) == 0xC014);
    CHECK(nx.wire[soa + 12] == 3);  // "ns1"
    CHECK(u16(nx, soa + 16) == 0xC014);
    CHECK(nx.wire[soa + 18] == 10);  // "hostmaster"
    CHECK(u16(nx, soa + 29) == 0xC014);
    CHECK(u16(nx, soa + 10) == 4 + 2 + 11 + 2 + 20);  // rdlength

    // MX at the apex: "mail" + pointer to the question; the additional A records'
    // owner points at that name in the MX rdata.
    const Answer mx = ask_checked(r, "example.com.", type::MX);
    REQUIRE(mx.msg.answer.size() == 1);
    const std::size_t mx_rr = mx.msg.answer[0].offset;
    CHECK(u16(mx, mx_rr) == 0xC00C);
    CHECK(mx.wire[mx_rr + 14] == 4);
    CHECK(u16(mx, mx_rr + 19) == 0xC00C);
    REQUIRE(mx.msg.additional.size() == 2);
    for (const auto& rr : mx.msg.additional) CHECK(u16(mx, rr.offset) == (0xC000 | (mx_rr + 14)));

    // CNAME: "app" + pointer to example.com (12 + 4); the A record's owner points at the target.
    const Answer cn = ask_checked(r, "www.example.com.", type::A);
    REQUIRE(cn.msg.answer.size() == 2);
    const std::size_t cname_rr = cn.msg.answer[0].offset;
    CHECK(u16(cn, cname_rr + 16) == 0xC010);
    CHECK(u16(cn, cn.msg.answer[1].offset) == (0xC000 | (cname_rr + 12)));

    // Referral: the NS owner points into the question at "lab" (12 + 2 + 2), an NS
    // name below the cut is "ns" + a pointer to the owner, glue points at it.
    const Answer ref = ask_checked(r, "a.b.lab.example.com.", type::A);
    REQUIRE(ref.msg.authority.size() == 2);
    const std::size_t ns_rr = ref.msg.authority[0].offset;
    CHECK(u16(ref, ns_rr) == 0xC010);
    CHECK(u16(ref, ns_rr + 10) == 5);  // "ns" + pointer
    CHECK(u16(ref, ns_rr + 15) == 0xC010);
    REQUIRE(ref.msg.additional.size() == 1);
    CHECK(u16(ref, ref.msg.additional[0].offset) == (0xC000 | (ns_rr + 12)));

    // A wildcard's records take the query's name: the owner points at the question.
    const Answer wild = ask_checked(r, "x.y.dev.example.com.", type::A);
    REQUIRE(wild.msg.answer.size() == 1);
    CHECK(u16(wild, wild.msg.answer[0].offset) == 0xC00C);
  }

  TEST_CASE_FIXTURE(MainFixture, "answering over the query in its own buffer gives the same bytes") {
    const std::vector<Bytes> queries = {
        make_query("app.example.com.", type::A),         make_query("example.com.", type::MX),
        make_query("nothere.example.com.", type::A),     make_query("www.example.com.", type::A),
        make_query("a.b.lab.example.com.", type::A),     make_query("version.bind.", type::TXT),
        edns_query("x.y.dev.example.com.", type::A, 1232, 0, ecs_option(1, 24, 0, {192, 0, 2})),
        edns_query("big.example.com.", type::TXT, 512),  edns_query("app.example.com.", type::A, 1232, 1u << 16),
    };
    for (const Bytes& q : queries) {
      const Answer separate = ask_checked(r, q);
      CHECK(r.ask_in_place(q) == separate.wire);
    }
  }

  TEST_CASE_FIXTURE(MainFixture, "DS at the cut is answered by the parent") {
    const Answer ds = ask_checked(r, "lab.example.com.", type::DS);
    CHECK(ds.msg.aa);
    CHECK(ds.msg.rcode == rcode::NOERROR);
    CHECK(texts(ds.msg.answer) == Lines{"lab.example.com. 3600 DS 60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118"});
    CHECK(ds.msg.authority.empty());
    const Answer none = ask_checked(r, "nods.example.com.", type::DS);
    CHECK(none.msg.aa);
    CHECK(none.msg.rcode == rcode::NOERROR);
    CHECK(none.msg.answer.empty());
    CHECK(texts(none.msg.authority) == Lines{kSoaText});
    // below the cut, DS is the child's business: referral
    CHECK_FALSE(ask_checked(r, "x.lab.example.com.", type::DS).msg.aa);
  }

  TEST_CASE_FIXTURE(MainFixture, "wildcards in the main zone") {
    const Answer a = ask_checked(r, "x.dev.example.com.", type::A);
    CHECK(a.msg.aa);
    CHECK(texts(a.msg.answer) == Lines{"x.dev.example.com. 3600 A 192.0.2.80"});
    CHECK(texts(ask_checked(r, "x.y.dev.example.com.", type::A).msg.answer) ==
          Lines{"x.y.dev.example.com. 3600 A 192.0.2.80"});
    // an existing name is not covered by the wildcard, for any type
    const Answer host = ask_checked(r, "host.dev.example.com.", type::A);
    CHECK(host.msg.rcode == rcode::NOERROR);
    CHECK(host.msg.answer.empty());
    // below it the closest encloser is host.dev, which has no wildcard
    CHECK(ask_checked(r, "x.host.dev.example.com.", type::A).msg.rcode == rcode::NXDOMAIN);
    // the wildcard has no AAAA: NODATA
    const Answer nodata = ask_checked(r, "x.dev.example.com.", type::AAAA);
    CHECK(nodata.msg.rcode == rcode::NOERROR);
    CHECK(nodata.msg.answer.empty());
    CHECK(texts(nodata.msg.authority) == Lines{kSoaText});
    // a wildcard CNAME is followed
    CHECK(texts(ask_checked(r, "q.cn.example.com.", type::A).msg.answer) ==
          Lines{"q.cn.example.com. 3600 CNAME app.example.com.", "app.example.com. 3600 A 192.0.2.50"});
  }

  TEST_CASE_FIXTURE(MainFixture, "ANY: one RRset over UDP, all over TCP (RFC 8482)") {
    const Answer udp = ask_checked(r, "example.com.", type::ANY);
    CHECK(udp.msg.rcode == rcode::NOERROR);
    CHECK(udp.msg.aa);
    REQUIRE_FALSE(udp.msg.answer.empty());
    for (const auto& rr : udp.msg.answer) CHECK(rr.type == udp.msg.answer[0].type);

    const Answer tcp = ask_checked(r, "example.com.", type::ANY, Transport::tcp);
    CHECK(tcp.msg.answer.size() == 6);
    for (uint16_t t : {type::A, type::NS, type::SOA, type::MX, type::TXT})
      CHECK(Message::of_type(tcp.msg.answer, t).size() == (t == type::NS ? 2u : 1u));
    CHECK_FALSE(tcp.msg.tc);
  }

  TEST_CASE_FIXTURE(MainFixture, "CHAOS class: version and identity") {
    const Answer v = ask_checked(r, make_query({"version.bind.", type::TXT, dns::klass::CH}));
    CHECK(v.msg.rcode == rcode::NOERROR);
    CHECK_FALSE(v.msg.aa);  // as Knot and NSD
    REQUIRE(v.msg.answer.size() == 1);
    CHECK(v.msg.answer[0].klass == dns::klass::CH);
    CHECK(v.msg.answer[0].type == type::TXT);
    CHECK(v.msg.answer[0].owner == "version.bind.");
    CHECK(v.msg.answer[0].rdata_wire == std::string("\x0d") + "meridian-test");
    CHECK(v.info.zone == nullptr);

    for (const char* name : {"VERSION.server.", "id.server.", "hostname.bind."}) {
      CAPTURE(name);
      const Answer a =
          ask_checked(r, make_query({name, type::ANY, dns::klass::CH}));
      REQUIRE(a.msg.answer.size() == 1);
      CHECK(a.msg.answer[0].owner == name);  // case as asked
    }
    CHECK(ask_checked(r, make_query({"id.server.", type::TXT, dns::klass::CH}))
              .msg.answer[0]
              .rdata_wire == std::string("\x06") + "host-a");

    // another type: NODATA
    const Answer a = ask_checked(r, make_query({"version.bind.", type::A, dns::klass::CH}));
    CHECK(a.msg.rcode == rcode::NOERROR);
    CHECK(a.msg.answer.empty());
    // unknown names and disabled answers are refused
    CHECK(ask_checked(r, make_query({"authors.bind.", type::TXT, dns::klass::CH}))
              .msg.rcode == rcode::REFUSED);
    r.snapshot().identity.chaos_version = false;
    const Answer off = ask_checked(r, make_query({"version.bind.", type::TXT, dns::klass::CH}));
    CHECK(off.msg.rcode == rcode::REFUSED);
    CHECK_FALSE(off.msg.aa);
    CHECK(ask_checked(r, make_query({"id.server.", type::TXT, dns::klass::CH}))
              .msg.rcode == rcode::NOERROR);
  }

  TEST_CASE_FIXTURE(MainFixture, "IXFR over UDP: the zone's SOA alone (RFC 1995 2); over TCP, lib/transfer answers") {
    const Answer a = ask_checked(r, make_query("example.com.", type::IXFR));
    CHECK(a.msg.rcode == rcode::NOERROR);
    CHECK(a.msg.aa);
    REQUIRE(a.msg.answer.size() == 1);
    CHECK(a.msg.answer[0].type == type::SOA);
    REQUIRE(a.msg.question.size() == 1);
    CHECK(a.msg.question[0].type == type::IXFR);
    CHECK(ask_checked(r, make_query("example.com.", type::IXFR), Transport::tcp).msg.rcode == rcode::REFUSED);
    CHECK(ask_checked(r, make_query("www.example.com.", type::IXFR)).msg.rcode == rcode::REFUSED);
  }

  TEST_CASE_FIXTURE(MainFixture, "REFUSED: other zones, zone transfers, other classes") {
    for (const auto& q : {make_query("example.net.", type::A), make_query("com.", type::NS), make_query(".", type::NS),
                          make_query("example.com.", type::AXFR),
                          make_query({"www.example.com.", type::A, dns::klass::HS}),
                          make_query({"www.example.com.", type::A, dns::klass::ANY})}) {
      const Answer a = ask_checked(r, q);
      CHECK(a.msg.rcode == rcode::REFUSED);
      CHECK_FALSE(a.msg.aa);
      CHECK(a.msg.answer.empty());
      CHECK(a.msg.authority.empty());
      CHECK(a.msg.qdcount == 1);
      CHECK(a.info.rcode == rcode::REFUSED);
    }
  }

  TEST_CASE_FIXTURE(MainFixture, "question case is preserved") {
    const Bytes q = make_query("WwW.ExAmPlE.CoM.", type::A);
    const Answer a = ask_checked(r, q);
    CHECK(a.msg.question.at(0).owner == "WwW.ExAmPlE.CoM.");
    CHECK(hex(a.wire.data() + 12, q.size() - 12) == hex(q.data() + 12, q.size() - 12));
    REQUIRE(a.msg.answer.size() == 2);
    CHECK(a.msg.answer[0].owner == "WwW.ExAmPlE.CoM.");
    // other names may be compressed against the question in its case (RFC 4343 4.1)
    CHECK(dns::wire_names_equal(wire_name(a.msg.answer[1].owner), wire_name("app.example.com.")));
    const Answer nx = ask_checked(r, "NoThErE.Example.COM.", type::A);
    CHECK(nx.msg.question.at(0).owner == "NoThErE.Example.COM.");
    CHECK(nx.msg.rcode == rcode::NXDOMAIN);
  }

  TEST_CASE_FIXTURE(MainFixture, "malformed queries: FORMERR and NOTIMP echo rules") {
    SUBCASE("QDCOUNT 0: header only") {
      const Answer a = ask_checked(r, header(0xAAAA, dns::flag::RD | dns::flag::CD, 0));
      CHECK(a.wire.size() == 12);
      CHECK(a.msg.id == 0xAAAA);
      CHECK(a.msg.rcode == rcode::FORMERR);
      CHECK(a.msg.rd);
      CHECK(a.msg.cd);
      CHECK_FALSE(a.msg.aa);
      CHECK(a.msg.qdcount == 0);
      CHECK(a.info.rcode == rcode::FORMERR);
    }
    SUBCASE("unreadable question: header only") {
      Bytes b = header(0xBBBB, 0, 1);
      put_raw(b, {3, 'w', 'w'});
      const Answer a = ask_checked(r, b);
      CHECK(a.msg.rcode == rcode::FORMERR);
      CHECK(a.msg.qdcount == 0);
      CHECK(a.wire.size() == 12);
    }
    SUBCASE("trailing garbage: the question is echoed as sent") {
      Bytes q = make_query("WWW.example.com.", type::MX);
      const std::size_t qlen = q.size();
      put_raw(q, {1, 2, 3});
      const Answer a = ask_checked(r, q);
      CHECK(a.msg.rcode == rcode::FORMERR);
      CHECK(a.msg.qdcount == 1);
      CHECK(a.msg.ancount + a.msg.nscount + a.msg.arcount == 0);
      CHECK(a.wire.size() == qlen);
      CHECK(hex(a.wire.data() + 12, qlen - 12) == hex(q.data() + 12, qlen - 12));
    }
    SUBCASE("bad Client Subnet option") {
      const Answer a = ask_checked(r, edns_query("www.example.com.", type::A, 1232, 0, ecs_option(3, 8, 0, {10})));
      CHECK(a.msg.rcode == rcode::FORMERR);
      CHECK(a.msg.question.at(0).owner == "www.example.com.");
      CHECK(a.msg.answer.empty());
    }
    SUBCASE("two OPT records") {
      Bytes q = make_query("www.example.com.", type::A);
      q[11] = 2;
      const Bytes o = concat({opt_rr(), opt_rr()});
      q.insert(q.end(), o.begin(), o.end());
      const Answer a = ask_checked(r, q);
      CHECK(a.msg.rcode == rcode::FORMERR);
      CHECK(a.msg.answer.empty());
    }
    SUBCASE("NOTIMP with a question: opcode and question echoed") {
      QuerySpec s{"www.example.com."};
      s.opcode = 4;
      s.rd = true;
      s.other_flags = dns::flag::AA;
      const Answer a = ask_checked(r, build_query(s));
      CHECK(a.msg.rcode == rcode::NOTIMP);
      CHECK(a.msg.opcode == 4);
      CHECK(a.msg.rd);
      CHECK_FALSE(a.msg.aa);
      CHECK(a.msg.question.at(0).owner == "www.example.com.");
      CHECK(a.msg.answer.empty());
      CHECK(a.info.rcode == rcode::NOTIMP);
    }
    SUBCASE("NOTIMP without a question") {
      const Answer a = ask_checked(r, header(0xCCCC, opcode_flags(2), 0));
      CHECK(a.wire.size() == 12);
      CHECK(a.msg.rcode == rcode::NOTIMP);
      CHECK(a.msg.opcode == 2);
    }
  }

  TEST_CASE_FIXTURE(MainFixture, "dropped: short packets and responses get nothing") {
    QuerySpec response{"www.example.com."};
    response.other_flags = dns::flag::QR;
    for (const Bytes& q : {Bytes{}, Bytes{1, 2, 3}, header(1, dns::flag::QR, 1), build_query(response)}) {
      const Answer a = r.ask(q);
      CHECK(a.wire.empty());
      CHECK(a.info.dropped);
    }
  }

  TEST_CASE_FIXTURE(MainFixture, "EDNS: OPT with our payload, DO echoed, version 0") {
    const Answer a = ask_checked(r, edns_query("app.example.com.", type::A, 4096, edns_ttl(0, 0, true)));
    CHECK(a.msg.rcode == rcode::NOERROR);
    REQUIRE(a.msg.has_opt);  // exactly one: a second OPT fails ask_checked's parse
    CHECK(a.msg.arcount == 1);
    CHECK(a.msg.udp_payload == 1232);
    CHECK(a.msg.do_bit);
    CHECK(a.msg.edns_version == 0);
    CHECK(a.msg.rcode == 0);
    CHECK(a.msg.options.empty());  // the parser fails on OPT rdata the options do not fill exactly
    // the OPT is the last record
    CHECK(a.wire.size() - 11 > a.msg.answer.back().offset);
    CHECK(a.wire[a.wire.size() - 11] == 0);

    const Answer nodo = ask_checked(r, edns_query("app.example.com.", type::A, 4096, edns_ttl(0, 0, false)));
    CHECK_FALSE(nodo.msg.do_bit);
    r.snapshot().max_udp_payload = 4096;
    CHECK(ask_checked(r, edns_query("app.example.com.", type::A)).msg.udp_payload == 4096);
  }

  TEST_CASE_FIXTURE(MainFixture, "EDNS: NSID when asked and configured") {
    const Answer a = ask_checked(r, edns_query("app.example.com.", type::A, 1232, 0, edns_option(dns::edns::NSID, "")));
    CHECK(a.msg.option(dns::edns::NSID) == std::optional<std::string>("node-7"));
    // not asked: not sent
    CHECK_FALSE(ask_checked(r, edns_query("app.example.com.", type::A)).msg.option(dns::edns::NSID).has_value());
    // asked, but no NSID configured
    r.snapshot().identity.nsid.clear();
    const Answer none = ask_checked(r, edns_query("app.example.com.", type::A, 1232, 0, edns_option(dns::edns::NSID, "")));
    CHECK(none.msg.has_opt);
    CHECK_FALSE(none.msg.option(dns::edns::NSID).has_value());
  }

  TEST_CASE_FIXTURE(MainFixture, "EDNS: TCP keepalive (RFC 7828) answered over TCP when asked, never over UDP") {
    r.snapshot().tcp_keepalive = 150;  // 15 s
    const Bytes asking = edns_query("app.example.com.", type::A, 1232, 0, edns_option(dns::edns::TCP_KEEPALIVE, ""));
    const Answer tcp = ask_checked(r, asking, Transport::tcp);
    CHECK(hex(tcp.msg.option(dns::edns::TCP_KEEPALIVE).value_or("(none)")) == "00 96");
    CHECK(tcp.msg.answer.size() == 1);
    // Over UDP the option is ignored (and not answered).
    const Answer udp = ask_checked(r, asking, Transport::udp);
    CHECK(udp.msg.has_opt);
    CHECK_FALSE(udp.msg.option(dns::edns::TCP_KEEPALIVE).has_value());
    // Not asked: not sent.
    CHECK_FALSE(ask_checked(r, edns_query("app.example.com.", type::A), Transport::tcp)
                    .msg.option(dns::edns::TCP_KEEPALIVE)
                    .has_value());
    // With NSID too: both options, each once.
    Bytes options = edns_option(dns::edns::NSID, "");
    const Bytes keepalive = edns_option(dns::edns::TCP_KEEPALIVE, "");
    options.insert(options.end(), keepalive.begin(), keepalive.end());
    const Bytes both = edns_query("app.example.com.", type::A, 1232, 0, options);
    const Answer two = ask_checked(r, both, Transport::tcp);
    CHECK(two.msg.option(dns::edns::NSID) == std::optional<std::string>("node-7"));
    CHECK(two.msg.option(dns::edns::TCP_KEEPALIVE).has_value());
  }

  TEST_CASE_FIXTURE(MainFixture, "EDNS: Client Subnet echoed with scope 0 for static data") {
    const Answer a = ask_checked(r, edns_query("app.example.com.", type::A, 1232, 0, ecs_option(1, 24, 0, {198, 51, 100})));
    const std::optional<std::string> ecs = a.msg.option(dns::edns::CLIENT_SUBNET);
    REQUIRE(ecs.has_value());
    CHECK(hex(*ecs) == "00 01 18 00 c6 33 64");
    const Answer v6 = ask_checked(r, edns_query("app.example.com.", type::A, 1232, 0,
                                                ecs_option(2, 48, 0, {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34})));
    CHECK(hex(v6.msg.option(dns::edns::CLIENT_SUBNET).value_or("(none)")) == "00 02 30 00 20 01 0d b8 12 34");
    const Answer zero = ask_checked(r, edns_query("app.example.com.", type::A, 1232, 0, ecs_option(1, 0, 0, {})));
    CHECK(hex(zero.msg.option(dns::edns::CLIENT_SUBNET).value_or("(none)")) == "00 01 00 00");
  }

  TEST_CASE_FIXTURE(MainFixture, "BADVERS: extended rcode in the OPT TTL") {
    const Answer a = ask_checked(r, edns_query("app.example.com.", type::A, 1232, edns_ttl(0, 1, true)));
    CHECK((a.msg.flags & 0x0F) == 0);  // low bits of 16
    REQUIRE(a.msg.has_opt);
    CHECK((a.msg.rcode >> 4) == 1);  // the OPT TTL's extended rcode
    CHECK(a.msg.rcode == rcode::BADVERS);
    CHECK(a.msg.edns_version == 0);
    CHECK(a.msg.do_bit);
    CHECK(a.msg.answer.empty());
    CHECK(a.msg.authority.empty());
    CHECK(a.msg.question.at(0).owner == "app.example.com.");
    CHECK(a.info.rcode == rcode::BADVERS);
  }

  TEST_CASE_FIXTURE(MainFixture, "OPT is present whenever the query had a valid one") {
    const Bytes queries[] = {
        edns_query("nothere.example.com.", type::A),  edns_query("app.example.com.", type::AAAA),
        edns_query("example.net.", type::A),          edns_query("host.lab.example.com.", type::A),
        edns_query("big.example.com.", type::TXT, 512), edns_query("www.example.com.", type::A),
        make_query({"version.bind.", type::TXT, dns::klass::CH}, true),
        make_query({"nothing.bind.", type::TXT, dns::klass::CH}, true),
    };
    for (const Bytes& q : queries) {
      const Answer a = ask_checked(r, q);
      CAPTURE(a.msg.question.at(0).owner);
      CHECK(a.msg.has_opt);  // exactly one: a second OPT fails ask_checked's parse
      CHECK(a.msg.arcount == a.msg.additional.size() + 1);
    }
  }

  // RFC 6891 section 7: "If an OPT record is present in a received request,
  // compliant responders MUST include an OPT record in their respective
  // responses." The OPT itself is well-formed here; only an option in it is not
  // (RFC 7871 7.1.1), or the opcode is one meridian does not implement.
  TEST_CASE_FIXTURE(MainFixture, "OPT in FORMERR for a bad ECS option") {
    const Answer a = ask_checked(r, edns_query("www.example.com.", type::A, 1232, 0, ecs_option(1, 24, 24, {1, 2, 3})));
    CHECK(a.msg.rcode == rcode::FORMERR);
    CHECK(a.msg.has_opt);
  }
  TEST_CASE_FIXTURE(MainFixture, "OPT in NOTIMP for a query with EDNS") {
    QuerySpec s{"www.example.com."};
    s.opcode = 4;
    s.edns = Edns{};
    const Answer a = ask_checked(r, build_query(s));
    CHECK(a.msg.rcode == rcode::NOTIMP);
    CHECK(a.msg.has_opt);
  }

  TEST_CASE_FIXTURE(MainFixture, "truncation at 512 bytes: TC=1, whole RRset left out, parseable") {
    SUBCASE("no EDNS") {
      const Answer a = ask_checked(r, "big.example.com.", type::TXT);
      CHECK(a.msg.tc);
      CHECK(a.wire.size() <= 512);
      CHECK(a.msg.aa);
      CHECK(a.msg.answer.empty());
      CHECK(a.msg.qdcount == 1);
      CHECK(a.info.truncated);
    }
    SUBCASE("EDNS payload 512") {
      const Answer a = ask_checked(r, edns_query("big.example.com.", type::TXT, 512));
      CHECK(a.msg.tc);
      CHECK(a.wire.size() <= 512);
      CHECK(a.msg.has_opt);
      CHECK(a.msg.answer.empty());
    }
    SUBCASE("EDNS payload below 512 counts as 512") {
      const Answer a = ask_checked(r, edns_query("big.example.com.", type::TXT, 100));
      CHECK(a.msg.tc);
      CHECK(a.wire.size() <= 512);
      // and a small answer still fits
      const Answer small = ask_checked(r, edns_query("mail.example.com.", type::A, 100));
      CHECK_FALSE(small.msg.tc);
      CHECK(small.msg.answer.size() == 2);
    }
    SUBCASE("EDNS payload 4096 is capped at the server's 1232") {
      const Answer a = ask_checked(r, edns_query("big.example.com.", type::TXT, 4096));
      CHECK(a.msg.tc);
      CHECK(a.wire.size() <= 1232);
      CHECK(a.msg.has_opt);
    }
    SUBCASE("TCP carries it all") {
      const Answer a = ask_checked(r, "big.example.com.", type::TXT, Transport::tcp);
      CHECK_FALSE(a.msg.tc);
      CHECK(a.msg.answer.size() == 40);
      CHECK(a.wire.size() > 1232);
      CHECK_FALSE(a.info.truncated);
    }
    SUBCASE("a UDP output buffer smaller than the payload is the limit") {
      const Answer a = r.ask(edns_query("big.example.com.", type::TXT, 4096), Transport::udp, 700);
      REQUIRE(a.msg.ok);
      CHECK(a.msg.tc);
      CHECK(a.wire.size() <= 700);
    }
  }

  TEST_CASE("CNAME then a big RRset: the chain stays, TC set") {
    Responder big;
    big.add_zone(R"({"origin": "t.example.", "soa": {"mname": "ns", "rname": "h", "serial": 1, "refresh": 2,
      "retry": 3, "expire": 4, "minimum": 5}, "records": {"@": {"NS": "ns"}, "c": {"CNAME": "b"},
      "b": {"TXT": )" + big_txt_records() + "}}}");
    const Answer a = ask_checked(big, "c.t.example.", type::TXT);
    CHECK(a.msg.tc);
    CHECK(a.wire.size() <= 512);
    CHECK(texts(a.msg.answer) == Lines{"c.t.example. 3600 CNAME b.t.example."});
  }

  TEST_CASE("DNAME: names below the owner are redirected with a synthesized CNAME (RFC 6672)") {
    Responder d;
    const std::string long_target = std::string(60, 'l') + "." + std::string(60, 'm') + "." + std::string(60, 'n') + ".example.";
    d.add_zone(R"({"origin": "d.example.", "soa": {"mname": "ns", "rname": "h", "serial": 1, "refresh": 2,
      "retry": 3, "expire": 4, "minimum": 5}, "records": {"@": {"NS": "ns"}, "ns": {"A": "192.0.2.53"},
      "old": {"DNAME": {"ttl": 120, "data": "new.d.example."}, "TXT": "\"at the owner\""},
      "x.new": {"A": "192.0.2.7"}, "ext": {"DNAME": "example.org."},
      "grow": {"DNAME": ")" + long_target + R"("}}})");
    d.add_zone(kOrgZone);

    // Below the owner: DNAME, CNAME (TTL of the DNAME), then the target's answer.
    const Answer a = ask_checked(d, "x.old.d.example.", type::A);
    CHECK(a.msg.rcode == rcode::NOERROR);
    CHECK(a.msg.aa);
    CHECK(texts(a.msg.answer) == Lines{"old.d.example. 120 DNAME new.d.example.",
                                       "x.old.d.example. 120 CNAME x.new.d.example.",
                                       "x.new.d.example. 3600 A 192.0.2.7"});
    // The DNAME's owner points into the question, the CNAME's owner is the question.
    CHECK(dns::read_u16(a.wire.data() + a.msg.answer[0].offset) == 0xC00E);
    CHECK(dns::read_u16(a.wire.data() + a.msg.answer[1].offset) == 0xC00C);

    // Deeper names keep their labels; a missing target is NXDOMAIN with the SOA.
    const Answer nx = ask_checked(d, "a.b.old.d.example.", type::A);
    CHECK(nx.msg.rcode == rcode::NXDOMAIN);
    CHECK(texts(nx.msg.answer) == Lines{"old.d.example. 120 DNAME new.d.example.",
                                        "a.b.old.d.example. 120 CNAME a.b.new.d.example."});
    CHECK(nx.msg.authority.size() == 1);

    // Asked for the CNAME itself: the chain is not followed.
    CHECK(texts(ask_checked(d, "x.old.d.example.", type::CNAME).msg.answer) ==
          Lines{"old.d.example. 120 DNAME new.d.example.", "x.old.d.example. 120 CNAME x.new.d.example."});

    // The owner itself is ordinary data.
    CHECK(texts(ask_checked(d, "old.d.example.", type::DNAME).msg.answer) ==
          Lines{"old.d.example. 120 DNAME new.d.example."});
    CHECK(texts(ask_checked(d, "old.d.example.", type::TXT).msg.answer) ==
          Lines{"old.d.example. 3600 TXT \"at the owner\""});
    const Answer nodata = ask_checked(d, "old.d.example.", type::A);
    CHECK(nodata.msg.rcode == rcode::NOERROR);
    CHECK(nodata.msg.answer.empty());

    // Into another zone we serve.
    CHECK(texts(ask_checked(d, "www.ext.d.example.", type::A).msg.answer) ==
          Lines{"ext.d.example. 3600 DNAME example.org.", "www.ext.d.example. 3600 CNAME www.example.org.",
                "www.example.org. 3600 A 198.51.100.1"});

    // A synthesized name longer than 255 bytes: YXDOMAIN, with the DNAME.
    const std::string long_label(63, 'q');
    const std::string long_name = long_label + "." + long_label + ".grow.d.example.";
    const Answer yx = ask_checked(d, long_name.c_str(), type::A);
    CHECK(yx.msg.rcode == rcode::YXDOMAIN);
    REQUIRE(yx.msg.answer.size() == 1);
    CHECK(yx.msg.answer[0].type == type::DNAME);
  }

  TEST_CASE_FIXTURE(MainFixture, "question pointing into the header is not echoed as a different name") {
    // The question name is a pointer to offset 3, the flags' low byte (0 in the
    // query: the root name). The response's flags differ (RCODE REFUSED = 5), so
    // the echoed pointer now spells another name.
    Bytes q = header(0x0101, 0x0000, 1);
    put_raw(q, {0xC0, 0x03, 0, 1, 0, 1});
    const Answer a = r.ask(q);
    if (a.wire.empty()) return;  // dropping it is fine too
    INFO("response: " << hex(a.wire));
    REQUIRE(a.msg.ok);
    CHECK((a.msg.qdcount == 0 || a.msg.question.at(0).owner == "."));
  }
}

TEST_SUITE("responder.robustness") {
  // True when the question name of packet uses a compression pointer (see the
  // case "question pointing into the header ...").
  bool question_has_pointer(const Bytes& p) {
    std::size_t i = dns::kHeaderSize;
    while (i < p.size() && p[i] != 0) {
      if ((p[i] & 0xC0) != 0) return (p[i] & 0xC0) == 0xC0;
      i += 1u + p[i];
    }
    return false;
  }

  // Mutated queries (bit flips, byte overwrites, truncation, extension) must never
  // crash (ASan/UBSan build), must respect the size limit and must produce
  // responses that parse.
  TEST_CASE_FIXTURE(MainFixture, "mutated queries get well-formed responses within the limit") {
    std::vector<Bytes> seeds = {
        make_query("www.example.com.", type::A),
        make_query("big.example.com.", type::TXT),
        make_query("host.lab.example.com.", type::A),
        make_query("x.dev.example.com.", type::ANY),
        edns_query("alias.example.com.", type::A, 4096, edns_ttl(0, 0, true),
                   concat({edns_option(dns::edns::NSID, ""), ecs_option(1, 24, 0, {198, 51, 100})})),
        edns_query("example.com.", type::NS, 512, 0, ecs_option(2, 56, 0, {0x20, 1, 0xd, 0xb8, 0, 0, 1})),
        make_query({"version.bind.", type::TXT, dns::klass::CH}, true),
    };
    std::mt19937 rng(20261127);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    unsigned answered = 0, checked = 0;
    for (int iter = 0; iter < 10000; ++iter) {
      Bytes q = seeds[pick(seeds.size())];
      const unsigned edits = 1 + static_cast<unsigned>(pick(4));
      for (unsigned e = 0; e < edits; ++e) {
        switch (pick(5)) {
          case 0: if (!q.empty()) q[pick(q.size())] ^= static_cast<uint8_t>(1u << pick(8)); break;
          case 1: if (!q.empty()) q[pick(q.size())] = static_cast<uint8_t>(rng()); break;
          case 2: if (!q.empty()) q.resize(pick(q.size() + 1)); break;
          case 3: for (std::size_t k = pick(8); k > 0; --k) q.push_back(static_cast<uint8_t>(rng())); break;
          case 4: if (q.size() > 12) q[12 + pick(q.size() - 12)] = static_cast<uint8_t>(0xC0 | pick(4)); break;
        }
      }
      const Transport t = pick(4) == 0 ? Transport::tcp : Transport::udp;
      const Answer a = r.ask(q, t, t == Transport::tcp ? 65535 : 2048);
      dns::Query parsed;
      const dns::QueryStatus st = dns::parse_query(q.data(), q.size(), parsed);
      if (a.wire.empty()) {
        CHECK(st == dns::QueryStatus::drop);
        continue;
      }
      ++answered;
      CHECK(st != dns::QueryStatus::drop);
      if (t == Transport::udp) CHECK(a.wire.size() <= (parsed.has_edns && st == dns::QueryStatus::ok ? 1232u : 512u));
      CHECK(a.wire[0] == q[0]);
      CHECK(a.wire[1] == q[1]);
      // Answered over the query in its own buffer (the UDP server's way): the same bytes.
      if (t == Transport::udp && q.size() <= 2048) CHECK(r.ask_in_place(q, 2048) == a.wire);
      if (question_has_pointer(q)) continue;
      ++checked;
      INFO("query: " << hex(q));
      INFO("response: " << hex(a.wire));
      CHECK_MESSAGE(a.msg.ok, a.msg.error);
      CHECK(a.msg.qdcount <= 1);
      CHECK(ldns_parses(a.wire));
    }
    CHECK(answered > 1000);
    CHECK(checked > 1000);
  }
}

TEST_SUITE("responder.limits") {
  // 8 name servers with A and AAAA: the NS answer fits in 512 bytes, not all of
  // the addresses do.
  const char* const kManyNs = R"({
    "origin": "many.test.", "ttl": 300,
    "soa": {"mname": "ns1", "rname": "h", "serial": 1, "refresh": 2, "retry": 3, "expire": 4, "minimum": 5},
    "records": {
      "@": {"NS": ["ns1", "ns2", "ns3", "ns4", "ns5", "ns6", "ns7", "ns8"]},
      "ns1": {"A": "192.0.2.1", "AAAA": "2001:db8::1"}, "ns2": {"A": "192.0.2.2", "AAAA": "2001:db8::2"},
      "ns3": {"A": "192.0.2.3", "AAAA": "2001:db8::3"}, "ns4": {"A": "192.0.2.4", "AAAA": "2001:db8::4"},
      "ns5": {"A": "192.0.2.5", "AAAA": "2001:db8::5"}, "ns6": {"A": "192.0.2.6", "AAAA": "2001:db8::6"},
      "ns7": {"A": "192.0.2.7", "AAAA": "2001:db8::7"}, "ns8": {"A": "192.0.2.8", "AAAA": "2001:db8::8"},
      "sub": {"NS": ["a.ns.sub", "b.ns.sub", "c.ns.sub", "d.ns.sub", "e.ns.sub", "f.ns.sub", "g.ns.sub",
                     "h.ns.sub", "i.ns.sub", "j.ns.sub", "k.ns.sub", "l.ns.sub"]},
      "a.ns.sub": {"A": "192.0.2.11", "AAAA": "2001:db8::11"}, "b.ns.sub": {"A": "192.0.2.12", "AAAA": "2001:db8::12"},
      "c.ns.sub": {"A": "192.0.2.13", "AAAA": "2001:db8::13"}, "d.ns.sub": {"A": "192.0.2.14", "AAAA": "2001:db8::14"},
      "e.ns.sub": {"A": "192.0.2.15", "AAAA": "2001:db8::15"}, "f.ns.sub": {"A": "192.0.2.16", "AAAA": "2001:db8::16"},
      "g.ns.sub": {"A": "192.0.2.17", "AAAA": "2001:db8::17"}, "h.ns.sub": {"A": "192.0.2.18", "AAAA": "2001:db8::18"},
      "i.ns.sub": {"A": "192.0.2.19", "AAAA": "2001:db8::19"}, "j.ns.sub": {"A": "192.0.2.20", "AAAA": "2001:db8::20"},
      "k.ns.sub": {"A": "192.0.2.21", "AAAA": "2001:db8::21"}, "l.ns.sub": {"A": "192.0.2.22", "AAAA": "2001:db8::22"}
    }
  })";

  TEST_CASE("additional records that do not fit are left out without TC") {
    Responder r(kManyNs);
    const Answer a = ask_checked(r, "many.test.", type::NS);
    CHECK(a.wire.size() <= 512);
    CHECK_FALSE(a.msg.tc);
    CHECK(a.msg.answer.size() == 8);
    CHECK(a.msg.additional.size() >= 1);
    CHECK(a.msg.additional.size() < 16);
    CHECK_FALSE(a.info.truncated);
    // over TCP every address is there
    const Answer tcp = ask_checked(r, "many.test.", type::NS, Transport::tcp);
    CHECK(tcp.msg.additional.size() == 16);
    // with EDNS and room to spare, too; the OPT still comes last
    const Answer edns = ask_checked(r, edns_query("many.test.", type::NS, 1232));
    CHECK(edns.msg.additional.size() == 16);
    CHECK(edns.msg.has_opt);
    // at exactly 512 with EDNS, the OPT still fits
    const Answer e512 = ask_checked(r, edns_query("many.test.", type::NS, 512));
    CHECK(e512.wire.size() <= 512);
    CHECK(e512.msg.has_opt);
    CHECK_FALSE(e512.msg.tc);
    CHECK(e512.msg.additional.size() < 16);
  }

  TEST_CASE("a referral whose in-domain glue does not fit sets TC (RFC 9471)") {
    Responder r(kManyNs);
    const Answer a = ask_checked(r, "www.sub.many.test.", type::A);
    CHECK_FALSE(a.msg.aa);
    CHECK(a.msg.authority.size() == 12);
    CHECK(a.msg.tc);
    CHECK(a.wire.size() <= 512);
    const Answer tcp = ask_checked(r, "www.sub.many.test.", type::A, Transport::tcp);
    CHECK_FALSE(tcp.msg.tc);
    CHECK(tcp.msg.additional.size() == 24);
  }
}

TEST_SUITE("responder.rfc4592") {
  // RFC 4592 section 2.2.1: "The following responses would be synthesized from
  // one of the wildcards in the zone" and "The following would not be
  // synthesized", plus the closest encloser chart of section 3.3.1.
  TEST_CASE("synthesized answers") {
    Responder r(kRfc4592Zone);
    const Answer mx = ask_checked(r, "host3.example.", type::MX);
    CHECK(mx.msg.rcode == rcode::NOERROR);
    CHECK(mx.msg.aa);
    CHECK(texts(mx.msg.answer) == Lines{"host3.example. 3600 MX 10 host1.example."});
    CHECK(texts(mx.msg.additional) == Lines{"host1.example. 3600 A 192.0.2.1"});

    const Answer a = ask_checked(r, "host3.example.", type::A);
    CHECK(a.msg.rcode == rcode::NOERROR);
    CHECK(a.msg.answer.empty());
    REQUIRE(a.msg.authority.size() == 1);
    CHECK(a.msg.authority[0].type == type::SOA);
    CHECK(a.msg.authority[0].owner == "example.");

    CHECK(texts(ask_checked(r, "foo.bar.example.", type::TXT).msg.answer) ==
          Lines{"foo.bar.example. 3600 TXT \"this is a wildcard\""});
  }

  TEST_CASE("answers that are not synthesized") {
    Responder r(kRfc4592Zone);
    // host1.example. exists: NODATA
    const Answer host1 = ask_checked(r, "host1.example.", type::MX);
    CHECK(host1.msg.rcode == rcode::NOERROR);
    CHECK(host1.msg.answer.empty());
    // sub.*.example. exists: NODATA for MX, its own TXT for TXT
    const Answer sub = ask_checked(r, "sub.*.example.", type::MX);
    CHECK(sub.msg.rcode == rcode::NOERROR);
    CHECK(sub.msg.answer.empty());
    CHECK(texts(ask_checked(r, "sub.*.example.", type::TXT).msg.answer) ==
          Lines{"sub.*.example. 3600 TXT \"this is not a wildcard\""});
    // _tcp.host1.example. is the closest encloser and has no wildcard child
    const Answer telnet = ask_checked(r, "_telnet._tcp.host1.example.", type::SRV);
    CHECK(telnet.msg.rcode == rcode::NXDOMAIN);
    CHECK(telnet.msg.answer.empty());
    // below the delegation: a referral
    const Answer del = ask_checked(r, "host.subdel.example.", type::A);
    CHECK(del.msg.rcode == rcode::NOERROR);
    CHECK_FALSE(del.msg.aa);
    CHECK(texts(del.msg.authority) ==
          Lines{"subdel.example. 3600 NS ns.example.com.", "subdel.example. 3600 NS ns.example.net."});
    // *.example. does not match its own subdomains
    const Answer ghost = ask_checked(r, "ghost.*.example.", type::MX);
    CHECK(ghost.msg.rcode == rcode::NXDOMAIN);
    CHECK(ghost.msg.answer.empty());
  }

  TEST_CASE("closest encloser chart") {
    Responder r(kRfc4592Zone);
    // source of synthesis *.example.
    CHECK(texts(ask_checked(r, "_telnet._tcp.host3.example.", type::MX).msg.answer) ==
          Lines{"_telnet._tcp.host3.example. 3600 MX 10 host1.example."});
    CHECK(texts(ask_checked(r, "_chat._udp.host3.example.", type::TXT).msg.answer) ==
          Lines{"_chat._udp.host3.example. 3600 TXT \"this is a wildcard\""});
    // closest encloser host2.example. (an empty non-terminal): no source
    CHECK(ask_checked(r, "_dns._udp.host2.example.", type::SRV).msg.rcode == rcode::NXDOMAIN);
    CHECK(ask_checked(r, "_telnet._tcp.host2.example.", type::SRV).msg.rcode == rcode::NXDOMAIN);
    // closest encloser *.example.: no source
    CHECK(ask_checked(r, "foobar.*.example.", type::TXT).msg.rcode == rcode::NXDOMAIN);
    // the empty non-terminals themselves
    CHECK(ask_checked(r, "host2.example.", type::A).msg.rcode == rcode::NOERROR);
    CHECK(ask_checked(r, "_tcp.host2.example.", type::A).msg.rcode == rcode::NOERROR);
    CHECK(ask_checked(r, "host2.example.", type::A).msg.answer.empty());
    // the wildcard owner asked for directly answers as itself
    CHECK(texts(ask_checked(r, "*.example.", type::TXT).msg.answer) ==
          Lines{"*.example. 3600 TXT \"this is a wildcard\""});
    // existing SRV data
    CHECK(texts(ask_checked(r, "_ssh._tcp.host1.example.", type::SRV).msg.answer) ==
          Lines{"_ssh._tcp.host1.example. 3600 SRV 0 0 22 host1.example."});
  }
}

TEST_SUITE("responder.zones") {
  // RFC 4035 3.1.4.1: a server authoritative for both sides of a cut answers a
  // DS query from the parent zone (the child apex has no DS).
  TEST_CASE("DS for a child zone served alongside its parent comes from the parent") {
    Responder r;
    r.add_zone(R"({"origin": "example.com.", "soa": {"mname": "ns1", "rname": "h", "serial": 1, "refresh": 2,
      "retry": 3, "expire": 4, "minimum": 5}, "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"},
      "child": {"NS": "ns1.example.com.", "DS": "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"}}})");
    r.add_zone(R"({"origin": "child.example.com.", "soa": {"mname": "ns1.example.com.", "rname": "h", "serial": 9,
      "refresh": 2, "retry": 3, "expire": 4, "minimum": 5}, "records": {"@": {"NS": "ns1.example.com.",
      "A": "192.0.2.77"}}})");
    // other types at the child apex come from the child
    CHECK(texts(ask_checked(r, "child.example.com.", type::A).msg.answer) ==
          Lines{"child.example.com. 3600 A 192.0.2.77"});
    const Answer ds = ask_checked(r, "child.example.com.", type::DS);
    CHECK(ds.msg.aa);
    CHECK(texts(ds.msg.answer) ==
          Lines{"child.example.com. 3600 DS 60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118"});
  }

  TEST_CASE("no zones at all: REFUSED") {
    Responder r;
    const Answer a = ask_checked(r, "www.example.com.", type::A);
    CHECK(a.msg.rcode == rcode::REFUSED);
    r.snapshot().zones.reset();
    CHECK(ask_checked(r, "www.example.com.", type::A).msg.rcode == rcode::REFUSED);
  }
}
