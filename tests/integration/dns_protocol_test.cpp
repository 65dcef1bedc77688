// Protocol edges of the real server: malformed queries (FORMERR / NOTIMP / no
// response), EDNS (OPT echo, payload size, BADVERS, DO, NSID, unknown options),
// truncation at the UDP limits, and the CHAOS switch.
#include <doctest/doctest.h>

#include "integration/harness/dig.hpp"
#include "integration/harness/dns_client.hpp"
#include "integration/harness/fixtures.hpp"

using namespace meridian::test;

namespace {

constexpr auto kNoReplyWait = std::chrono::milliseconds(700);

// Default settings plus an NSID, so "asked" and "not asked" can both be checked.
TestServer& server() {
  static TestServer s([] {
    ServerOptions o;
    o.extra_dns = R"("nsid": "it-nsid-1")";
    return o;
  }());
  return s;
}

const Endpoint& ep() {
  REQUIRE_MESSAGE(server().started(), server().error());
  return server().ep();
}

Bytes header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
  Bytes p;
  put_u16(p, id);
  put_u16(p, flags);
  put_u16(p, qd);
  put_u16(p, an);
  put_u16(p, ns);
  put_u16(p, ar);
  return p;
}

Bytes question(const std::string& name, uint16_t type = qtype::A, uint16_t klass = qclass::IN) {
  Bytes p = encode_name(name);
  put_u16(p, type);
  put_u16(p, klass);
  return p;
}

void add(Bytes& p, std::initializer_list<int> bytes) {
  for (int b : bytes) p.push_back(static_cast<uint8_t>(b));
}

Bytes concat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Message send_udp(const Bytes& packet) {
  const auto reply = udp_exchange(ep(), packet);
  if (!reply) {
    Message m;
    m.error = "no reply";
    return m;
  }
  return parse_message(*reply);
}

// The server still answers a normal query.
void check_still_answering() {
  QuerySpec q("app.example.com");
  const Message m = ask_udp(ep(), q);
  REQUIRE_MESSAGE(m.ok, m.error);
  CHECK(m.rcode == rcode::NOERROR);
  CHECK(m.answer.size() == 1);
}

void check_formerr(const Bytes& packet, bool question_echoed) {
  const Message m = send_udp(packet);
  INFO("query: " << hex(packet));
  REQUIRE_MESSAGE(m.ok, m.error);
  INFO(m.describe());
  CHECK(m.qr);
  CHECK(m.id == (packet[0] << 8 | packet[1]));
  CHECK(m.rcode == rcode::FORMERR);
  CHECK(m.answer.empty());
  CHECK(m.authority.empty());
  CHECK(m.additional.empty());
  if (question_echoed) CHECK(m.qdcount == 1);
  else CHECK(m.qdcount == 0);
}

}  // namespace

TEST_CASE("question count other than one is FORMERR") {
  check_formerr(header(0x1001, 0, 0), false);
  check_formerr(concat(concat(header(0x1002, 0, 2), question("app.example.com")), question("www.example.com")), false);
  // QDCOUNT says 1 but there is no question.
  check_formerr(header(0x1003, 0, 1), false);
  check_still_answering();
}

