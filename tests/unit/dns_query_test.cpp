// dns::parse_query and dns::read_name: every way a query can be malformed, and
// the EDNS / Client Subnet details the responder relies on.
#include <doctest/doctest.h>

#include <string>

#include "dns/query.hpp"
#include "unit/support/dns_wire.hpp"

using namespace meridian;
using namespace meridian::test;
using dns::QueryStatus;

namespace {

QueryStatus parse(const Bytes& b, dns::Query& q) { return dns::parse_query(b.data(), b.size(), q); }
QueryStatus parse(const Bytes& b) {
  dns::Query q;
  return parse(b, q);
}

// Header for a plain query with one question, plus the given raw question bytes.
Bytes query_with_question_bytes(std::initializer_list<uint8_t> raw, uint16_t flags = 0) {
  Bytes b = header(0xBEEF, flags, 1);
  put_raw(b, raw);
  return b;
}

// A query for www.example.com A with an additional section made of `additional`.
Bytes query_with_additional(unsigned arcount, const Bytes& additional) {
  Bytes b = header(0x4242, dns::flag::RD, 1, 0, 0, static_cast<uint16_t>(arcount));
  const Bytes q = question("www.example.com.", dns::type::A);
  b.insert(b.end(), q.begin(), q.end());
  b.insert(b.end(), additional.begin(), additional.end());
  return b;
}

Bytes query_with_options(const Bytes& options, uint32_t ttl = 0, uint16_t payload = 1232) {
  return query_with_additional(1, opt_rr(payload, ttl, options));
}

// A name of `labels` one-byte labels ("a.a.a....").
std::string many_labels(unsigned labels) {
  std::string w;
  for (unsigned i = 0; i < labels; ++i) w += "\x01" "a";
  w.push_back('\0');
  return w;
}

}  // namespace

