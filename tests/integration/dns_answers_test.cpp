// Answer logic of the real server, seen through dig, kdig and the raw test client:
// AA, NOERROR/NXDOMAIN/NODATA with the negative SOA, CNAME chains, wildcards,
// delegations, additional-section processing, compression, case, REFUSED,
// CHAOS, other classes and ANY.
#include <doctest/doctest.h>

#include <algorithm>

#include "integration/harness/dig.hpp"
#include "integration/harness/dns_client.hpp"
#include "integration/harness/fixtures.hpp"

using namespace meridian::test;

namespace {

TestServer& server() {
  static TestServer s;
  return s;
}

const Endpoint& ep() {
  REQUIRE_MESSAGE(server().started(), server().error());
  return server().ep();
}

Message ask(const std::string& name, uint16_t type, uint16_t klass = qclass::IN) {
  QuerySpec q{name, type, klass};
  q.edns = Edns{};
  Message m = ask_udp(ep(), q);
  REQUIRE_MESSAGE(m.ok, m.error);
  CHECK(m.qr);
  return m;
}

std::vector<std::string> keys(const std::vector<Record>& section, uint16_t type = 0) {
  return Message::keys(section, type);
}

// The negative-answer SOA of a zone with its expected TTL.
void check_negative_soa(const Message& m, const std::string& zone, uint32_t ttl) {
  INFO(m.describe());
  REQUIRE(m.authority.size() == 1);
  CHECK(m.authority[0].type == qtype::SOA);
  CHECK(m.authority[0].owner_lower() == zone);
  CHECK(m.authority[0].ttl == ttl);
}

// Whether every answer record shares one owner and type.
bool single_rrset(const std::vector<Record>& rrs) {
  if (rrs.empty()) return false;
  return std::all_of(rrs.begin(), rrs.end(), [&](const Record& r) {
    return r.type == rrs[0].type && r.owner_lower() == rrs[0].owner_lower();
  });
}

}  // namespace

TEST_CASE("positive answers are authoritative NOERROR with the data") {
  SUBCASE("raw client") {
    const Message m = ask("app.example.com", qtype::A);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(m.aa);
    CHECK_FALSE(m.tc);
    CHECK_FALSE(m.ra);
    CHECK(keys(m.answer) == std::vector<std::string>{"app.example.com. A 192.0.2.50"});
    CHECK(m.answer[0].ttl == 3600);
    CHECK(m.authority.empty());  // minimal responses: no NS in authority
  }
  SUBCASE("per-RRset TTL and several records") {
    const Message m = ask("mail.example.com", qtype::A);
    INFO(m.describe());
    CHECK(keys(m.answer) ==
          std::vector<std::string>{"mail.example.com. A 192.0.2.25", "mail.example.com. A 192.0.2.26"});
    for (const auto& r : m.answer) CHECK(r.ttl == 600);
  }
  SUBCASE("dig") {
    const DigResult d = dig(ep(), {"+norec", "app.example.com", "AAAA"});
    INFO(d.output);
    REQUIRE(d.ok);
    CHECK(d.status == "NOERROR");
    CHECK(d.flag("aa"));
    CHECK(d.flag("qr"));
    CHECK_FALSE(d.flag("ra"));
    CHECK(DigResult::keys(d.answer) == std::vector<std::string>{"app.example.com. AAAA 2001:db8::50"});
  }
  SUBCASE("kdig") {
    const DigResult d = kdig(ep(), {"+norec", "caa.example.com", "CAA"});
    INFO(d.output);
    REQUIRE(d.ok);
    CHECK(d.status == "NOERROR");
    CHECK(d.flag("aa"));
    REQUIRE(d.answer.size() == 1);
    CHECK(d.answer[0].type == "CAA");
    CHECK(d.answer[0].rdata == "0 issue \"letsencrypt.org\"");
  }
  SUBCASE("over IPv6") {
    if (!server().ep6()) {
      MESSAGE("no IPv6 loopback here; skipped");
      return;
    }
    QuerySpec q{"app.example.com", qtype::A};
    const Message m = ask_udp(*server().ep6(), q);
    REQUIRE_MESSAGE(m.ok, m.error);
    CHECK(m.aa);
    CHECK(keys(m.answer) == std::vector<std::string>{"app.example.com. A 192.0.2.50"});
    const Message t = ask_tcp(*server().ep6(), q);
    REQUIRE_MESSAGE(t.ok, t.error);
    CHECK(keys(t.answer) == std::vector<std::string>{"app.example.com. A 192.0.2.50"});
  }
}