TEST_CASE("bad names in the question are FORMERR") {
  SUBCASE("label type 0x40 (extended label)") {
    Bytes p = header(0x2001, 0, 1);
    add(p, {0x03, 'a', 'p', 'p', 0x41, 'x', 0x00});
    put_u16(p, 1);
    put_u16(p, 1);
    check_formerr(p, false);
  }
  SUBCASE("label type 0x80") {
    Bytes p = header(0x2002, 0, 1);
    add(p, {0x81, 'x', 0x00});
    put_u16(p, 1);
    put_u16(p, 1);
    check_formerr(p, false);
  }
  SUBCASE("pointer loop (points at itself)") {
    Bytes p = header(0x2003, 0, 1);
    add(p, {0x03, 'a', 'p', 'p', 0xC0, 0x10});
    put_u16(p, 1);
    put_u16(p, 1);
    check_formerr(p, false);
  }
  SUBCASE("forward pointer") {
    Bytes p = header(0x2004, 0, 1);
    add(p, {0xC0, 0x12, 0x00, 0x01, 0x00, 0x01, 0x03, 'a', 'p', 'p', 0x00});
    check_formerr(p, false);
  }
  SUBCASE("truncated name") {
    Bytes p = header(0x2005, 0, 1);
    add(p, {0x03, 'a', 'p', 'p', 0x07, 'e', 'x', 'a'});
    check_formerr(p, false);
  }
  SUBCASE("name without type and class") {
    Bytes p = concat(header(0x2006, 0, 1), encode_name("app.example.com"));
    p.push_back(0);
    check_formerr(p, false);
  }
  SUBCASE("name longer than 255 bytes") {
    Bytes p = header(0x2007, 0, 1);
    for (int i = 0; i < 5; ++i) {
      p.push_back(63);
      for (int k = 0; k < 63; ++k) p.push_back('a');
    }
    p.push_back(0);
    put_u16(p, 1);
    put_u16(p, 1);
    check_formerr(p, false);
  }
  check_still_answering();
}

// Regression (fixed in 516f7a6): a compression pointer in the question can only
// point into the 12-byte header, which is not a prior occurrence of a name.
// meridian used to accept it and echo the question verbatim, so the response's
// question held a pointer into the *response* header: C0 03 decoded to
// "\000\001\000\000\000." with REFUSED, and app.example.com written with its
// root label as C0 02 got an authoritative answer that no resolver could parse
// (flags byte 0x84 read as a label type). Knot drops such queries; FORMERR is fine.
TEST_CASE("a question name with a compression pointer is FORMERR or dropped") {
  for (uint8_t target : {0x03, 0x02}) {
    CAPTURE(int(target));
    Bytes p = header(0x2101, 0, 1);
    // app.example.com whose root label is written as a pointer to a zero byte.
    if (target == 0x02) p = concat(p, {0x03, 'a', 'p', 'p', 0x07, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0x03, 'c', 'o', 'm'});
    p.push_back(0xC0);
    p.push_back(target);  // byte 3 / byte 2 of the query header are 0x00: the root name
    put_u16(p, qtype::NS);
    put_u16(p, qclass::IN);
    const auto reply = udp_exchange(ep(), p, std::chrono::seconds(3), std::chrono::seconds(1));
    if (reply) {
      const Message m = parse_message(*reply);
      INFO("response: " << hex(*reply));
      INFO(m.describe());
      CHECK(m.ok);
      CHECK(m.rcode == rcode::FORMERR);
      if (m.ok && m.qdcount == 1) CHECK(m.question[0].owner == std::string(target == 0x03 ? "." : "app.example.com."));
    }
  }
  check_still_answering();
}

TEST_CASE("opcodes other than QUERY are NOTIMP") {
  for (uint8_t opcode : {1, 2, 4, 5, 15}) {
    CAPTURE(int(opcode));
    QuerySpec q("app.example.com");
    q.opcode = opcode;
    q.id = static_cast<uint16_t>(0x3000 + opcode);
    const Message m = send_udp(build_query(q));
    REQUIRE_MESSAGE(m.ok, m.error);
    INFO(m.describe());
    CHECK(m.qr);
    CHECK(m.opcode == opcode);
    CHECK(m.rcode == rcode::NOTIMP);
    CHECK(m.answer.empty());
  }
  SUBCASE("dig +opcode") {
    for (const char* op : {"status", "notify"}) {
      const DigResult d = dig(ep(), {std::string("+opcode=") + op, "app.example.com", "A"});
      INFO(d.output);
      CHECK(d.status == "NOTIMP");
    }
  }
}