TEST_SUITE("dns.read_name") {
  TEST_CASE("reads a plain name, folds case on request, moves past it") {
    Bytes p;
    put_raw(p, std::string_view("\x03WwW\x07" "Example\x03" "COM\x00" "xy", 19));
    dns::NameBuffer nb;
    std::size_t pos = 0;
    REQUIRE(dns::read_name(p.data(), p.size(), pos, nb, true) == dns::NameStatus::ok);
    CHECK(pos == 17);
    CHECK(nb.view() == std::string_view("\x03www\x07" "example\x03" "com\x00", 17));
    CHECK(nb.length == 17);
    CHECK(nb.labels == 3);
    CHECK(nb.label_offsets[0] == 0);
    CHECK(nb.label_offsets[1] == 4);
    CHECK(nb.label_offsets[2] == 12);
    CHECK(nb.suffix(1) == std::string_view("\x07" "example\x03" "com\x00", 13));
    CHECK(nb.suffix(3) == std::string_view("\x00", 1));

    pos = 0;
    REQUIRE(dns::read_name(p.data(), p.size(), pos, nb, false) == dns::NameStatus::ok);
    CHECK(nb.view() == std::string_view("\x03WwW\x07" "Example\x03" "COM\x00", 17));
  }

  TEST_CASE("case folding changes A-Z only, for every byte value at every position") {
    // Labels of every length up to 63 so that each way of folding (whole words,
    // overlapping last word, short names byte by byte) meets every byte value.
    for (unsigned length : {1u, 3u, 6u, 7u, 8u, 13u, 31u, 63u}) {
      for (unsigned first = 0; first < 256; first += length) {
        Bytes p;
        p.push_back(static_cast<uint8_t>(length));
        for (unsigned i = 0; i < length; ++i) p.push_back(static_cast<uint8_t>((first + i) & 0xFF));
        p.push_back(0);
        dns::NameBuffer nb;
        std::size_t pos = 0;
        REQUIRE(dns::read_name(p.data(), p.size(), pos, nb, true) == dns::NameStatus::ok);
        REQUIRE(nb.length == length + 2);
        for (unsigned i = 0; i < length + 2; ++i) {
          const uint8_t in = p[i];
          const uint8_t want = (in >= 'A' && in <= 'Z') ? static_cast<uint8_t>(in + 32) : in;
          CAPTURE(length);
          CAPTURE(i);
          CHECK(nb.data[i] == want);
        }
      }
    }
  }

  TEST_CASE("root name") {
    const uint8_t p[] = {0};
    dns::NameBuffer nb;
    std::size_t pos = 0;
    REQUIRE(dns::read_name(p, 1, pos, nb, true) == dns::NameStatus::ok);
    CHECK(pos == 1);
    CHECK(nb.length == 1);
    CHECK(nb.labels == 0);
  }

  TEST_CASE("follows a backward pointer; pos ends just after the pointer") {
    Bytes p;
    put_raw(p, std::string_view("\x07" "example\x03" "com\x00", 13));  // offset 0
    put_raw(p, {3, 'w', 'w', 'w', 0xC0, 0x00});                       // offset 13
    put_raw(p, {0xEE});
    dns::NameBuffer nb;
    std::size_t pos = 13;
    REQUIRE(dns::read_name(p.data(), p.size(), pos, nb, true) == dns::NameStatus::ok);
    CHECK(pos == 19);
    CHECK(nb.view() == std::string_view("\x03www\x07" "example\x03" "com\x00", 17));
    CHECK(nb.labels == 3);
    CHECK(nb.label_offsets[1] == 4);
  }

  TEST_CASE("malformed names") {
    dns::NameBuffer nb;
    auto status = [&](const Bytes& p, std::size_t start = 0) {
      std::size_t pos = start;
      return dns::read_name(p.data(), p.size(), pos, nb, true);
    };
    SUBCASE("empty input") { CHECK(status(Bytes{}) == dns::NameStatus::truncated); }
    SUBCASE("label runs past the end") { CHECK(status(Bytes{3, 'a', 'b'}) == dns::NameStatus::truncated); }
    SUBCASE("no root label") { CHECK(status(Bytes{1, 'a'}) == dns::NameStatus::truncated); }
    SUBCASE("pointer cut in half") { CHECK(status(Bytes{1, 'a', 0xC0}) == dns::NameStatus::truncated); }
    SUBCASE("label type 0x40") { CHECK(status(Bytes{0x41, 'a', 0}) == dns::NameStatus::bad_label); }
    SUBCASE("label type 0x80") { CHECK(status(Bytes{0x81, 'a', 0}) == dns::NameStatus::bad_label); }
    SUBCASE("pointer forward") { CHECK(status(Bytes{0xC0, 0x02, 0}) == dns::NameStatus::bad_pointer); }
    SUBCASE("pointer to itself") { CHECK(status(Bytes{0, 0xC0, 0x01}, 1) == dns::NameStatus::bad_pointer); }
    SUBCASE("two pointers pointing at each other") {
      // offset 0: -> 2 (forward), offset 2: -> 0. Starting at 2 goes back to 0, then forward.
      CHECK(status(Bytes{0xC0, 0x02, 0xC0, 0x00}, 2) == dns::NameStatus::bad_pointer);
    }
    SUBCASE("loop through a label is cut off") {
      // offset 0: "a", then a pointer back to 0: a.a.a.a... never ends.
      const auto s = status(Bytes{1, 'a', 0xC0, 0x00});
      CHECK(s != dns::NameStatus::ok);
      CHECK((s == dns::NameStatus::too_long || s == dns::NameStatus::bad_pointer));
    }
  }

  TEST_CASE("name length limit is 255 bytes including the root label") {
    dns::NameBuffer nb;
    std::string ok_name;
    for (int i = 0; i < 3; ++i) ok_name += '\x3f' + std::string(63, 'x');
    std::string too_long = ok_name;
    ok_name += '\x3d' + std::string(61, 'y');  // 3*64 + 62 + 1 = 255
    ok_name.push_back('\0');
    too_long += '\x3e' + std::string(62, 'y');  // 256
    too_long.push_back('\0');
    REQUIRE(ok_name.size() == 255);
    REQUIRE(too_long.size() == 256);
    std::size_t pos = 0;
    CHECK(dns::read_name(reinterpret_cast<const uint8_t*>(ok_name.data()), ok_name.size(), pos, nb, false) ==
          dns::NameStatus::ok);
    CHECK(nb.length == 255);
    pos = 0;
    CHECK(dns::read_name(reinterpret_cast<const uint8_t*>(too_long.data()), too_long.size(), pos, nb, false) ==
          dns::NameStatus::too_long);
  }

  TEST_CASE("label count: 127 labels fit, 128 do not") {
    dns::NameBuffer nb;
    const std::string n127 = many_labels(127), n128 = many_labels(128);
    std::size_t pos = 0;
    REQUIRE(dns::read_name(reinterpret_cast<const uint8_t*>(n127.data()), n127.size(), pos, nb, false) ==
            dns::NameStatus::ok);
    CHECK(nb.labels == 127);
    CHECK(nb.length == 255);
    CHECK(nb.label_offsets[126] == 252);
    pos = 0;
    CHECK(dns::read_name(reinterpret_cast<const uint8_t*>(n128.data()), n128.size(), pos, nb, false) ==
          dns::NameStatus::too_long);
  }

  TEST_CASE("a name made long through a pointer is too long") {
    // 200-byte name at 0, then a 60-byte label pointing at it: 261 bytes.
    Bytes p;
    for (int i = 0; i < 3; ++i) {
      put8(p, 63);
      put_raw(p, std::string(63, 'x'));
    }
    put8(p, 7);
    put_raw(p, "abcdefg");
    put8(p, 0);
    REQUIRE(p.size() == 201);
    const std::size_t start = p.size();
    put8(p, 60);
    put_raw(p, std::string(60, 'z'));
    put_raw(p, {0xC0, 0x00});
    dns::NameBuffer nb;
    std::size_t pos = start;
    CHECK(dns::read_name(p.data(), p.size(), pos, nb, false) == dns::NameStatus::too_long);
  }
}