TEST_CASE("NXDOMAIN carries the zone SOA with TTL min(SOA TTL, minimum)") {
  SUBCASE("example.com: SOA TTL 3600, minimum 300") {
    const Message m = ask("nothere.example.com", qtype::A);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NXDOMAIN);
    CHECK(m.aa);
    CHECK(m.answer.empty());
    check_negative_soa(m, "example.com.", 300);
  }
  SUBCASE("example.net: SOA TTL 60, minimum 900") {
    const Message m = ask("nothere.example.net", qtype::A);
    CHECK(m.rcode == rcode::NXDOMAIN);
    CHECK(m.aa);
    check_negative_soa(m, "example.net.", 60);
  }
  SUBCASE("dig") {
    const DigResult d = dig(ep(), {"+norec", "nothere.example.com", "A"});
    INFO(d.output);
    CHECK(d.status == "NXDOMAIN");
    CHECK(d.flag("aa"));
    REQUIRE(d.authority.size() == 1);
    CHECK(d.authority[0].type == "SOA");
    CHECK(d.authority[0].ttl == 300);
    CHECK(d.authority[0].rdata == "ns1.example.com. hostmaster.example.com. 2026112701 7200 900 1209600 300");
  }
}

TEST_CASE("NODATA: NOERROR, empty answer, SOA in authority") {
  SUBCASE("existing name, missing type") {
    const Message m = ask("ns1.example.com", qtype::AAAA);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(m.aa);
    CHECK(m.answer.empty());
    check_negative_soa(m, "example.com.", 300);
  }
  SUBCASE("empty non-terminals are NODATA, not NXDOMAIN") {
    for (const char* name : {"b.c.example.com", "c.example.com", "ent.wild.example.com", "_udp.example.com"}) {
      CAPTURE(name);
      const Message m = ask(name, qtype::A);
      INFO(m.describe());
      CHECK(m.rcode == rcode::NOERROR);
      CHECK(m.aa);
      CHECK(m.answer.empty());
      check_negative_soa(m, "example.com.", 300);
    }
    const Message deep = ask("a.b.c.example.com", qtype::TXT);
    CHECK(keys(deep.answer) == std::vector<std::string>{"a.b.c.example.com. TXT \"deep\""});
  }
  SUBCASE("kdig") {
    const DigResult d = kdig(ep(), {"+norec", "c.example.com", "TXT"});
    INFO(d.output);
    CHECK(d.status == "NOERROR");
    CHECK(d.flag("aa"));
    CHECK(d.answer.empty());
    REQUIRE(d.authority.size() == 1);
    CHECK(d.authority[0].type == "SOA");
  }
}