TEST_CASE("responses and runts get no response at all") {
  SUBCASE("QR=1") {
    QuerySpec q("app.example.com");
    Bytes p = build_query(q);
    p[2] |= 0x80;
    CHECK_FALSE(udp_send_expect(ep(), p, kNoReplyWait).has_value());
  }
  SUBCASE("QR=1 with garbage") {
    Bytes p = header(0x4002, 0x8000, 7, 9, 9, 9);
    p.push_back(0xFF);
    CHECK_FALSE(udp_send_expect(ep(), p, kNoReplyWait).has_value());
  }
  SUBCASE("shorter than a header") {
    for (std::size_t len : {0u, 1u, 2u, 11u}) {
      CAPTURE(len);
      Bytes p = header(0x4003, 0, 1);
      p.resize(len);
      CHECK_FALSE(udp_send_expect(ep(), p, kNoReplyWait).has_value());
    }
  }
  check_still_answering();
  // Over TCP a dropped message leaves the connection usable.
  TcpConnection c;
  REQUIRE(c.connect(ep()));
  QuerySpec q("app.example.com");
  Bytes resp = build_query(q);
  resp[2] |= 0x80;
  REQUIRE(c.send_message(resp));
  REQUIRE(c.send_message(build_query(q)));
  const auto reply = c.read_message();
  REQUIRE(reply);
  const Message m = parse_message(*reply);
  CHECK(m.ok);
  CHECK_FALSE(m.rcode);
  CHECK(m.answer.size() == 1);
}

TEST_CASE("trailing garbage and record-section errors are FORMERR") {
  QuerySpec q("app.example.com");
  q.id = 0x5001;
  check_formerr(concat(build_query(q), {0xde, 0xad}), true);
  SUBCASE("two OPT records") {
    q.id = 0x5002;
    q.edns = Edns{};
    Bytes p = build_query(q);
    append_opt(p, Edns{});
    check_formerr(p, true);
  }
  SUBCASE("ARCOUNT larger than the records present") {
    q.id = 0x5003;
    Bytes p = build_query(q);
    p[11] = 1;
    check_formerr(p, true);
  }
  SUBCASE("OPT with a non-root owner") {
    q.id = 0x5004;
    Bytes p = build_query(q);
    Bytes opt = encode_name("x");
    put_u16(opt, qtype::OPT);
    put_u16(opt, 1232);
    put_u32(opt, 0);
    put_u16(opt, 0);
    p = concat(p, opt);
    p[11] = 1;
    check_formerr(p, true);
  }
  SUBCASE("OPT option running past the rdata") {
    q.id = 0x5005;
    Bytes p = build_query(q);
    p.push_back(0);
    put_u16(p, qtype::OPT);
    put_u16(p, 1232);
    put_u32(p, 0);
    put_u16(p, 4);
    put_u16(p, 10);  // option code
    put_u16(p, 8);   // says 8 bytes, has 0
    p[11] = 1;
    check_formerr(p, true);
  }
  SUBCASE("dig: two OPT via +ednsopt is still one OPT (sanity)") {
    const DigResult d = dig(ep(), {"+ednsopt=65001:abcd", "app.example.com", "A"});
    INFO(d.output);
    CHECK(d.status == "NOERROR");
  }
  check_still_answering();
}

TEST_CASE("FORMERR replies to an EDNS query carry an OPT (RFC 6891 7)") {
  QuerySpec q("app.example.com");
  q.edns = Edns{};
  q.edns->nsid = true;
  q.id = 0x5101;
  const Message formerr = send_udp(concat(build_query(q), {0x00}));
  REQUIRE_MESSAGE(formerr.ok, formerr.error);
  INFO(formerr.describe());
  CHECK(formerr.rcode == rcode::FORMERR);
  CHECK(formerr.has_opt);
  CHECK(formerr.options.empty());  // no NSID on an error
  // Without EDNS in the query, none in the reply.
  QuerySpec plain("app.example.com");
  plain.id = 0x5103;
  const Message n = send_udp(concat(build_query(plain), {0x00}));
  REQUIRE(n.ok);
  CHECK(n.rcode == rcode::FORMERR);
  CHECK_FALSE(n.has_opt);
}