TEST_SUITE("dns.parse_query") {
  TEST_CASE("a plain query") {
    dns::Query q;
    QuerySpec s{"WWW.Example.COM.", dns::type::AAAA};
    s.id = 0xABCD;
    const Bytes b = make_query(s);
    REQUIRE(parse(b, q) == QueryStatus::ok);
    CHECK(q.id == 0xABCD);
    CHECK(q.flags == dns::flag::RD);
    CHECK(q.opcode == 0);
    CHECK(q.qname.view() == wire_name("www.example.com."));  // lower-cased
    CHECK(q.qtype == dns::type::AAAA);
    CHECK(q.qclass == dns::klass::IN);
    CHECK(q.question_end == b.size());
    CHECK_FALSE(q.has_edns);
    CHECK_FALSE(q.has_ecs);
    CHECK_FALSE(q.nsid_requested);
  }

  TEST_CASE("short header is dropped") {
    for (std::size_t n : {0u, 1u, 11u}) {
      Bytes b = header(1, 0, 1);
      b.resize(n);
      CHECK(parse(b) == QueryStatus::drop);
    }
    CHECK(parse(header(1, 0, 0)) == QueryStatus::formerr);  // 12 bytes: a header, no question
  }

  TEST_CASE("responses (QR=1) are dropped, even well-formed ones") {
    QuerySpec s{"www.example.com."};
    s.other_flags = dns::flag::QR | dns::flag::AA;
    CHECK(parse(build_query(s)) == QueryStatus::drop);
    CHECK(parse(header(7, dns::flag::QR, 0)) == QueryStatus::drop);
  }

  TEST_CASE("QDCOUNT other than 1 is FORMERR without a question") {
    dns::Query q;
    SUBCASE("QDCOUNT 0") {
      CHECK(parse(header(0x1111, dns::flag::RD, 0), q) == QueryStatus::formerr);
      CHECK(q.question_end == 0);
      CHECK(q.id == 0x1111);
      CHECK(q.flags == dns::flag::RD);
    }
    SUBCASE("QDCOUNT 2") {
      Bytes b = header(0x2222, 0, 2);
      const Bytes q1 = question("a.example.", dns::type::A), q2 = question("b.example.", dns::type::A);
      b.insert(b.end(), q1.begin(), q1.end());
      b.insert(b.end(), q2.begin(), q2.end());
      CHECK(parse(b, q) == QueryStatus::formerr);
      CHECK(q.question_end == 0);
      CHECK(q.id == 0x2222);
    }
  }

  TEST_CASE("opcode other than QUERY is NOTIMP") {
    dns::Query q;
    SUBCASE("with a readable question (NOTIFY)") {
      QuerySpec s{"www.example.com."};
      s.opcode = 4;
      s.other_flags = dns::flag::AA;
      const Bytes b = build_query(s);
      CHECK(parse(b, q) == QueryStatus::notimp);
      CHECK(q.opcode == 4);
      CHECK(q.question_end == b.size());
      CHECK(q.qtype == dns::type::A);
    }
    SUBCASE("UPDATE with its sections is not looked into") {
      Bytes b = header(9, opcode_flags(5), 1, 1, 1, 0);  // counts that do not match the data
      const Bytes zq = question("example.com.", dns::type::SOA);
      b.insert(b.end(), zq.begin(), zq.end());
      CHECK(parse(b, q) == QueryStatus::notimp);
      CHECK(q.question_end == b.size());
    }
    SUBCASE("without a question (QDCOUNT 0)") {
      CHECK(parse(header(3, opcode_flags(2), 0), q) == QueryStatus::notimp);
      CHECK(q.opcode == 2);
      CHECK(q.question_end == 0);
    }
    SUBCASE("with QDCOUNT 2") {
      CHECK(parse(header(3, opcode_flags(15), 2), q) == QueryStatus::notimp);
      CHECK(q.opcode == 15);
      CHECK(q.question_end == 0);
    }
  }

  // The header promises one question but it cannot be read: the opcode alone
  // already says we do not implement the request, as for QDCOUNT 0 above.
  TEST_CASE("opcode other than QUERY with an unreadable question is NOTIMP too") {
    dns::Query q;
    const Bytes b = query_with_question_bytes({3, 'w', 'w'}, opcode_flags(2));
    CHECK(parse(b, q) == QueryStatus::notimp);
    CHECK(q.question_end == 0);
  }

  TEST_CASE("malformed question name is FORMERR without a question") {
    dns::Query q;
    auto check_formerr = [&](std::initializer_list<uint8_t> raw) {
      const Bytes b = query_with_question_bytes(raw);
      CAPTURE(hex(b));
      CHECK(parse(b, q) == QueryStatus::formerr);
      CHECK(q.question_end == 0);
      CHECK(q.id == 0xBEEF);
    };
    SUBCASE("truncated name") { check_formerr({3, 'w', 'w'}); }
    SUBCASE("name without root label") { check_formerr({3, 'w', 'w', 'w'}); }
    SUBCASE("label type 0x40") { check_formerr({0x43, 'w', 'w', 'w', 0, 0, 1, 0, 1}); }
    SUBCASE("label type 0x80") { check_formerr({0x83, 'w', 'w', 'w', 0, 0, 1, 0, 1}); }
    SUBCASE("pointer forward") { check_formerr({0xC0, 0x10, 0, 1, 0, 1, 0, 0}); }
    SUBCASE("pointer to itself") { check_formerr({0xC0, 0x0C, 0, 1, 0, 1}); }
    SUBCASE("pointer loop through a label") { check_formerr({1, 'a', 0xC0, 0x0C, 0, 1, 0, 1}); }
  }

  TEST_CASE("question name length and label count limits") {
    auto query_for_wire = [](const std::string& wire) {
      Bytes b = header(1, 0, 1);
      put_raw(b, wire);
      put16(b, dns::type::A);
      put16(b, dns::klass::IN);
      return b;
    };
    std::string n255, n256;
    for (int i = 0; i < 3; ++i) n255 += '\x3f' + std::string(63, 'x');
    n256 = n255 + '\x3e' + std::string(62, 'y') + '\0';
    n255 += '\x3d' + std::string(61, 'y') + '\0';
    dns::Query q;
    CHECK(parse(query_for_wire(n255), q) == QueryStatus::ok);
    CHECK(q.qname.length == 255);
    CHECK(parse(query_for_wire(n256), q) == QueryStatus::formerr);
    CHECK(parse(query_for_wire(many_labels(127)), q) == QueryStatus::ok);
    CHECK(q.qname.labels == 127);
    CHECK(parse(query_for_wire(many_labels(128)), q) == QueryStatus::formerr);
    // A label longer than 63 bytes is not a label at all (0x40 bits set).
    CHECK(parse(query_for_wire('\x40' + std::string(64, 'z') + '\0'), q) == QueryStatus::formerr);
  }

  TEST_CASE("truncated question type/class is FORMERR without a question") {
    dns::Query q;
    for (std::size_t cut : {0u, 1u, 2u, 3u}) {
      Bytes b = make_query("www.example.com.", dns::type::A);
      b.resize(b.size() - 4 + cut);
      CAPTURE(cut);
      CHECK(parse(b, q) == QueryStatus::formerr);
      CHECK(q.question_end == 0);
    }
  }

  TEST_CASE("trailing bytes are FORMERR, with the question") {
    dns::Query q;
    Bytes b = make_query("www.example.com.", dns::type::A);
    const std::size_t qend = b.size();
    b.push_back(0);
    CHECK(parse(b, q) == QueryStatus::formerr);
    CHECK(q.question_end == qend);
    // Trailing bytes after an OPT record too.
    Bytes e = make_query("www.example.com.", dns::type::A, true);
    put_raw(e, {0xDE, 0xAD});
    CHECK(parse(e, q) == QueryStatus::formerr);
  }

  TEST_CASE("records in the answer and authority sections are skipped") {
    Bytes b = header(5, 0, 1, 1, 1, 0);
    const Bytes q1 = question("www.example.com.", dns::type::A);
    b.insert(b.end(), q1.begin(), q1.end());
    // answer: compressed owner pointing at the question, an A record
    put_raw(b, {0xC0, 0x0C});
    put16(b, dns::type::A);
    put16(b, dns::klass::IN);
    put32(b, 60);
    put16(b, 4);
    put_raw(b, {192, 0, 2, 1});
    // authority: an SOA-sized blob
    put_name(b, "example.com.");
    put16(b, dns::type::SOA);
    put16(b, dns::klass::IN);
    put32(b, 60);
    put16(b, 3);
    put_raw(b, {1, 2, 3});
    dns::Query q;
    CHECK(parse(b, q) == QueryStatus::ok);
    // ...but a record running past the end is FORMERR
    b.pop_back();
    CHECK(parse(b, q) == QueryStatus::formerr);
    // ...and so is a count promising more records than there are
    Bytes c = make_query("www.example.com.", dns::type::A);
    c[7] = 1;  // ANCOUNT 1, no record
    CHECK(parse(c, q) == QueryStatus::formerr);
  }

  TEST_CASE("additional records other than OPT are skipped (TSIG-looking RR)") {
    Bytes tsig;
    put_name(tsig, "key.example.");
    put16(tsig, 250);  // TSIG
    put16(tsig, dns::klass::ANY);
    put32(tsig, 0);
    const std::string rdata = wire_name("hmac-sha256.") + std::string(16, '\x01');
    put16(tsig, static_cast<uint16_t>(rdata.size()));
    put_raw(tsig, rdata);
    dns::Query q;
    CHECK(parse(query_with_additional(1, tsig), q) == QueryStatus::ok);
    CHECK_FALSE(q.has_edns);
    // OPT first, then TSIG (its usual place: last)
    CHECK(parse(query_with_additional(2, concat({opt_rr(4096, edns_ttl(0, 0, true)), tsig})), q) == QueryStatus::ok);
    CHECK(q.has_edns);
    CHECK(q.edns_do);
    CHECK(q.edns_payload == 4096);
    // a truncated TSIG is still FORMERR
    Bytes cut = tsig;
    cut.resize(cut.size() - 1);
    CHECK(parse(query_with_additional(1, cut), q) == QueryStatus::formerr);
  }

  TEST_CASE("EDNS fields: payload, version, DO bit") {
    dns::Query q;
    REQUIRE(parse(query_with_options({}, edns_ttl(0, 0, false), 4096), q) == QueryStatus::ok);
    CHECK(q.has_edns);
    CHECK(q.edns_payload == 4096);
    CHECK(q.edns_version == 0);
    CHECK_FALSE(q.edns_do);

    REQUIRE(parse(query_with_options({}, edns_ttl(0, 0, true), 512), q) == QueryStatus::ok);
    CHECK(q.edns_do);
    CHECK(q.edns_payload == 512);

    // A higher version parses (the responder answers BADVERS).
    REQUIRE(parse(query_with_options({}, edns_ttl(0, 1, true)), q) == QueryStatus::ok);
    CHECK(q.edns_version == 1);
    CHECK(q.edns_do);
    REQUIRE(parse(query_with_options({}, edns_ttl(0, 255, false)), q) == QueryStatus::ok);
    CHECK(q.edns_version == 255);

    // Reusing a Query for a plain query clears the EDNS state.
    REQUIRE(parse(make_query("www.example.com.", dns::type::A), q) == QueryStatus::ok);
    CHECK_FALSE(q.has_edns);
    CHECK_FALSE(q.edns_do);
    CHECK(q.edns_version == 0);
  }

  TEST_CASE("NSID request flag") {
    dns::Query q;
    REQUIRE(parse(query_with_options(edns_option(dns::edns::NSID, "")), q) == QueryStatus::ok);
    CHECK(q.nsid_requested);
    REQUIRE(parse(query_with_options({}), q) == QueryStatus::ok);
    CHECK_FALSE(q.nsid_requested);
  }

  TEST_CASE("unknown EDNS options are ignored") {
    dns::Query q;
    const Bytes opts = concat({edns_option(65001, "hello"), edns_option(10 /*COOKIE*/, std::string(8, 'c')),
                               edns_option(dns::edns::NSID, "")});
    REQUIRE(parse(query_with_options(opts), q) == QueryStatus::ok);
    CHECK(q.nsid_requested);
    CHECK_FALSE(q.has_ecs);
  }

  TEST_CASE("malformed OPT records are FORMERR") {
    dns::Query q;
    SUBCASE("two OPT records") {
      CHECK(parse(query_with_additional(2, concat({opt_rr(), opt_rr()})), q) == QueryStatus::formerr);
    }
    SUBCASE("OPT owner is not the root") {
      Bytes o;
      put_name(o, "example.");
      put16(o, dns::type::OPT);
      put16(o, 1232);
      put32(o, 0);
      put16(o, 0);
      CHECK(parse(query_with_additional(1, o), q) == QueryStatus::formerr);
    }
    SUBCASE("OPT fixed fields truncated") {
      Bytes o = opt_rr();
      o.resize(6);
      CHECK(parse(query_with_additional(1, o), q) == QueryStatus::formerr);
    }
    SUBCASE("OPT rdata shorter than RDLENGTH") {
      Bytes o = opt_rr(1232, 0, edns_option(65001, "abcd"));
      o.resize(o.size() - 2);
      CHECK(parse(query_with_additional(1, o), q) == QueryStatus::formerr);
    }
    SUBCASE("option length runs past the end of the rdata") {
      Bytes opt_data;
      put16(opt_data, 65001);
      put16(opt_data, 8);
      put_raw(opt_data, "abcd");
      CHECK(parse(query_with_options(opt_data), q) == QueryStatus::formerr);
    }
    SUBCASE("option header cut short") {
      CHECK(parse(query_with_options(Bytes{0, 3, 0}), q) == QueryStatus::formerr);
    }
    SUBCASE("ARCOUNT promises an OPT that is not there") {
      CHECK(parse(query_with_additional(1, {}), q) == QueryStatus::formerr);
    }
  }

  TEST_CASE("Client Subnet: valid options") {
    dns::Query q;
    SUBCASE("IPv4 /24") {
      REQUIRE(parse(query_with_options(ecs_option(1, 24, 0, {198, 51, 100})), q) == QueryStatus::ok);
      CHECK(q.has_ecs);
      CHECK(q.ecs.family == 1);
      CHECK(q.ecs.source_prefix == 24);
      CHECK(q.ecs.scope_prefix == 0);
      CHECK(q.ecs.address[0] == 198);
      CHECK(q.ecs.address[1] == 51);
      CHECK(q.ecs.address[2] == 100);
      CHECK(q.ecs.address[3] == 0);
    }
    SUBCASE("IPv4 /23 with the last bit clear, and /32") {
      REQUIRE(parse(query_with_options(ecs_option(1, 23, 0, {198, 51, 100})), q) == QueryStatus::ok);
      CHECK(q.ecs.source_prefix == 23);
      REQUIRE(parse(query_with_options(ecs_option(1, 32, 0, {198, 51, 100, 7})), q) == QueryStatus::ok);
      CHECK(q.ecs.address[3] == 7);
    }
    SUBCASE("IPv4 /0 has no address bytes") {
      REQUIRE(parse(query_with_options(ecs_option(1, 0, 0, {})), q) == QueryStatus::ok);
      CHECK(q.has_ecs);
      CHECK(q.ecs.source_prefix == 0);
    }
    SUBCASE("IPv6 /56 and /128") {
      REQUIRE(parse(query_with_options(ecs_option(2, 56, 0, {0x20, 0x01, 0x0d, 0xb8, 0, 1, 2})), q) ==
              QueryStatus::ok);
      CHECK(q.ecs.family == 2);
      CHECK(q.ecs.source_prefix == 56);
      CHECK(q.ecs.address[6] == 2);
      CHECK(q.ecs.address[7] == 0);
      REQUIRE(parse(query_with_options(ecs_option(2, 128, 0, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                              0, 1})),
                    q) == QueryStatus::ok);
      CHECK(q.ecs.address[15] == 1);
    }
    SUBCASE("ECS together with NSID and an unknown option") {
      const Bytes opts = concat({edns_option(dns::edns::NSID, ""), ecs_option(1, 16, 0, {10, 1}),
                                 edns_option(65500, "x")});
      REQUIRE(parse(query_with_options(opts), q) == QueryStatus::ok);
      CHECK(q.has_ecs);
      CHECK(q.nsid_requested);
    }
  }

  TEST_CASE("Client Subnet: invalid options are FORMERR (RFC 7871 7.1.1)") {
    dns::Query q;
    auto formerr = [&](const Bytes& opts) {
      CAPTURE(hex(opts));
      CHECK(parse(query_with_options(opts), q) == QueryStatus::formerr);
    };
    SUBCASE("family 3") { formerr(ecs_option(3, 8, 0, {10})); }
    SUBCASE("family 0") { formerr(ecs_option(0, 0, 0, {})); }
    SUBCASE("source prefix 33 for IPv4") { formerr(ecs_option(1, 33, 0, {1, 2, 3, 4, 5})); }
    SUBCASE("source prefix 129 for IPv6") {
      formerr(ecs_option(2, 129, 0, {0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    }
    SUBCASE("address longer than the prefix needs") { formerr(ecs_option(1, 24, 0, {198, 51, 100, 0})); }
    SUBCASE("address shorter than the prefix needs") { formerr(ecs_option(1, 24, 0, {198, 51})); }
    SUBCASE("IPv6 address length mismatch") { formerr(ecs_option(2, 48, 0, {0x20, 1, 0xd, 0xb8})); }
    SUBCASE("bits set beyond the source prefix") { formerr(ecs_option(1, 23, 0, {198, 51, 101})); }
    SUBCASE("bits set beyond an IPv6 prefix") { formerr(ecs_option(2, 4, 0, {0x28})); }
    SUBCASE("non-zero scope prefix in a query") { formerr(ecs_option(1, 24, 24, {198, 51, 100})); }
    SUBCASE("option shorter than its fixed part") { formerr(edns_option(dns::edns::CLIENT_SUBNET, Bytes{0, 1, 24})); }
    SUBCASE("a second ECS option") {
      formerr(concat({ecs_option(1, 24, 0, {198, 51, 100}), ecs_option(1, 24, 0, {198, 51, 100})}));
    }
  }

  TEST_CASE("compressed names in later records may point at the question") {
    Bytes tsig;
    put_raw(tsig, {0xC0, 0x0C});  // owner = the question name
    put16(tsig, 250);
    put16(tsig, dns::klass::ANY);
    put32(tsig, 0);
    put16(tsig, 0);
    CHECK(parse(query_with_additional(1, tsig)) == QueryStatus::ok);
    // ...but not forward, past themselves
    Bytes fwd;
    put_raw(fwd, {0xC0, 0x40});
    put16(fwd, 250);
    put16(fwd, dns::klass::ANY);
    put32(fwd, 0);
    put16(fwd, 0);
    CHECK(parse(query_with_additional(1, fwd)) == QueryStatus::formerr);
  }

  // Nothing precedes the question but the 12-byte header, which holds no name:
  // a compression pointer in the question name can only point into the header.
  // MessageWriter::start() copies the question verbatim assuming "a question's
  // name cannot use pointers", so such a question must not be accepted.
  TEST_CASE("a question name pointing into the header is FORMERR") {
    dns::Query q;
    // Pointer to offset 4: QDCOUNT's high byte 0x00 reads as the root name.
    CHECK(parse(query_with_question_bytes({0xC0, 0x04, 0, 1, 0, 1}), q) == QueryStatus::formerr);
    // Pointer to offset 0 where the ID spells the label "x" and the flags' high byte ends it.
    Bytes b = header(0x0178, 0x0000, 1);
    put_raw(b, {0xC0, 0x00, 0, 1, 0, 1});
    CHECK(parse(b, q) == QueryStatus::formerr);
  }
}