TEST_CASE("CNAME chains") {
  SUBCASE("followed inside the zone") {
    const Message m = ask("alias.example.com", qtype::A);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(m.aa);
    REQUIRE(m.answer.size() == 3);
    CHECK(m.answer[0].key() == "alias.example.com. CNAME www.example.com.");
    CHECK(m.answer[1].key() == "www.example.com. CNAME app.example.com.");
    CHECK(m.answer[2].key() == "app.example.com. A 192.0.2.50");
  }
  SUBCASE("a CNAME query returns the CNAME only") {
    const Message m = ask("www.example.com", qtype::CNAME);
    CHECK(keys(m.answer) == std::vector<std::string>{"www.example.com. CNAME app.example.com."});
  }
  SUBCASE("across two zones of the same server") {
    const Message m = ask("tonet.example.com", qtype::A);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(m.aa);
    REQUIRE(m.answer.size() == 3);
    CHECK(m.answer[0].key() == "tonet.example.com. CNAME hop.example.net.");
    CHECK(m.answer[1].key() == "hop.example.net. CNAME final.example.com.");
    CHECK(m.answer[2].key() == "final.example.com. A 192.0.2.70");
  }
  SUBCASE("to a missing name: NXDOMAIN with the target zone's SOA") {
    const Message m = ask("dangling.example.com", qtype::A);
    CHECK(m.rcode == rcode::NXDOMAIN);
    CHECK(m.aa);
    CHECK(keys(m.answer) == std::vector<std::string>{"dangling.example.com. CNAME nothere.example.com."});
    check_negative_soa(m, "example.com.", 300);
    const Message n = ask("tonowhere.example.com", qtype::A);
    CHECK(n.rcode == rcode::NXDOMAIN);
    CHECK(keys(n.answer) == std::vector<std::string>{"tonowhere.example.com. CNAME nothere.example.net."});
    check_negative_soa(n, "example.net.", 60);
  }
  SUBCASE("to an out-of-zone name: the CNAME alone") {
    const Message m = ask("away.example.com", qtype::A);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(m.aa);
    CHECK(keys(m.answer) == std::vector<std::string>{"away.example.com. CNAME www.example.org."});
    CHECK(m.authority.empty());
  }
  SUBCASE("loops terminate") {
    const Message m = ask("loop1.example.com", qtype::A);
    INFO(m.describe());
    CHECK((m.rcode == rcode::NOERROR || m.rcode == rcode::SERVFAIL));
    CHECK(m.answer.size() <= 12);
    CHECK(keys(m.answer, qtype::CNAME) == std::vector<std::string>{"loop1.example.com. CNAME loop2.example.com.",
                                                                    "loop2.example.com. CNAME loop1.example.com."});
    const Message self = ask("self.example.com", qtype::A);
    CHECK(keys(self.answer) == std::vector<std::string>{"self.example.com. CNAME self.example.com."});
  }
  SUBCASE("dig") {
    const DigResult d = dig(ep(), {"+norec", "www.example.com", "AAAA"});
    INFO(d.output);
    CHECK(d.status == "NOERROR");
    CHECK(d.flag("aa"));
    REQUIRE(d.answer.size() == 2);
    CHECK(d.answer[0].key() == "www.example.com. CNAME app.example.com.");
    CHECK(d.answer[1].key() == "app.example.com. AAAA 2001:db8::50");
  }
}

TEST_CASE("wildcards (RFC 4592)") {
  SUBCASE("a missing name below the wildcard's parent matches, owner is the qname") {
    const Message m = ask("foo.wild.example.com", qtype::A);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(m.aa);
    CHECK(keys(m.answer) == std::vector<std::string>{"foo.wild.example.com. A 192.0.2.80"});
    const Message multi = ask("a.b.wild.example.com", qtype::TXT);
    CHECK(keys(multi.answer) == std::vector<std::string>{"a.b.wild.example.com. TXT \"wildcard\""});
  }
  SUBCASE("wildcard match without the type: NODATA") {
    const Message m = ask("foo.wild.example.com", qtype::MX);
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(m.answer.empty());
    check_negative_soa(m, "example.com.", 300);
  }
  SUBCASE("an existing name is not covered by the wildcard") {
    const Message exact = ask("host.wild.example.com", qtype::A);
    CHECK(keys(exact.answer) == std::vector<std::string>{"host.wild.example.com. A 192.0.2.81"});
    const Message nodata = ask("host.wild.example.com", qtype::TXT);
    CHECK(nodata.rcode == rcode::NOERROR);
    CHECK(nodata.answer.empty());
    // Below an existing name the closest encloser is that name: no match across it.
    const Message below = ask("sub.host.wild.example.com", qtype::A);
    INFO(below.describe());
    CHECK(below.rcode == rcode::NXDOMAIN);
    CHECK(below.answer.empty());
    check_negative_soa(below, "example.com.", 300);
  }
  SUBCASE("an empty non-terminal blocks the wildcard") {
    const Message m = ask("y.ent.wild.example.com", qtype::A);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NXDOMAIN);
    CHECK(m.answer.empty());
  }
  SUBCASE("a wildcard CNAME is synthesized and followed") {
    const Message m = ask("foo.cn.example.com", qtype::A);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(m.aa);
    REQUIRE(m.answer.size() == 2);
    CHECK(m.answer[0].key() == "foo.cn.example.com. CNAME app.example.com.");
    CHECK(m.answer[1].key() == "app.example.com. A 192.0.2.50");
  }
  SUBCASE("the qname \"*.wild\" itself") {
    const Message m = ask("*.wild.example.com", qtype::A);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(keys(m.answer) == std::vector<std::string>{"*.wild.example.com. A 192.0.2.80"});
    const Message other = ask("*.host.wild.example.com", qtype::A);
    CHECK(other.rcode == rcode::NXDOMAIN);
  }
  SUBCASE("dig") {
    const DigResult d = dig(ep(), {"+norec", "x.y.wild.example.com", "TXT"});
    INFO(d.output);
    CHECK(d.status == "NOERROR");
    CHECK(d.flag("aa"));
    CHECK(DigResult::keys(d.answer) == std::vector<std::string>{"x.y.wild.example.com. TXT \"wildcard\""});
  }
}

