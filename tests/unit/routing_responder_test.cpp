// Dynamic names through query::answer_query, on a state loaded the way the
// server loads it (runtime::load_state from files in a temp dir): the ECS option
// in the reply and its scope, no ECS in -> no ECS out, ECS FORMERR cases, ECS
// switched off, failover TTL from a health file, NODATA when fail_open is false,
// CNAME to a dynamic name, and `_explain.NAME TXT` with its ACL.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "query/responder.hpp"
#include "support/dns_message.hpp"
#include "unit/support/temp_dir.hpp"
#include "runtime/state_loader.hpp"
#include "runtime/zone_loading.hpp"

using namespace meridian;

namespace {

using Bytes = std::vector<uint8_t>;
const std::string kSrc = MERIDIAN_SOURCE_DIR;

using TempDir = meridian::test::UnitTempDir;

const char* const kZone = R"({
  "origin": "example.com.", "ttl": 3600,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900,
          "expire": 1209600, "minimum": 300},
  "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"},
              "app": {"service": "web"}, "www": {"CNAME": "app"},
              "blue": {"service": "blue"}, "strict": {"service": "strict"}}
})";

std::string config(const std::string& dns_extra) {
  return R"({
  "dns": {"listen": ["127.0.0.1:0"])" + dns_extra + R"(},
  "zones": "zones/", "health": "health/",
  "geoip": {"city": ")" + kSrc + R"(/tests/data/geoip/GeoIP2-City-Test.mmdb"},
  "services": {
    "web": {"policy": "geo", "ttl": 300, "failover_ttl": 30,
            "geo": {"EU": ["eu", "us"], "country:US/WA": ["usw", "us"], "net:81.2.69.160/28": ["usw"],
                    "default": ["us", "eu"]},
            "regions": {"eu": {"endpoints": ["192.0.2.11", "2001:db8::11"]},
                        "us": {"endpoints": ["192.0.2.21", "2001:db8::21"]},
                        "usw": {"endpoints": ["192.0.2.31", "2001:db8::31"]}}},
    "blue": {"policy": "weighted", "ttl": 60,
             "regions": {"a": {"weight": 1, "endpoints": ["192.0.2.41"]}, "b": {"weight": 1, "endpoints": ["192.0.2.42"]}}},
    "strict": {"policy": "failover", "ttl": 60, "failover_ttl": 10, "fail_open": false,
               "regions": {"p": {"endpoints": ["192.0.2.51"]}}}
  }
})";
}

struct Loaded {
  TempDir dir;
  std::optional<runtime::LoadedState> state;
};

std::unique_ptr<Loaded> load(const std::string& dns_extra, const std::string& health_file = "") {
  auto l = std::make_unique<Loaded>();
  l->dir.write("zones/example.com.json", kZone);
  l->dir.write("health/.keep.txt", "");
  if (!health_file.empty()) l->dir.write("health/ops.json", health_file);
  const std::string path = l->dir.write("meridian.json", config(dns_extra));
  config::Diagnostics d;
  l->state = runtime::load_state(path, d);
  INFO(d.to_string());
  REQUIRE(l->state);
  REQUIRE(runtime::count_zone_failures(*l->state->zone_reports) == 0);
  return l;
}