// RFC 6891 7: a reply to a query with an OPT carries one, NOTIMP included, so
// the parser must read the additional section even for another opcode.
TEST_CASE("NOTIMP replies to an EDNS query carry an OPT") {
  QuerySpec q("app.example.com");
  q.edns = Edns{};
  for (uint8_t opcode : {2, 4, 5}) {
    CAPTURE(int(opcode));
    q.opcode = opcode;
    q.id = static_cast<uint16_t>(0x5110 + opcode);
    const Message notimp = send_udp(build_query(q));
    REQUIRE_MESSAGE(notimp.ok, notimp.error);
    INFO(notimp.describe());
    CHECK(notimp.rcode == rcode::NOTIMP);
    CHECK(notimp.has_opt);
  }
  QuerySpec plain("app.example.com");
  plain.opcode = 4;
  const Message n = send_udp(build_query(plain));
  REQUIRE(n.ok);
  CHECK(n.rcode == rcode::NOTIMP);
  CHECK_FALSE(n.has_opt);
}

TEST_CASE("EDNS: OPT in the reply if and only if the query had one") {
  QuerySpec q("app.example.com");
  const Message plain = ask_udp(ep(), q);
  REQUIRE(plain.ok);
  CHECK_FALSE(plain.has_opt);
  CHECK(plain.arcount == 0);
  q.edns = Edns{};
  q.edns->payload = 4096;
  const Message with = ask_udp(ep(), q);
  REQUIRE(with.ok);
  INFO(with.describe());
  CHECK(with.has_opt);
  CHECK(with.udp_payload == 1232);  // default advertised size
  CHECK(with.edns_version == 0);
  CHECK_FALSE(with.do_bit);
  CHECK_FALSE(with.option(3).has_value());  // NSID not asked for
  SUBCASE("dig +noedns / default") {
    const DigResult n = dig(ep(), {"+noedns", "app.example.com", "A"});
    INFO(n.output);
    CHECK(n.status == "NOERROR");
    CHECK_FALSE(n.has_opt);
    const DigResult e = dig(ep(), {"app.example.com", "A"});
    INFO(e.output);
    CHECK(e.has_opt);
    CHECK(e.udp_size == 1232);
    CHECK_FALSE(e.nsid.has_value());
  }
  SUBCASE("negative answers and errors with EDNS keep the OPT") {
    q.name = "nothere.example.com";
    const Message nx = ask_udp(ep(), q);
    CHECK(nx.rcode == rcode::NXDOMAIN);
    CHECK(nx.has_opt);
    q.name = "www.example.org";
    const Message refused = ask_udp(ep(), q);
    CHECK(refused.rcode == rcode::REFUSED);
    CHECK(refused.has_opt);
  }
}

TEST_CASE("EDNS version 1 gets BADVERS") {
  QuerySpec q("app.example.com");
  q.edns = Edns{};
  q.edns->version = 1;
  const Message m = ask_udp(ep(), q);
  REQUIRE(m.ok);
  INFO(m.describe());
  CHECK(m.rcode == rcode::BADVERS);
  CHECK((m.flags & 0x0F) == 0);  // the low bits in the header, the high ones in OPT
  CHECK(m.has_opt);
  CHECK(m.edns_version == 0);
  CHECK(m.answer.empty());
  const DigResult d = dig(ep(), {"+edns=1", "+noednsnegotiation", "app.example.com", "A"});
  INFO(d.output);
  CHECK(d.status == "BADVERS");
  CHECK(d.edns_version == 0);
}