TEST_CASE("delegations") {
  const std::vector<std::string> child_ns = {"sub.example.com. NS ns.other.org.", "sub.example.com. NS ns.sub.example.com."};
  const std::vector<std::string> glue = {"ns.sub.example.com. A 192.0.2.99", "ns.sub.example.com. AAAA 2001:db8::99"};
  SUBCASE("referral: child NS in authority, glue in additional, AA clear") {
    for (const char* name : {"sub.example.com", "host.sub.example.com", "a.b.c.sub.example.com", "ns.sub.example.com"}) {
      for (uint16_t type : {qtype::A, qtype::AAAA, qtype::NS, qtype::MX}) {
        CAPTURE(name);
        CAPTURE(type);
        const Message m = ask(name, type);
        INFO(m.describe());
        CHECK(m.rcode == rcode::NOERROR);
        CHECK_FALSE(m.aa);
        CHECK(m.answer.empty());
        CHECK(keys(m.authority) == child_ns);
        CHECK(keys(m.additional) == glue);
      }
    }
  }
  SUBCASE("DS at the cut is answered by the parent") {
    const Message m = ask("sub.example.com", qtype::DS);
    INFO(m.describe());
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(m.aa);
    CHECK(m.answer.empty());
    check_negative_soa(m, "example.com.", 300);
    const Message ds = ask("secure.example.com", qtype::DS);
    INFO(ds.describe());
    CHECK(ds.aa);
    REQUIRE(ds.answer.size() == 1);
    CHECK(ds.answer[0].type == qtype::DS);
    CHECK(ds.answer[0].owner_lower() == "secure.example.com.");
    // DS below the cut belongs to the child: referral.
    const Message below = ask("x.secure.example.com", qtype::DS);
    CHECK_FALSE(below.aa);
    CHECK(keys(below.authority) == std::vector<std::string>{"secure.example.com. NS ns1.example.com."});
  }
  SUBCASE("dig") {
    const DigResult d = dig(ep(), {"+norec", "www.sub.example.com", "A"});
    INFO(d.output);
    CHECK(d.status == "NOERROR");
    CHECK_FALSE(d.flag("aa"));
    CHECK(d.answer.empty());
    CHECK(DigResult::keys(d.authority) == child_ns);
    CHECK(DigResult::keys(d.additional) == glue);
  }
}

TEST_CASE("additional section: addresses of in-zone NS, MX and SRV targets") {
  SUBCASE("NS") {
    const Message m = ask("example.com", qtype::NS);
    INFO(m.describe());
    CHECK(m.aa);
    CHECK(keys(m.answer) == std::vector<std::string>{"example.com. NS ns1.example.com.", "example.com. NS ns2.example.com."});
    CHECK(keys(m.additional) == std::vector<std::string>{"ns1.example.com. A 192.0.2.1", "ns2.example.com. A 192.0.2.2",
                                                         "ns2.example.com. AAAA 2001:db8::2"});
  }
  SUBCASE("MX: only targets inside the zone") {
    const Message m = ask("example.com", qtype::MX);
    INFO(m.describe());
    CHECK(keys(m.answer) == std::vector<std::string>{"example.com. MX 10 mail.example.com.",
                                                     "example.com. MX 20 mx.example.net."});
    CHECK(keys(m.additional) == std::vector<std::string>{"mail.example.com. A 192.0.2.25", "mail.example.com. A 192.0.2.26",
                                                         "mail.example.com. AAAA 2001:db8::25"});
  }
  SUBCASE("SRV") {
    const Message m = ask("_sip._udp.example.com", qtype::SRV);
    INFO(m.describe());
    CHECK(keys(m.answer) == std::vector<std::string>{"_sip._udp.example.com. SRV 10 60 5060 sip.example.com."});
    CHECK(keys(m.additional) ==
          std::vector<std::string>{"sip.example.com. A 192.0.2.60", "sip.example.com. AAAA 2001:db8::60"});
  }
  SUBCASE("dig") {
    const DigResult d = dig(ep(), {"+norec", "example.com", "MX"});
    INFO(d.output);
    CHECK(DigResult::keys(d.additional).size() == 3);
  }
}