void put16(Bytes& b, unsigned v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

struct Ecs {
  uint16_t family;
  uint8_t source;
  uint8_t scope = 0;
  Bytes address;  // as sent
};

Bytes ecs_payload(const Ecs& e) {
  Bytes b;
  put16(b, e.family);
  b.push_back(e.source);
  b.push_back(e.scope);
  b.insert(b.end(), e.address.begin(), e.address.end());
  return b;
}

// A query (no RD); options are raw (code, payload) pairs; edns=false: no OPT at all.
Bytes make_query(const std::string& name, uint16_t qtype, bool edns, const std::vector<std::pair<uint16_t, Bytes>>& options = {}) {
  test::QuerySpec spec{name, qtype};
  spec.id = 0xABCD;
  if (edns) {
    test::Edns& e = spec.edns.emplace();
    for (const auto& [code, data] : options) e.options.emplace_back(code, std::string(data.begin(), data.end()));
  }
  return test::build_query(spec);
}

Bytes with_ecs(const std::string& name, uint16_t qtype, const Ecs& e) { return make_query(name, qtype, true, {{8, ecs_payload(e)}}); }

struct RR {
  uint16_t type;
  uint32_t ttl;
  Bytes rdata;
};
struct Reply {
  int rcode = -1;
  std::vector<RR> answer, authority, additional;
  bool has_opt = false;
  std::optional<Ecs> ecs;
  std::vector<std::string> addresses() const {
    std::vector<std::string> out;
    for (const auto& r : answer) {
      char buf[INET6_ADDRSTRLEN];
      if (r.type == 1) out.push_back(inet_ntop(AF_INET, r.rdata.data(), buf, sizeof buf));
      if (r.type == 28) out.push_back(inet_ntop(AF_INET6, r.rdata.data(), buf, sizeof buf));
    }
    return out;
  }
  std::vector<std::string> txt() const {
    std::vector<std::string> out;
    for (const auto& r : answer) {
      if (r.type != 16) continue;
      std::string s;
      for (std::size_t i = 0; i < r.rdata.size();) {
        const std::size_t len = r.rdata[i++];
        s.append(r.rdata.begin() + static_cast<long>(i), r.rdata.begin() + static_cast<long>(i + len));
        i += len;
      }
      out.push_back(s);
    }
    return out;
  }
};

// The reply decoded by the shared test decoder (support/dns_message.hpp).
Reply parse(const Bytes& m) {
  const test::Message msg = test::parse_message(m);
  REQUIRE_MESSAGE(msg.ok, msg.error);
  Reply r;
  r.rcode = msg.flags & 0x0F;
  r.has_opt = msg.has_opt;
  const auto copy = [](const std::vector<test::Record>& section, std::vector<RR>& out) {
    for (const auto& rr : section) out.push_back({rr.type, rr.ttl, Bytes(rr.rdata_wire.begin(), rr.rdata_wire.end())});
  };
  copy(msg.answer, r.answer);
  copy(msg.authority, r.authority);
  copy(msg.additional, r.additional);
  if (const auto ecs = msg.option(8)) {
    REQUIRE(ecs->size() >= 4);
    Ecs e;
    e.family = static_cast<uint16_t>(static_cast<uint8_t>((*ecs)[0]) << 8 | static_cast<uint8_t>((*ecs)[1]));
    e.source = static_cast<uint8_t>((*ecs)[2]);
    e.scope = static_cast<uint8_t>((*ecs)[3]);
    e.address.assign(ecs->begin() + 4, ecs->end());
    r.ecs = e;
  }
  return r;
}

query::ClientAddress source(const char* text) {
  query::ClientAddress a;
  const bool v6 = std::string(text).find(':') != std::string::npos;
  a.family = v6 ? 6 : 4;
  REQUIRE(inet_pton(v6 ? AF_INET6 : AF_INET, text, a.address) == 1);
  return a;
}

Reply ask(const Loaded& l, const Bytes& q, const char* from = "127.0.0.1") {
  uint8_t out[65535];
  const std::size_t n = query::answer_query(*l.state->snapshot, q.data(), q.size(), source(from), query::Transport::udp,
                                            std::chrono::steady_clock::now(), out, sizeof out);
  REQUIRE(n > 0);
  return parse(Bytes(out, out + n));
}

Bytes v4bytes(const char* text, std::size_t len) {
  uint8_t a[4];
  REQUIRE(inet_pton(AF_INET, text, a) == 1);
  return Bytes(a, a + len);
}
Bytes v6bytes(const char* text, std::size_t len) {
  uint8_t a[16];
  REQUIRE(inet_pton(AF_INET6, text, a) == 1);
  return Bytes(a, a + len);
}

const char* const kNoCap = R"(, "ecs": {"max_prefix": {"ipv4": 32, "ipv6": 128}})";

}  // namespace