TEST_CASE("EDNS: unknown options are ignored, DO is echoed") {
  QuerySpec q("app.example.com");
  q.edns = Edns{};
  q.edns->options = {{65001, "hello"}, {12, std::string(8, '\0')}, {10, "cookie12"}};
  const Message m = ask_udp(ep(), q);
  REQUIRE(m.ok);
  INFO(m.describe());
  CHECK(m.rcode == rcode::NOERROR);
  CHECK(m.answer.size() == 1);
  CHECK_FALSE(m.option(65001).has_value());
  q.edns->options.clear();
  q.edns->do_bit = true;
  const Message d = ask_udp(ep(), q);
  REQUIRE(d.ok);
  CHECK(d.do_bit);
  const DigResult dd = dig(ep(), {"+dnssec", "app.example.com", "A"});
  INFO(dd.output);
  CHECK(dd.edns_flags.count("do") == 1);
  const DigResult ko = kdig(ep(), {"+ednsopt=65002:0102", "app.example.com", "A"});
  INFO(ko.output);
  CHECK(ko.status == "NOERROR");
  CHECK(ko.answer.size() == 1);
}

TEST_CASE("NSID only when configured and asked for") {
  QuerySpec q("app.example.com");
  q.edns = Edns{};
  q.edns->nsid = true;
  const Message m = ask_udp(ep(), q);
  REQUIRE(m.ok);
  INFO(m.describe());
  CHECK(m.option(3) == std::optional<std::string>("it-nsid-1"));
  const DigResult d = dig(ep(), {"+nsid", "app.example.com", "A"});
  INFO(d.output);
  REQUIRE(d.nsid.has_value());
  CHECK(d.nsid->find("it-nsid-1") != std::string::npos);
  const DigResult k = kdig(ep(), {"+nsid", "app.example.com", "A"});
  INFO(k.output);
  REQUIRE(k.nsid.has_value());
  CHECK(k.nsid->find("it-nsid-1") != std::string::npos);
  const DigResult no = dig(ep(), {"app.example.com", "A"});
  CHECK_FALSE(no.nsid.has_value());
  // Also on a referral, an NXDOMAIN and over TCP.
  q.name = "host.sub.example.com";
  CHECK(ask_udp(ep(), q).option(3).has_value());
  q.name = "nothere.example.com";
  CHECK(ask_tcp(ep(), q).option(3).has_value());
}