TEST_CASE("name compression and the client's letter case") {
  SUBCASE("responses are compressed") {
    const Message m = ask("example.com", qtype::NS);
    INFO(m.describe());
    REQUIRE(m.ok);
    CHECK(m.compression_pointers >= 5);
    // The same records written without compression.
    std::size_t plain = 12 + encode_name("example.com").size() + 4;
    for (const auto* section : {&m.answer, &m.authority, &m.additional}) {
      for (const auto& r : *section) {
        plain += encode_name(r.owner).size() + 10;
        if (r.type == qtype::NS) plain += encode_name(r.rdata).size();
        else if (r.type == qtype::A) plain += 4;
        else if (r.type == qtype::AAAA) plain += 16;
      }
    }
    plain += 11;  // OPT
    CHECK(m.wire.size() < plain);
    // The first answer's owner is a pointer to the question name.
    REQUIRE(m.wire.size() > m.question_end + 2);
    CHECK(m.wire[m.question_end] == 0xC0);
    CHECK(m.wire[m.question_end + 1] == 0x0C);
  }
  SUBCASE("the question is echoed byte for byte and answers follow its case") {
    QuerySpec q{"WwW.ExAmPlE.cOm", qtype::A};
    const Message m = ask_udp(ep(), q);
    REQUIRE_MESSAGE(m.ok, m.error);
    INFO(m.describe());
    const Bytes name = encode_name("WwW.ExAmPlE.cOm");
    REQUIRE(m.wire.size() >= 12 + name.size() + 4);
    CHECK(Bytes(m.wire.begin() + 12, m.wire.begin() + 12 + static_cast<long>(name.size())) == name);
    REQUIRE(m.question.size() == 1);
    CHECK(m.question[0].owner == "WwW.ExAmPlE.cOm.");
    REQUIRE(m.answer.size() == 2);
    CHECK(m.answer[0].owner == "WwW.ExAmPlE.cOm.");
    CHECK(m.answer[1].key() == "app.example.com. A 192.0.2.50");
  }
  SUBCASE("dig") {
    const DigResult d = dig(ep(), {"+norec", "MaIl.ExAmPlE.CoM", "A"});
    INFO(d.output);
    CHECK(d.question.find("MaIl.ExAmPlE.CoM.") == 0);
    REQUIRE(d.answer.size() == 2);
    CHECK(d.answer[0].owner == "MaIl.ExAmPlE.CoM.");
  }
}

TEST_CASE("names outside the served zones are REFUSED") {
  for (const char* name : {"www.example.org", "com", ".", "example.co", "xexample.com"}) {
    CAPTURE(name);
    const Message m = ask(name, qtype::A);
    INFO(m.describe());
    CHECK(m.rcode == rcode::REFUSED);
    CHECK_FALSE(m.aa);
    CHECK(m.answer.empty());
    CHECK(m.authority.empty());
  }
  const DigResult d = dig(ep(), {"+norec", "www.example.org", "A"});
  INFO(d.output);
  CHECK(d.status == "REFUSED");
  CHECK_FALSE(d.flag("aa"));
}

TEST_CASE("zone transfers are refused") {
  QuerySpec q{"example.com", qtype::AXFR};
  const Message t = ask_tcp(ep(), q);
  REQUIRE_MESSAGE(t.ok, t.error);
  CHECK(t.rcode == rcode::REFUSED);
  const Message u = ask_udp(ep(), q);
  REQUIRE_MESSAGE(u.ok, u.error);
  CHECK(u.rcode == rcode::REFUSED);
}