TEST_SUITE("routing.responder") {
  TEST_CASE("ECS in: the reply echoes family, source prefix and address, with the deciding scope") {
    auto l = load(kNoCap);
    // 216.160.83.56/29 is US/WA in GeoIP2-City-Test.
    const Reply r = ask(*l, with_ecs("app.example.com", 1, {1, 29, 0, v4bytes("216.160.83.56", 4)}));
    CHECK(r.rcode == 0);
    CHECK(r.addresses() == std::vector<std::string>{"192.0.2.31"});
    REQUIRE(r.ecs);
    CHECK(r.ecs->family == 1);
    CHECK(r.ecs->source == 29);
    CHECK(r.ecs->scope == 29);
    CHECK(r.ecs->address == v4bytes("216.160.83.56", 4));
    CHECK(r.answer.at(0).ttl == 300);
    // The custom CIDR decides at /28.
    const Reply c = ask(*l, with_ecs("app.example.com", 1, {1, 32, 0, v4bytes("81.2.69.161", 4)}));
    CHECK(c.addresses() == std::vector<std::string>{"192.0.2.31"});
    REQUIRE(c.ecs);
    CHECK(c.ecs->scope == 28);
    // GB in the other half of that /27: eu, also /28.
    const Reply g = ask(*l, with_ecs("app.example.com", 1, {1, 32, 0, v4bytes("81.2.69.180", 4)}));
    CHECK(g.addresses() == std::vector<std::string>{"192.0.2.11"});
    REQUIRE(g.ecs);
    CHECK(g.ecs->scope == 28);
  }

  TEST_CASE("ECS scope longer than the source prefix when a longer network decides (RFC 7871 7.2.1); source 0") {
    auto l = load(kNoCap);
    using Addrs = std::vector<std::string>;
    // 81.2.69.0/24 holds GB networks (81.2.69.142/31, 81.2.69.160/27) in its upper half
    // only: 81.2.69.0 (the /24 zero-filled) is default -> us, and so is the lower /25 alone.
    const Reply r = ask(*l, with_ecs("app.example.com", 1, {1, 24, 0, v4bytes("81.2.69.0", 3)}));
    CHECK(r.addresses() == Addrs{"192.0.2.21"});
    REQUIRE(r.ecs);
    CHECK(r.ecs->source == 24);
    CHECK(r.ecs->scope == 25);
    // Source prefix 0: "do not tailor", the packet source decides, scope 0.
    const Reply z = ask(*l, with_ecs("app.example.com", 1, {1, 0, 0, {}}), "81.2.69.142");
    CHECK(z.addresses() == Addrs{"192.0.2.11"});
    REQUIRE(z.ecs);
    CHECK(z.ecs->scope == 0);
  }

  TEST_CASE("IPv6 packet sources and ECS prefixes that carry an IPv4 client route as it") {
    auto l = load(kNoCap);
    using Addrs = std::vector<std::string>;
    // 81.2.69.161 is in net:81.2.69.160/28 -> usw: as 6to4, Teredo (inverted) and NAT64.
    for (const char* from : {"2002:5102:45a1::1", "2001:0:4136:e378:8000:63bf:aefd:ba5e", "64:ff9b::5102:45a1"})
      CHECK(ask(*l, make_query("app.example.com", 1, true), from).addresses() == Addrs{"192.0.2.31"});
    // ECS family 2 in 6to4: the scope is 16 + the net key's /28.
    const Reply s = ask(*l, with_ecs("app.example.com", 1, {2, 48, 0, v6bytes("2002:5102:45a1::", 6)}));
    CHECK(s.addresses() == Addrs{"192.0.2.31"});
    REQUIRE(s.ecs);
    CHECK(s.ecs->scope == 16 + 28);
    // Switched off: 6to4 is ordinary IPv6 (the database's 6to4 alias says GB -> eu; the IPv4 net key is not seen).
    auto off = load(R"(, "ecs": {"ipv4_in_ipv6": false, "max_prefix": {"ipv4": 32, "ipv6": 128}})");
    CHECK(ask(*off, make_query("app.example.com", 1, true), "2002:5102:45a1::1").addresses() == Addrs{"192.0.2.11"});
    CHECK(ask(*off, make_query("app.example.com", 1, true), "::ffff:81.2.69.161").addresses() == Addrs{"192.0.2.31"});
  }

  TEST_CASE("ECS decides over the packet source; IPv6 ECS for AAAA") {
    auto l = load(kNoCap);
    // Packet source is loopback (default -> us); ECS says GB (eu).
    const Reply r = ask(*l, with_ecs("app.example.com", 1, {1, 24, 0, v4bytes("81.2.69.0", 3)}), "127.0.0.1");
    REQUIRE(r.ecs);
    CHECK(r.ecs->source == 24);
    const Reply plain = ask(*l, make_query("app.example.com", 1, true), "81.2.69.142");
    CHECK(plain.addresses() == std::vector<std::string>{"192.0.2.11"});
    const Reply v6 = ask(*l, with_ecs("app.example.com", 28, {2, 48, 0, v6bytes("2a02:d3c0::", 6)}));
    CHECK(v6.addresses() == std::vector<std::string>{"2001:db8::11"});  // GB -> eu
    REQUIRE(v6.ecs);
    CHECK(v6.ecs->family == 2);
    CHECK(v6.ecs->source == 48);
    CHECK(v6.ecs->scope >= 1);
    CHECK(v6.ecs->scope <= 29);
  }

  TEST_CASE("the clock is read for dynamic answers only, once however many") {
    auto l = load(kNoCap);
    uint8_t out[65535];
    const query::AnswerClock batch;
    for (const char* name : {"ns1.example.com", "nothing.example.com"}) {
      const Bytes q = make_query(name, 1, false);
      CHECK(query::answer_query(*l->state->snapshot, q.data(), q.size(), source("127.0.0.1"), query::Transport::udp,
                                batch, out, sizeof out) > 0);
    }
    CHECK_FALSE(batch.was_read());
    const Bytes q = make_query("app.example.com", 1, false);
    CHECK(query::answer_query(*l->state->snapshot, q.data(), q.size(), source("127.0.0.1"), query::Transport::udp, batch,
                              out, sizeof out) > 0);
    CHECK(batch.was_read());
    const auto first = batch.now();
    CHECK(query::answer_query(*l->state->snapshot, q.data(), q.size(), source("127.0.0.1"), query::Transport::udp, batch,
                              out, sizeof out) > 0);
    CHECK(batch.now() == first);
    // A default clock reads the monotonic clock: within a tick or two of steady_clock.
    CHECK(std::chrono::abs(batch.now() - std::chrono::steady_clock::now()) < std::chrono::seconds(1));
  }

  TEST_CASE("no ECS in, no ECS out (with and without EDNS)") {
    auto l = load(kNoCap);
    const Reply e = ask(*l, make_query("app.example.com", 1, true), "216.160.83.57");
    CHECK(e.has_opt);
    CHECK_FALSE(e.ecs);
    CHECK(e.addresses() == std::vector<std::string>{"192.0.2.31"});
    const Reply n = ask(*l, make_query("app.example.com", 1, false), "216.160.83.57");
    CHECK_FALSE(n.has_opt);
    CHECK(n.addresses() == std::vector<std::string>{"192.0.2.31"});
  }

  TEST_CASE("IPv6 and IPv4-mapped packet sources") {
    auto l = load(kNoCap);
    CHECK(ask(*l, make_query("app.example.com", 1, false), "2a02:d3c0::1").addresses() == std::vector<std::string>{"192.0.2.11"});
    CHECK(ask(*l, make_query("app.example.com", 1, false), "::ffff:216.160.83.57").addresses() ==
          std::vector<std::string>{"192.0.2.31"});
  }

  TEST_CASE("weighted answers do not depend on the client: scope 0") {
    auto l = load(kNoCap);
    const Reply r = ask(*l, with_ecs("blue.example.com", 1, {1, 24, 0, v4bytes("216.160.83.0", 3)}));
    CHECK(r.rcode == 0);
    REQUIRE(r.ecs);
    CHECK(r.ecs->scope == 0);
    CHECK(r.answer.size() == 1);
  }

  TEST_CASE("ECS source prefix 0: valid, answered with scope 0") {
    auto l = load(kNoCap);
    const Reply r = ask(*l, with_ecs("app.example.com", 1, {1, 0, 0, {}}), "216.160.83.57");
    CHECK(r.rcode == 0);
    REQUIRE(r.ecs);
    CHECK(r.ecs->source == 0);
    CHECK(r.ecs->scope == 0);
    CHECK(r.addresses().size() == 1);
  }

  TEST_CASE("malformed ECS options get FORMERR") {
    auto l = load(kNoCap);
    struct Case {
      const char* what;
      Bytes payload;
    };
    const Case cases[] = {
        {"IPv4 source prefix 33", ecs_payload({1, 33, 0, {1, 2, 3, 4, 5}})},
        {"IPv6 source prefix 129", ecs_payload({2, 129, 0, Bytes(17, 0)})},
        {"address bits beyond the prefix (/20 with .255)", ecs_payload({1, 20, 0, {1, 2, 255}})},
        {"address longer than the prefix needs", ecs_payload({1, 16, 0, {1, 2, 3}})},
        {"address shorter than the prefix needs", ecs_payload({1, 24, 0, {1, 2}})},
        {"unknown family 3", ecs_payload({3, 8, 0, {1}})},
        {"option shorter than its fixed part", Bytes{0, 1, 24}},
    };
    for (const auto& c : cases) {
      INFO(c.what);
      const Reply r = ask(*l, make_query("app.example.com", 1, true, {{8, c.payload}}));
      CHECK(r.rcode == 1);
      CHECK(r.answer.empty());
    }
    // Two ECS options in one query.
    const Bytes one = ecs_payload({1, 24, 0, {81, 2, 69}});
    const Reply two = ask(*l, make_query("app.example.com", 1, true, {{8, one}, {8, one}}));
    CHECK(two.rcode == 1);
  }

  TEST_CASE("ECS switched off: the option is ignored and not echoed") {
    auto l = load(R"(, "ecs": false)");
    const Reply r = ask(*l, with_ecs("app.example.com", 1, {1, 29, 0, v4bytes("216.160.83.56", 4)}), "81.2.69.142");
    CHECK(r.rcode == 0);
    CHECK_FALSE(r.ecs);
    CHECK(r.addresses() == std::vector<std::string>{"192.0.2.11"});  // the packet source decided
  }

  TEST_CASE("the default cap (/24) applies to the ECS address") {
    auto l = load("");
    // 216.160.83.56/29 cut to /24 is 216.160.83.0, outside the WA /29: default -> us.
    const Reply r = ask(*l, with_ecs("app.example.com", 1, {1, 32, 0, v4bytes("216.160.83.57", 4)}));
    CHECK(r.addresses() == std::vector<std::string>{"192.0.2.21"});
    REQUIRE(r.ecs);
    CHECK(r.ecs->source == 32);
    CHECK(r.ecs->address == v4bytes("216.160.83.57", 4));
  }

  TEST_CASE("a health file at load: the region is skipped with the failover TTL") {
    auto l = load(kNoCap, R"({"web/usw": "down"})");
    const Reply r = ask(*l, make_query("app.example.com", 1, false), "216.160.83.57");
    CHECK(r.addresses() == std::vector<std::string>{"192.0.2.21"});
    REQUIRE(r.answer.size() == 1);
    CHECK(r.answer[0].ttl == 30);
  }

  TEST_CASE("a CNAME to a dynamic name is followed, and the scope still reported") {
    auto l = load(kNoCap);
    const Reply r = ask(*l, with_ecs("www.example.com", 1, {1, 29, 0, v4bytes("216.160.83.56", 4)}));
    CHECK(r.rcode == 0);
    REQUIRE(r.answer.size() == 2);
    CHECK(r.answer[0].type == 5);
    CHECK(r.addresses() == std::vector<std::string>{"192.0.2.31"});
    REQUIRE(r.ecs);
    CHECK(r.ecs->scope == 29);
  }

  TEST_CASE("fail_open false with every region down: NOERROR, no answer, SOA in authority") {
    auto l = load(kNoCap, R"({"strict/p": "down"})");
    const Reply r = ask(*l, make_query("strict.example.com", 1, false));
    CHECK(r.rcode == 0);
    CHECK(r.answer.empty());
    REQUIRE(r.authority.size() == 1);
    CHECK(r.authority[0].type == 6);
  }

  TEST_CASE("_explain TXT: answered to loopback, refused elsewhere and when switched off") {
    auto l = load(kNoCap);
    const Reply r = ask(*l, with_ecs("_explain.app.example.com", 16, {1, 29, 0, v4bytes("216.160.83.56", 4)}));
    CHECK(r.rcode == 0);
    const auto lines = r.txt();
    REQUIRE_FALSE(lines.empty());
    std::string all;
    for (const auto& x : lines) all += x + "\n";
    INFO(all);
    CHECK(all.find("service web") != std::string::npos);
    CHECK(all.find("216.160.83.56") != std::string::npos);
    CHECK(all.find("country:US/WA") != std::string::npos);
    CHECK(all.find("usw") != std::string::npos);
    CHECK(all.find("ecs_scope=29") != std::string::npos);
    CHECK(ask(*l, make_query("_explain.app.example.com", 16, false), "192.0.2.200").rcode == 5);
    auto off = load(kNoCap + std::string(R"(, "explain": false)"));
    CHECK(ask(*off, make_query("_explain.app.example.com", 16, false), "127.0.0.1").rcode == 5);
  }
}