TEST_CASE("truncation at the UDP limit") {
  SUBCASE("no EDNS: 512 bytes, TC=1, the answer that fits") {
    QuerySpec q("txt30.big.test", qtype::TXT);
    const auto reply = udp_exchange(ep(), build_query(q));
    REQUIRE(reply);
    const Message m = parse_message(*reply);
    REQUIRE_MESSAGE(m.ok, m.error);
    INFO(m.describe());
    CHECK(m.tc);
    CHECK(m.aa);
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(reply->size() <= 512);
    CHECK(m.answer.size() < 30);
  }
  SUBCASE("EDNS 1232: TC=1 within 1232 bytes, OPT kept") {
    QuerySpec q("txt30.big.test", qtype::TXT);
    q.edns = Edns{};
    q.edns->payload = 1232;
    const auto reply = udp_exchange(ep(), build_query(q));
    REQUIRE(reply);
    const Message m = parse_message(*reply);
    REQUIRE_MESSAGE(m.ok, m.error);
    INFO(m.describe());
    CHECK(m.tc);
    CHECK(m.has_opt);
    CHECK(reply->size() <= 1232);
  }
  SUBCASE("a client payload above the server's 1232 is capped at 1232") {
    QuerySpec q("txt30.big.test", qtype::TXT);
    q.edns = Edns{};
    q.edns->payload = 65000;
    const auto reply = udp_exchange(ep(), build_query(q));
    REQUIRE(reply);
    CHECK(reply->size() <= 1232);
    CHECK(parse_message(*reply).tc);
  }
  SUBCASE("a client payload below 512 is treated as 512") {
    QuerySpec q("fit512.big.test", qtype::TXT);
    q.edns = Edns{};
    q.edns->payload = 100;
    const auto reply = udp_exchange(ep(), build_query(q));
    REQUIRE(reply);
    const Message m = parse_message(*reply);
    CHECK(reply->size() <= 512);
    CHECK(m.tc);  // 512 + OPT does not fit 512
  }
  SUBCASE("TCP gets the full answer") {
    QuerySpec q("txt30.big.test", qtype::TXT);
    const Message m = ask_tcp(ep(), q);
    REQUIRE_MESSAGE(m.ok, m.error);
    CHECK_FALSE(m.tc);
    CHECK(m.answer.size() == 30);
    for (const auto& r : m.answer) CHECK(r.rdata.size() == 102);
  }
  SUBCASE("exactly at the limit is not truncated; one byte more is") {
    QuerySpec fit("fit512.big.test", qtype::TXT);
    const auto a = udp_exchange(ep(), build_query(fit));
    REQUIRE(a);
    const Message ma = parse_message(*a);
    INFO(ma.describe());
    CHECK(a->size() == 512);
    CHECK_FALSE(ma.tc);
    CHECK(ma.answer.size() == 1);
    QuerySpec over("over512.big.test", qtype::TXT);
    const auto b = udp_exchange(ep(), build_query(over));
    REQUIRE(b);
    const Message mb = parse_message(*b);
    CHECK(mb.tc);
    CHECK(mb.answer.empty());
    CHECK(b->size() <= 512);
    // Over TCP the 513-byte answer comes whole.
    const Message t = ask_tcp(ep(), over);
    REQUIRE(t.ok);
    CHECK(t.wire.size() == 513);
    CHECK_FALSE(t.tc);

    QuerySpec fit_e("fit1232.big.test", qtype::TXT);
    fit_e.edns = Edns{};
    const auto c = udp_exchange(ep(), build_query(fit_e));
    REQUIRE(c);
    const Message mc = parse_message(*c);
    INFO(mc.describe());
    CHECK(c->size() == 1232);
    CHECK_FALSE(mc.tc);
    CHECK(mc.has_opt);
    QuerySpec over_e("over1232.big.test", qtype::TXT);
    over_e.edns = Edns{};
    const auto d = udp_exchange(ep(), build_query(over_e));
    REQUIRE(d);
    const Message md = parse_message(*d);
    CHECK(md.tc);
    CHECK(md.has_opt);
  }
  SUBCASE("dig +ignore / +bufsize / +tcp") {
    const DigResult plain = dig(ep(), {"+noedns", "+ignore", "txt30.big.test", "TXT"});
    INFO(plain.output);
    CHECK(plain.flag("tc"));
    const DigResult b = dig(ep(), {"+bufsize=1232", "+ignore", "txt30.big.test", "TXT"});
    INFO(b.output);
    CHECK(b.flag("tc"));
    const DigResult t = dig(ep(), {"+tcp", "txt30.big.test", "TXT"});
    INFO(t.output);
    CHECK_FALSE(t.flag("tc"));
    CHECK(t.answer.size() == 30);
    // dig retries over TCP by itself after TC=1.
    const DigResult retry = dig(ep(), {"txt30.big.test", "TXT"});
    INFO(retry.output);
    CHECK(retry.answer.size() == 30);
    const DigResult k = kdig(ep(), {"+bufsize=1232", "+ignore", "txt30.big.test", "TXT"});
    INFO(k.output);
    CHECK(k.flag("tc"));
  }
}

TEST_CASE("the server stops cleanly on SIGTERM") {
  REQUIRE(server().started());
  CHECK(server().process().alive());
  CHECK(server().stop() == 0);
  INFO(server().process().log());
  CHECK(server().log_clean());
}

// ---------------------------------------------------------------------------
// Settings that need their own server.