TEST_CASE("class CH: version.bind, id.server, hostname.bind") {
  SUBCASE("raw client") {
    for (const char* name : {"version.bind", "version.server", "id.server", "hostname.bind", "VERSION.BIND"}) {
      CAPTURE(name);
      const Message m = ask(name, qtype::TXT, qclass::CH);
      INFO(m.describe());
      CHECK(m.rcode == rcode::NOERROR);
      CHECK_FALSE(m.aa);  // as Knot and NSD
      REQUIRE(m.answer.size() == 1);
      CHECK(m.answer[0].type == qtype::TXT);
      CHECK(m.answer[0].klass == qclass::CH);
      CHECK(m.answer[0].rdata.size() > 2);
    }
    const Message v = ask("version.bind", qtype::TXT, qclass::CH);
    REQUIRE(v.answer.size() == 1);
    CHECK(v.answer[0].rdata.find("meridian") != std::string::npos);
  }
  SUBCASE("other CH names are REFUSED") {
    const Message m = ask("authors.bind", qtype::TXT, qclass::CH);
    CHECK(m.rcode == rcode::REFUSED);
    const Message z = ask("example.com", qtype::TXT, qclass::CH);
    CHECK(z.rcode == rcode::REFUSED);
  }
  SUBCASE("dig and kdig") {
    const DigResult d = dig(ep(), {"-c", "CH", "-t", "TXT", "version.bind"});
    INFO(d.output);
    CHECK(d.status == "NOERROR");
    REQUIRE(d.answer.size() == 1);
    CHECK(d.answer[0].klass == "CH");
    CHECK(d.answer[0].rdata.find("meridian") != std::string::npos);
    const DigResult k = kdig(ep(), {"-c", "CH", "-t", "TXT", "id.server"});
    INFO(k.output);
    CHECK(k.status == "NOERROR");
    CHECK(k.answer.size() == 1);
  }
}

TEST_CASE("classes other than IN and CH are REFUSED") {
  for (uint16_t klass : {qclass::HS, qclass::NONE, qclass::ANY, uint16_t{2}, uint16_t{42}}) {
    CAPTURE(klass);
    const Message m = ask("app.example.com", qtype::A, klass);
    INFO(m.describe());
    CHECK(m.rcode == rcode::REFUSED);
    CHECK(m.answer.empty());
  }
  const Message hs = ask("version.bind", qtype::TXT, qclass::HS);
  CHECK(hs.rcode == rcode::REFUSED);
  const DigResult d = dig(ep(), {"-c", "HS", "-t", "A", "app.example.com"});
  INFO(d.output);
  CHECK(d.status == "REFUSED");
}

TEST_CASE("ANY: one RRset over UDP, everything over TCP") {
  SUBCASE("raw client") {
    QuerySpec q{"example.com", qtype::ANY};
    q.edns = Edns{};
    const Message u = ask_udp(ep(), q);
    REQUIRE_MESSAGE(u.ok, u.error);
    INFO(u.describe());
    CHECK(u.rcode == rcode::NOERROR);
    CHECK(u.aa);
    CHECK(single_rrset(u.answer));
    const Message t = ask_tcp(ep(), q);
    REQUIRE_MESSAGE(t.ok, t.error);
    INFO(t.describe());
    std::set<uint16_t> types;
    for (const auto& r : t.answer) types.insert(r.type);
    CHECK(types == std::set<uint16_t>{qtype::A, qtype::NS, qtype::SOA, qtype::MX, qtype::TXT});
    CHECK(t.answer.size() == 7);
  }
  SUBCASE("dig +notcp / +tcp") {
    const DigResult u = dig(ep(), {"+notcp", "+norec", "ns2.example.com", "ANY"});
    INFO(u.output);
    CHECK(u.status == "NOERROR");
    REQUIRE(!u.answer.empty());
    for (const auto& r : u.answer) CHECK(r.type == u.answer[0].type);
    const DigResult t = dig(ep(), {"+tcp", "+norec", "ns2.example.com", "ANY"});
    INFO(t.output);
    CHECK(DigResult::keys(t.answer) ==
          std::vector<std::string>{"ns2.example.com. A 192.0.2.2", "ns2.example.com. AAAA 2001:db8::2"});
  }
  SUBCASE("ANY at an empty non-terminal is NODATA") {
    QuerySpec q{"c.example.com", qtype::ANY};
    const Message t = ask_tcp(ep(), q);
    REQUIRE(t.ok);
    CHECK(t.rcode == rcode::NOERROR);
    CHECK(t.answer.empty());
    check_negative_soa(t, "example.com.", 300);
  }
}

