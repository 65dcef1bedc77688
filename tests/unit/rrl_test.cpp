// Response rate limiting: the bucket arithmetic (BIND's credit and debt) with an
// injected clock, slip ratios, the keys (prefix, qname/qtype, zone, errors), exempt
// sources and log_only, the bounded table, the slipped reply's wire form, and
// meridian.json's dns.rrl with errors at their key.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "config/server_config.hpp"
#include "rrl/rrl.hpp"
#include "unit/support/dns_wire.hpp"
#include "unit/support/zone_fixture.hpp"

using namespace meridian;
using namespace meridian::test;
using rrl::Action;
using rrl::Category;

namespace {

constexpr uint8_t kKey[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                               17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

util::IpAddress ip(const std::string& text) { return *util::IpAddress::parse(text); }

rrl::Policy policy(uint32_t rate, uint32_t window, uint32_t slip) {
  rrl::Policy p;
  for (auto& r : p.rate) r = rate;
  p.window = window;
  p.slip = slip;
  p.table_size = 1024;
  return p;
}

// A limiter fitted to the policy, and the wire names the tests key on.
struct Bench {
  explicit Bench(const rrl::Policy& p) : policy(p), limiter(kKey) { limiter.fit(policy); }
  Action answer(const std::string& client, const std::string& qname, uint16_t qtype, uint32_t now) {
    names.push_back(dns_name(qname));
    return limiter.account(policy, ip(client), {Category::answer, names.back(), qtype}, now);
  }
  // How many of n answers at `now` were sent.
  int sent(const std::string& client, const std::string& qname, int n, uint32_t now) {
    int count = 0;
    for (int i = 0; i < n; ++i) count += answer(client, qname, 1, now) == Action::send;
    return count;
  }
  static std::string dns_name(const std::string& text) {
    const Bytes wire = encode_name(text);
    return std::string(wire.begin(), wire.end());
  }
  rrl::Policy policy;
  rrl::Limiter limiter;
  std::vector<std::string> names;
};

}  // namespace

TEST_SUITE("rrl") {
  TEST_CASE("within the rate every response is sent; a second's burst beyond it is not") {
    Bench b(policy(5, 3, 0));
    for (uint32_t t = 1000; t < 1010; ++t) CHECK(b.sent("192.0.2.1", "www.example.com", 5, t) == 5);
    // Credit never exceeds one second's worth, however long the client was quiet.
    CHECK(b.sent("192.0.2.1", "www.example.com", 12, 1020) == 5);
  }

  TEST_CASE("a flooding prefix stays limited: debt down to -window*rate, as BIND") {
    Bench b(policy(5, 3, 0));
    CHECK(b.sent("192.0.2.1", "www.example.com", 100, 2000) == 5);  // balance floors at -15
    // Each second credits 5, each response debits 1: -11 at 2001, -7 at 2002.
    CHECK(b.sent("192.0.2.1", "www.example.com", 1, 2001) == 0);
    CHECK(b.sent("192.0.2.1", "www.example.com", 1, 2002) == 0);
    // Two seconds later: -7 + 10 = 3 responses go out.
    CHECK(b.sent("192.0.2.1", "www.example.com", 10, 2004) == 3);
    // Quiet for longer than the window: a full second's credit again.
    CHECK(b.sent("192.0.2.1", "www.example.com", 10, 2010) == 5);
    // A sustained flood of 20/s gets nothing after its first second.
    Bench flood(policy(5, 15, 0));
    int total = 0;
    for (uint32_t t = 0; t < 10; ++t) total += flood.sent("192.0.2.9", "www.example.com", 20, 100 + t);
    CHECK(total == 5);
  }

  TEST_CASE("slip: every Nth limited response; 1 slips all, 0 none") {
    for (const uint32_t slip : {0u, 1u, 2u, 3u}) {
      CAPTURE(slip);
      Bench b(policy(2, 15, slip));
      int sent = 0, slipped = 0, dropped = 0;
      for (int i = 0; i < 62; ++i) {
        const Action a = b.answer("198.51.100.7", "www.example.com", 1, 50);
        sent += a == Action::send;
        slipped += a == Action::slip;
        dropped += a == Action::drop;
      }
      CHECK(sent == 2);
      CHECK(slipped == (slip == 0 ? 0 : 60 / static_cast<int>(slip)));
      CHECK(dropped == 60 - slipped);
    }
    // The order for slip 2: drop, slip, drop, slip.
    Bench b(policy(1, 15, 2));
    CHECK(b.answer("198.51.100.7", "x.example", 1, 7) == Action::send);
    CHECK(b.answer("198.51.100.7", "x.example", 1, 7) == Action::drop);
    CHECK(b.answer("198.51.100.7", "x.example", 1, 7) == Action::slip);
    CHECK(b.answer("198.51.100.7", "x.example", 1, 7) == Action::drop);
    CHECK(b.answer("198.51.100.7", "x.example", 1, 7) == Action::slip);
  }

  TEST_CASE("buckets: one per client prefix, qname and qtype") {
    Bench b(policy(3, 15, 0));
    CHECK(b.sent("192.0.2.1", "www.example.com", 10, 10) == 3);
    // The same /24 shares the bucket; another /24 has its own.
    CHECK(b.sent("192.0.2.200", "www.example.com", 1, 10) == 0);
    CHECK(b.sent("192.0.3.1", "www.example.com", 10, 10) == 3);
    // Another name, or the same name with another type, has its own.
    CHECK(b.sent("192.0.2.1", "mail.example.com", 10, 10) == 3);
    CHECK(b.answer("192.0.2.1", "www.example.com", 28, 10) == Action::send);
    // IPv6: /56 by default.
    CHECK(b.sent("2001:db8:0:1::1", "www.example.com", 10, 10) == 3);
    CHECK(b.sent("2001:db8:0:ff::2", "www.example.com", 1, 10) == 0);
    CHECK(b.sent("2001:db8:0:100::1", "www.example.com", 10, 10) == 3);
    // Names compare without case, but only A-Z fold: '@' is not '`', \192 is not \224.
    CHECK(b.sent("192.0.2.1", "CaSe.Example.COM", 3, 10) == 3);
    CHECK(b.sent("192.0.2.1", "case.example.com", 1, 10) == 0);
    CHECK(b.sent("192.0.2.1", "a@b.example.com", 3, 10) == 3);
    CHECK(b.sent("192.0.2.1", "a`b.example.com", 3, 10) == 3);
    CHECK(b.sent("192.0.2.1", "\\192x.example.com", 3, 10) == 3);
    CHECK(b.sent("192.0.2.1", "\\224x.example.com", 3, 10) == 3);
    // A /32 prefix separates neighbours.
    rrl::Policy narrow = policy(3, 15, 0);
    narrow.ipv4_prefix = 32;
    Bench n(narrow);
    CHECK(n.sent("127.0.0.2", "www.example.com", 10, 10) == 3);
    CHECK(n.sent("127.0.0.3", "www.example.com", 10, 10) == 3);
  }

  TEST_CASE("categories have their own rates; rate 0 does not limit") {
    rrl::Policy p = policy(3, 15, 0);
    p.rate[static_cast<unsigned>(Category::error)] = 0;
    p.rate[static_cast<unsigned>(Category::nxdomain)] = 1;
    rrl::Limiter limiter(kKey);
    limiter.fit(p);
    const std::string zone = Bench::dns_name("example.com");
    int errors = 0, nxdomain = 0, nodata = 0;
    for (int i = 0; i < 10; ++i) {
      errors += limiter.account(p, ip("192.0.2.1"), {Category::error, {}, 0}, 5) == Action::send;
      nxdomain += limiter.account(p, ip("192.0.2.1"), {Category::nxdomain, zone, 0}, 5) == Action::send;
      nodata += limiter.account(p, ip("192.0.2.1"), {Category::nodata, zone, 0}, 5) == Action::send;
    }
    CHECK(errors == 10);
    CHECK(nxdomain == 1);
    CHECK(nodata == 3);
  }

  TEST_CASE("exempt sources are never limited; log_only says so but sends") {
    rrl::Policy p = policy(2, 15, 1);
    std::string error;
    p.exempt.push_back(*util::parse_network("203.0.113.0/24", error));
    Bench b(p);
    CHECK(b.sent("203.0.113.9", "www.example.com", 50, 1) == 50);
    CHECK(b.sent("203.0.114.9", "www.example.com", 50, 1) == 2);
    CHECK(b.sent("2001:db8::1", "www.example.com", 50, 1) == 2);  // another family is not in it
    p.log_only = true;
    Bench logging(p);
    int sent = 0, noted = 0;
    for (int i = 0; i < 50; ++i) {
      const Action a = logging.answer("192.0.2.1", "www.example.com", 1, 1);
      sent += a == Action::send;
      noted += a == Action::log_only;
    }
    CHECK(sent == 2);
    CHECK(noted == 48);
  }

  TEST_CASE("the table is bounded: new keys take the longest idle entry of their set") {
    Bench b(policy(1, 15, 0));
    CHECK(b.limiter.capacity() == 1024);
    for (int i = 0; i < 20000; ++i) b.answer("192.0.2.1", "n" + std::to_string(i) + ".example.com", 1, 100);
    CHECK(b.limiter.capacity() == 1024);
    // A limited key used now survives three newer keys (the set has four ways).
    CHECK(b.sent("192.0.2.77", "hot.example.com", 3, 200) == 1);
    for (int i = 0; i < 3; ++i) b.answer("192.0.2.77", "new" + std::to_string(i) + ".example.com", 1, 201);
    CHECK(b.sent("192.0.2.77", "hot.example.com", 1, 201) == 0);
    b.names.clear();
    // Resizing follows the policy; release frees.
    rrl::Policy bigger = b.policy;
    bigger.table_size = 4096;
    b.limiter.fit(bigger);
    CHECK(b.limiter.capacity() == 4096);
    b.limiter.release();
    CHECK(b.limiter.capacity() == 0);
  }

  TEST_CASE("may_log: at most one line a second, counting the rest") {
    rrl::Limiter limiter(kKey);
    uint64_t suppressed = 99;
    CHECK(limiter.may_log(10, suppressed));
    CHECK(suppressed == 0);
    CHECK_FALSE(limiter.may_log(10, suppressed));
    CHECK_FALSE(limiter.may_log(10, suppressed));
    CHECK(limiter.may_log(11, suppressed));
    CHECK(suppressed == 2);
  }

  TEST_CASE("slip_response: header and question kept, sections emptied, TC=1; BADCOOKIE with a cookie") {
    Responder r(zone_with({"\"www\": {\"A\": [\"192.0.2.80\", \"192.0.2.81\"]}"}));
    // Without EDNS: TC=1, the question, nothing else.
    Answer plain = r.ask("WwW.example.com", dns::type::A);
    REQUIRE(plain.msg.answer.size() == 2);
    Bytes wire = plain.wire;
    bool badcookie = true;
    wire.resize(rrl::slip_response(wire.data(), wire.size(), true, &badcookie));
    CHECK_FALSE(badcookie);
    Message m = parse_message(wire);
    REQUIRE(m.ok);
    CHECK(m.tc);
    CHECK(m.aa);
    CHECK(m.rcode == 0);
    CHECK(m.id == plain.msg.id);
    REQUIRE(m.question.size() == 1);
    CHECK(m.question[0].owner == "WwW.example.com.");
    CHECK(m.ancount + m.nscount + m.arcount == 0);
    CHECK_FALSE(m.has_opt);

    // With EDNS: the OPT stays.
    Answer edns = r.ask(make_query("www.example.com", dns::type::A, true));
    REQUIRE(edns.msg.has_opt);
    wire = edns.wire;
    wire.resize(rrl::slip_response(wire.data(), wire.size(), false));
    m = parse_message(wire);
    REQUIRE(m.ok);
    CHECK(m.tc);
    CHECK(m.has_opt);
    CHECK(m.answer.empty());

    // A cookie client: BADCOOKIE (23) with its cookie and our server cookie, no TC.
    r.snapshot().cookies.enabled = true;
    r.snapshot().cookies.secrets.current.bytes[0] = 7;
    QuerySpec q("www.example.com", dns::type::A);
    q.edns = Edns{};
    q.edns->options.push_back({10, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8)});
    Answer with_cookie = r.ask(build_query(q));
    REQUIRE(with_cookie.msg.answer.size() == 2);
    CHECK(with_cookie.info.cookie == cookies::CookieState::client_only);
    wire = with_cookie.wire;
    wire.resize(rrl::slip_response(wire.data(), wire.size(), true, &badcookie));
    CHECK(badcookie);
    m = parse_message(wire);
    REQUIRE(m.ok);
    CHECK(m.rcode == 23);
    CHECK_FALSE(m.tc);
    CHECK(m.answer.empty());
    REQUIRE(m.option(10).has_value());
    CHECK(m.option(10)->size() == 24);
    CHECK(m.option(10)->substr(0, 8) == std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
    // Asked for TC only, it stays TC.
    wire = with_cookie.wire;
    wire.resize(rrl::slip_response(wire.data(), wire.size(), false));
    m = parse_message(wire);
    CHECK(m.tc);
    CHECK(m.rcode == 0);
    // A message that does not parse is not rewritten.
    Bytes junk{0, 1, 0x84, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 'a'};
    CHECK(rrl::slip_response(junk.data(), junk.size(), false) == 0);
  }

  TEST_CASE("limit_response: answers keyed by the qname in any case, NXDOMAIN by the zone") {
    Responder r(zone_with({"\"www\": {\"A\": \"192.0.2.80\"}"}));
    const rrl::Policy p = policy(2, 15, 1);
    rrl::Limiter limiter(kKey);
    limiter.fit(p);
    const util::IpAddress client = ip("192.0.2.1");
    auto run = [&](const std::string& name, uint16_t qtype, rrl::Outcome& out) {
      Answer a = r.ask(name, qtype);
      rrl::ResponseFacts facts;
      facts.rcode = a.info.rcode;
      if (a.info.zone) facts.zone = a.info.zone->origin();
      out = rrl::limit_response(limiter, p, client, a.wire.data(), a.wire.size(), facts, 30);
      a.wire.resize(out.length);
      return a.wire;
    };
    rrl::Outcome out;
    run("www.example.com", dns::type::A, out);
    CHECK(out.action == Action::send);
    run("WWW.Example.COM", dns::type::A, out);
    CHECK(out.action == Action::send);
    const Bytes slipped = run("www.EXAMPLE.com", dns::type::A, out);
    CHECK(out.action == Action::slip);
    CHECK(parse_message(slipped).tc);
    CHECK(run("ns1.example.com", dns::type::A, out).size() > 0);
    CHECK(out.action == Action::send);
    // Different names that do not exist share the zone's bucket.
    run("a.example.com", dns::type::A, out);
    CHECK(out.action == Action::send);
    run("b.example.com", dns::type::TXT, out);
    CHECK(out.action == Action::send);
    run("c.example.com", dns::type::A, out);
    CHECK(out.action == Action::slip);
    // NODATA has a bucket of its own (by zone), errors one per prefix.
    run("www.example.com", dns::type::TXT, out);
    CHECK(out.action == Action::send);
    for (int i = 0; i < 2; ++i) {
      run("outside.example.org", dns::type::A, out);  // REFUSED
      CHECK(out.action == Action::send);
    }
    run("other.example.net", dns::type::A, out);
    CHECK(out.action == Action::slip);
  }

  TEST_CASE("dns.rrl in meridian.json: defaults, every key, errors at their key") {
    auto read = [](const std::string& rrl, config::Diagnostics& d) {
      const auto source = config::JsonSource::parse(
          "{\"dns\": {\"listen\": \"127.0.0.1:53\", " + rrl + "}, \"zones\": \"z\"}", "/etc/meridian.json");
      return config::read_server_config(source, d);
    };
    config::Diagnostics none;
    CHECK_FALSE(read("\"nsid\": \"x\"", none).dns.rrl.has_value());
    config::Diagnostics d;
    const auto defaults = read("\"rrl\": {}", d);
    CHECK(d.items().empty());
    REQUIRE(defaults.dns.rrl.has_value());
    CHECK(defaults.dns.rrl->responses_per_second == 20);
    CHECK(defaults.dns.rrl->window == 15);
    CHECK(defaults.dns.rrl->slip == 2);
    CHECK(defaults.dns.rrl->ipv4_prefix == 24);
    CHECK(defaults.dns.rrl->ipv6_prefix == 56);
    const auto set = read(
        "\"rrl\": {\"responses_per_second\": 7, \"errors_per_second\": 3, \"window\": 5, \"slip\": 0, "
        "\"ipv4_prefix\": 32, \"ipv6_prefix\": 64, \"exempt\": [\"127.0.0.0/8\", \"::1/128\"], \"log_only\": true, "
        "\"table_size\": 3000}",
        d);
    CHECK(d.items().empty());
    REQUIRE(set.dns.rrl.has_value());
    const auto policy = rrl::make_policy(*set.dns.rrl);
    CHECK(policy->rate[static_cast<unsigned>(Category::answer)] == 7);
    CHECK(policy->rate[static_cast<unsigned>(Category::nxdomain)] == 7);  // follows responses_per_second
    CHECK(policy->rate[static_cast<unsigned>(Category::error)] == 3);
    CHECK(policy->window == 5);
    CHECK(policy->slip == 0);
    CHECK(policy->ipv4_prefix == 32);
    CHECK(policy->exempt.size() == 2);
    CHECK(policy->exempts(ip("127.1.2.3")));
    CHECK(policy->log_only);
    CHECK(policy->table_size == 4096);

    config::Diagnostics bad;
    read("\"rrl\": {\"window\": 0, \"slip\": -1, \"ipv4_prefix\": 33, \"exempt\": [\"10.0.0.0/8\", \"nope\"], \"rate\": 1}",
         bad);
    std::string all;
    for (const auto& e : bad.items()) all += std::to_string(e.line) + ":" + std::to_string(e.column) + ": " + e.message + "\n";
    INFO(all);
    CHECK(all.find("1:54: \"window\" must be an integer from 1 to 3600\n") != std::string::npos);
    CHECK(all.find("\"slip\" must be an integer from 0 to 100") != std::string::npos);
    CHECK(all.find("\"ipv4_prefix\" must be an integer from 1 to 32") != std::string::npos);
    CHECK(all.find("an exempt source is a network such as 192.0.2.0/24") != std::string::npos);
    CHECK(all.find("unknown key \"rate\"") != std::string::npos);
    config::Diagnostics not_object;
    read("\"rrl\": true", not_object);
    REQUIRE(not_object.items().size() == 1);
    CHECK(not_object.items()[0].message.find("\"rrl\" must be an object") == 0);
  }
}