TEST_CASE("max_udp_payload is the advertised size and the UDP cap") {
  ServerOptions o;
  o.extra_dns = R"("max_udp_payload": 4096)";
  TestServer s(o);
  REQUIRE_MESSAGE(s.started(), s.error());
  QuerySpec q("txt30.big.test", qtype::TXT);
  q.edns = Edns{};
  q.edns->payload = 4096;
  const auto reply = udp_exchange(s.ep(), build_query(q));
  REQUIRE(reply);
  const Message m = parse_message(*reply);
  INFO(m.describe());
  CHECK(m.udp_payload == 4096);
  CHECK_FALSE(m.tc);
  CHECK(m.answer.size() == 30);
  CHECK(reply->size() > 1232);
  q.edns->payload = 1232;  // the client's smaller size still wins
  const Message small = parse_message(*udp_exchange(s.ep(), build_query(q)));
  CHECK(small.tc);
  CHECK(small.udp_payload == 4096);
  const DigResult d = dig(s.ep(), {"app.example.com", "A"});
  INFO(d.output);
  CHECK(d.udp_size == 4096);
  CHECK(s.stop() == 0);
  CHECK(s.log_clean());
}

TEST_CASE("max_udp_payload smaller than the default") {
  ServerOptions o;
  o.extra_dns = R"("max_udp_payload": 700)";
  TestServer s(o);
  REQUIRE_MESSAGE(s.started(), s.error());
  QuerySpec q("txt30.big.test", qtype::TXT);
  q.edns = Edns{};
  q.edns->payload = 4096;
  const auto reply = udp_exchange(s.ep(), build_query(q));
  REQUIRE(reply);
  const Message m = parse_message(*reply);
  CHECK(m.udp_payload == 700);
  CHECK(m.tc);
  CHECK(reply->size() <= 700);
  CHECK(s.stop() == 0);
}

TEST_CASE("CHAOS answers can be switched off") {
  ServerOptions o;
  o.extra_dns = R"("chaos": false)";
  TestServer s(o);
  REQUIRE_MESSAGE(s.started(), s.error());
  for (const char* name : {"version.bind", "version.server", "id.server", "hostname.bind"}) {
    CAPTURE(name);
    QuerySpec q(name, qtype::TXT, qclass::CH);
    const Message m = ask_udp(s.ep(), q);
    REQUIRE(m.ok);
    CHECK(m.rcode == rcode::REFUSED);
    CHECK(m.answer.empty());
  }
  const DigResult d = dig(s.ep(), {"-c", "CH", "-t", "TXT", "version.bind"});
  INFO(d.output);
  CHECK(d.status == "REFUSED");
  // Custom texts.
  CHECK(s.stop() == 0);
  ServerOptions o2;
  o2.extra_dns = R"("chaos": {"version": "v-test", "identity": false})";
  TestServer s2(o2);
  REQUIRE_MESSAGE(s2.started(), s2.error());
  QuerySpec v("version.bind", qtype::TXT, qclass::CH);
  const Message mv = ask_udp(s2.ep(), v);
  REQUIRE(mv.answer.size() == 1);
  CHECK(mv.answer[0].rdata == "\"v-test\"");
  QuerySpec id("id.server", qtype::TXT, qclass::CH);
  CHECK(ask_udp(s2.ep(), id).rcode == rcode::REFUSED);
  CHECK(s2.stop() == 0);
}

TEST_CASE("no NSID when none is configured, even when asked") {
  ServerOptions o;
  o.big_zone = false;
  TestServer s(o);
  REQUIRE_MESSAGE(s.started(), s.error());
  QuerySpec q("app.example.com");
  q.edns = Edns{};
  q.edns->nsid = true;
  const Message m = ask_udp(s.ep(), q);
  REQUIRE(m.ok);
  CHECK(m.has_opt);
  CHECK_FALSE(m.option(3).has_value());
  CHECK(s.stop() == 0);
}