namespace {

// example.com (which delegates sub and secure) plus both child zones.
ServerOptions parent_and_children() {
  ServerOptions o;
  o.big_zone = false;
  o.zone_files["sub.example.com.json"] = R"({
  "origin": "sub.example.com.", "ttl": 900,
  "soa": {"mname": "ns.sub.example.com.", "rname": "hostmaster", "serial": 3,
          "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 120},
  "records": {
    "@":    {"NS": ["ns", "ns.other.org."], "MX": ["10 mx", "20 mx", "30 mx2"]},
    "ns":   {"A": "192.0.2.99", "AAAA": "2001:db8::99"},
    "mx":   {"A": "192.0.2.33"},
    "mx2":  {"AAAA": "2001:db8::34"},
    "host": {"A": "192.0.2.34"}
  }
})";
  o.zone_files["secure.example.com.json"] = R"({
  "origin": "secure.example.com.",
  "soa": {"mname": "ns1.example.com.", "rname": "hostmaster.example.com.", "serial": 1,
          "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 60},
  "records": {"@": {"NS": "ns1.example.com.", "A": "192.0.2.35"}}
})";
  return o;
}

}  // namespace

TEST_CASE("parent and child zones on one server; additional records once per target") {
  const ServerOptions o = parent_and_children();
  TestServer s(o);
  REQUIRE_MESSAGE(s.started(), s.error());
  auto ask_here = [&](const std::string& name, uint16_t type) {
    QuerySpec q(name, type);
    q.edns = Edns{};
    Message m = ask_udp(s.ep(), q);
    REQUIRE_MESSAGE(m.ok, m.error);
    return m;
  };
  SUBCASE("below the cut the child zone answers, authoritatively") {
    const Message m = ask_here("host.sub.example.com", qtype::A);
    INFO(m.describe());
    CHECK(m.aa);
    CHECK(keys(m.answer) == std::vector<std::string>{"host.sub.example.com. A 192.0.2.34"});
    const Message nx = ask_here("nothere.sub.example.com", qtype::A);
    CHECK(nx.rcode == rcode::NXDOMAIN);
    check_negative_soa(nx, "sub.example.com.", 120);
    const Message soa = ask_here("sub.example.com", qtype::SOA);
    CHECK(soa.aa);
    CHECK(keys(soa.answer, qtype::SOA).size() == 1);
  }
  SUBCASE("a target named by several records gets its addresses once") {
    const Message m = ask_here("sub.example.com", qtype::MX);
    INFO(m.describe());
    CHECK(m.answer.size() == 3);
    CHECK(keys(m.additional) ==
          std::vector<std::string>{"mx.sub.example.com. A 192.0.2.33", "mx2.sub.example.com. AAAA 2001:db8::34"});
  }
  CHECK(s.stop() == 0);
  CHECK(s.log_clean());
}

// DS lives in the parent (RFC 4035 3.1.4.1): with both zones served, the parent
// answers DS at the child apex. (Guards the parent lookup, whose label offsets
// must be relative to the parent name.)
TEST_CASE("DS at a child apex served by the same server is answered by the parent") {
  TestServer s(parent_and_children());
  REQUIRE_MESSAGE(s.started(), s.error());
  auto ask_here = [&](const std::string& name, uint16_t type) {
    QuerySpec q(name, type);
    q.edns = Edns{};
    Message m = ask_udp(s.ep(), q);
    REQUIRE_MESSAGE(m.ok, m.error);
    return m;
  };
  const Message none = ask_here("sub.example.com", qtype::DS);
  {
    INFO(none.describe());
    CHECK(none.rcode == rcode::NOERROR);
    CHECK(none.aa);
    CHECK(none.answer.empty());
    check_negative_soa(none, "example.com.", 300);
  }
  const Message ds = ask_here("secure.example.com", qtype::DS);
  {
    INFO(ds.describe());
    CHECK(ds.aa);
    CHECK(keys(ds.answer, qtype::DS).size() == 1);
  }
  const DigResult d = dig(s.ep(), {"+norec", "secure.example.com", "DS"});
  INFO(d.output);
  CHECK(d.status == "NOERROR");
  CHECK(d.flag("aa"));
  CHECK(d.answer.size() == 1);
  CHECK(s.stop() == 0);
}

TEST_CASE("the server stops cleanly on SIGTERM") {
  REQUIRE(server().started());
  CHECK(server().process().alive());
  CHECK(server().stop() == 0);
  INFO(server().process().log());
  CHECK(server().log_clean());
}
