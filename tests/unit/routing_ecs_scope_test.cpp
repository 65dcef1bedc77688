// The ECS scope is truthful (RFC 7871 7.2.1): for an answer to ADDRESS/SOURCE
// with scope S, every address inside ADDRESS/S (the address as echoed, i.e. cut
// to the source prefix) gets the same decision. Checked on RoutingTable directly
// for IPv4 and IPv6 clients, every source prefix from /0 to the family's width
// (beyond the cap too), on GeoIP2-City-Test and the demo database, with full and
// default caps and with a region in slow start; the addresses tried inside a
// scope are its first and last, random ones, and the database networks' edges
// (first, last and the addresses either side) that fall inside it. IPv6 clients
// include the forms that carry an IPv4 client (written out here from the RFCs).
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "config/json_source.hpp"
#include "health/health_snapshot.hpp"
#include "routing/routing_table.hpp"
#include "routing/service_set.hpp"

using namespace meridian;
using routing::RouteClient;
using routing::RoutingTable;
using routing::ServiceSet;

namespace {

const std::string kSrc = MERIDIAN_SOURCE_DIR;

using Bytes16 = std::array<uint8_t, 16>;

struct Addr {
  int family = 4;
  Bytes16 b{};
};

unsigned width(int family) { return family == 4 ? 32u : 128u; }
unsigned bytes(int family) { return family == 4 ? 4u : 16u; }

bool less(const Addr& x, const Addr& y) { return std::memcmp(x.b.data(), y.b.data(), bytes(x.family)) < 0; }

bool bit(const Addr& a, unsigned i) { return (a.b[i / 8] >> (7 - i % 8)) & 1; }

// The network's first (ones = false) or last address.
Addr fill_after(Addr a, unsigned prefix, bool ones) {
  for (unsigned i = prefix; i < width(a.family); ++i) {
    const auto mask = static_cast<uint8_t>(0x80 >> (i % 8));
    a.b[i / 8] = ones ? (a.b[i / 8] | mask) : (a.b[i / 8] & static_cast<uint8_t>(~mask));
  }
  return a;
}

// a + delta (±1); false when it wraps.
bool step(Addr& a, int delta) {
  for (int i = static_cast<int>(bytes(a.family)) - 1; i >= 0; --i) {
    uint8_t& byte = a.b[static_cast<std::size_t>(i)];
    if (delta > 0) {
      if (++byte != 0) return true;
    } else {
      if (byte-- != 0) return true;
    }
  }
  return false;
}

bool inside(const Addr& a, const Addr& net, unsigned prefix) {
  for (unsigned i = 0; i < prefix; ++i)
    if (bit(a, i) != bit(net, i)) return false;
  return true;
}

Addr random_in(std::mt19937_64& rng, const Addr& net, unsigned prefix) {
  Addr a = net;
  for (unsigned i = prefix; i < width(a.family); ++i) {
    const auto mask = static_cast<uint8_t>(0x80 >> (i % 8));
    if (rng() & 1) a.b[i / 8] |= mask;
    else a.b[i / 8] &= static_cast<uint8_t>(~mask);
  }
  return a;
}

std::string text(const Addr& a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(a.family == 4 ? AF_INET : AF_INET6, a.b.data(), buf, sizeof buf);
  return buf;
}

Addr parse(const std::string& s) {
  Addr a;
  a.family = s.find(':') == std::string::npos ? 4 : 6;
  REQUIRE_MESSAGE(inet_pton(a.family == 4 ? AF_INET : AF_INET6, s.c_str(), a.b.data()) == 1, s);
  return a;
}

// IPv6 forms that carry an IPv4 client: where the IPv4 address sits (RFC 4291
// 2.5.5, RFC 2765, RFC 6052, RFC 4380 (inverted), RFC 3056).
struct Form {
  const char* prefix;
  unsigned v4_at;
  bool inverted;
};
const Form kForms[] = {{"::ffff:0:0", 96, false}, {"::", 96, false},      {"::ffff:0:0:0", 96, false},
                       {"64:ff9b::", 96, false},  {"2001::", 96, true},   {"2002::", 16, false}};

Addr embed(const Form& f, const Addr& v4, std::mt19937_64& rng) {
  Addr a = parse(f.prefix);
  if (f.v4_at == 16) a = random_in(rng, a, 16);          // 6to4: any subnet and interface after the IPv4
  else if (f.inverted) a = random_in(rng, a, 32);        // Teredo: any server, flags and port
  for (int i = 0; i < 4; ++i)
    a.b[f.v4_at / 8 + static_cast<unsigned>(i)] = f.inverted ? static_cast<uint8_t>(~v4.b[static_cast<std::size_t>(i)])
                                                             : v4.b[static_cast<std::size_t>(i)];
  if (f.inverted) a = fill_after(a, 128, false);
  return a;
}

std::shared_ptr<const ServiceSet> load(std::string json) {
  for (const auto& [k, v] : {std::pair<std::string, std::string>{"@CITY@", kSrc + "/tests/data/geoip/GeoIP2-City-Test.mmdb"},
                             {"@DEMO@", kSrc + "/geodata/demo-city.mmdb"}})
    for (auto at = json.find(k); at != std::string::npos; at = json.find(k)) json.replace(at, k.size(), v);
  const config::JsonSource src = config::JsonSource::parse(json, "meridian.json");
  config::Diagnostics d;
  auto set = routing::load_services(src, kSrc + "/tests/data/routing/", d);
  INFO(d.to_string());
  REQUIRE(d.empty());
  REQUIRE(set);
  return set;
}

// Database networks and net keys: their first and last addresses, sorted.
std::vector<Addr> network_edges(const ServiceSet& set, int family) {
  std::vector<Addr> out;
  auto add = [&](const uint8_t* addr, unsigned len) {
    Addr a;
    a.family = family;
    std::memcpy(a.b.data(), addr, bytes(family));
    out.push_back(fill_after(a, len, false));
    out.push_back(fill_after(a, len, true));
  };
  if (set.geo.city) set.geo.city->walk(family, [&](const uint8_t* addr, unsigned len, const geo::GeoRecord&) { add(addr, len); });
  for (const auto& keys : set.keys)
    for (const auto& k : keys)
      if (k.kind == routing::ClientKey::by_net && k.family == family) add(k.address, k.prefix_len);
  if (family == 6) {
    // The IPv4 networks' edges inside each form that carries an IPv4 client.
    std::mt19937_64 rng(7);
    for (const Addr& v4 : network_edges(set, 4))
      for (const Form& f : kForms) out.push_back(embed(f, v4, rng));
  }
  std::sort(out.begin(), out.end(), less);
  out.erase(std::unique(out.begin(), out.end(), [](const Addr& x, const Addr& y) { return !less(x, y) && !less(y, x); }),
            out.end());
  return out;
}

// Up to n elements spread evenly over [first, last).
template <typename It> std::vector<Addr> spread(It first, It last, std::size_t n) {
  const auto count = static_cast<std::size_t>(last - first);
  std::vector<Addr> out;
  if (count == 0) return out;
  const std::size_t stride = count <= n ? 1 : count / n;
  for (std::size_t i = 0; i < count && out.size() < n; i += stride) out.push_back(first[static_cast<std::ptrdiff_t>(i)]);
  return out;
}

struct Tally {
  std::size_t answers = 0;   // (address, source prefix) pairs answered
  std::size_t checks = 0;    // addresses inside a scope compared
  std::size_t wrong = 0;
  std::size_t wrong_with_source = 0;  // of them, for a source prefix above 0
  std::size_t longer_than_source = 0;
  std::vector<std::string> first_wrong;
};

RouteClient ecs(const ServiceSet& set, const Addr& a, unsigned prefix) {
  return routing::ecs_client(a.family, a.b.data(), prefix, set.ecs);
}

// Every service, every probe address, every source prefix: the scope's addresses
// get the decision the probe got.
void check_truthful(const RoutingTable& table, const ServiceSet& set, int family, std::size_t max_probes, Tally& t) {
  const std::vector<Addr> edges = network_edges(set, family);
  std::mt19937_64 rng(static_cast<uint64_t>(family) * 1000003u + edges.size());
  // Probes: edges and their outside neighbours, spread over the list, plus random addresses.
  std::vector<Addr> probes;
  for (const Addr& e : spread(edges.begin(), edges.end(), max_probes / 2)) {
    probes.push_back(e);
    Addr before = e, after = e;
    if (step(before, -1)) probes.push_back(before);
    if (step(after, +1)) probes.push_back(after);
  }
  Addr zero;
  zero.family = family;
  for (int i = 0; i < 32; ++i) probes.push_back(random_in(rng, zero, 0));
  if (family == 6) {
    std::mt19937_64 frng(11);
    for (int i = 0; i < 8; ++i) {
      Addr v4;
      v4.family = 4;
      v4 = random_in(rng, v4, 0);
      for (const Form& f : kForms) probes.push_back(embed(f, v4, frng));
    }
  }
  const unsigned w = width(family);
  for (std::size_t svc = 0; svc < set.services.size(); ++svc) {
    const int service = static_cast<int>(svc);
    for (const Addr& a : probes) {
      for (unsigned source = 0; source <= w; ++source) {
        uint8_t scope = 0;
        const routing::Decision* want = &table.decide(service, ecs(set, a, source), scope);
        ++t.answers;
        REQUIRE(scope <= w);
        if (scope > source) ++t.longer_than_source;
        const Addr echoed = fill_after(a, source, false);
        const Addr first = fill_after(echoed, scope, false), last = fill_after(echoed, scope, true);
        std::vector<Addr> inside_scope = {first, last};
        for (int i = 0; i < 3; ++i) inside_scope.push_back(random_in(rng, echoed, scope));
        const auto lo = std::lower_bound(edges.begin(), edges.end(), first, less);
        const auto hi = std::upper_bound(edges.begin(), edges.end(), last, less);
        for (const Addr& e : spread(lo, hi, 4)) {
          inside_scope.push_back(e);
          for (int delta : {-1, 1}) {
            Addr n = e;
            if (step(n, delta) && inside(n, echoed, scope)) inside_scope.push_back(n);
          }
        }
        for (const Addr& b : inside_scope) {
          // The address as a client of its own (full source prefix), and with a
          // source prefix between the scope and the full length.
          const unsigned between = scope + static_cast<unsigned>(rng() % (w - scope + 1));
          for (unsigned b_source : {w, between}) {
            uint8_t b_scope = 0;
            const routing::Decision* got = &table.decide(service, ecs(set, b, b_source), b_scope);
            ++t.checks;
            if (got == want) continue;
            ++t.wrong;
            if (source > 0) ++t.wrong_with_source;
            if (t.first_wrong.size() < 12) {
              std::ostringstream m;
              m << set.services[svc].name << ": " << text(a) << "/" << source << " got scope /" << int(scope)
                << ", but " << text(b) << "/" << b_source << " (inside " << text(first) << "/" << int(scope)
                << ") gets another answer";
              t.first_wrong.push_back(m.str());
            }
          }
        }
      }
    }
  }
}

void expect_truthful(const RoutingTable& table, const ServiceSet& set, const std::string& what) {
  for (int family : {4, 6}) {
    Tally t;
    check_truthful(table, set, family, family == 4 ? 240 : 160, t);
    std::string wrong;
    for (const auto& s : t.first_wrong) wrong += "\n  " + s;
    MESSAGE(what << " IPv" << family << ": " << t.answers << " answers, " << t.checks << " addresses inside their scopes, "
                 << t.longer_than_source << " scopes longer than the source prefix, " << t.wrong << " wrong ("
                 << t.wrong_with_source << " for a source prefix above 0)");
    CHECK_MESSAGE(t.wrong == 0, what << " IPv" << family << ": " << t.wrong << " of " << t.checks
                                     << " addresses inside a scope get another answer:" << wrong);
    CHECK(t.answers > 1000);
  }
}

std::string geo_config(const std::string& db, const std::string& caps) {
  return R"({
  "dns": {"ecs": {"max_prefix": )" + caps + R"(}},
  "geoip": {"city": ")" + db + R"("},
  "services": {
    "web": {"policy": "geo", "ttl": 300,
            "geo": {"EU": ["eu", "us"], "NA": ["us", "eu"], "AS": ["ap", "eu"], "OC": ["ap", "us"],
                    "SA": ["sa", "us"], "AF": ["eu", "ap"], "country:US/WA": ["usw", "us"], "country:SE": ["eu2", "eu"],
                    "country:GB": ["eu2", "eu"], "country:IN": ["ap", "eu"],
                    "net:81.2.69.160/28": ["ap"], "net:127.1.2.0/24": ["usw"], "net:2a02:d180::/29": ["eu2"],
                    "net:2001:db8:2::/56": ["sa"], "default": ["us", "eu"]},
            "regions": {"eu": {"endpoints": ["192.0.2.11"]}, "eu2": {"endpoints": ["192.0.2.15"]},
                        "us": {"endpoints": ["192.0.2.21"]}, "usw": {"endpoints": ["192.0.2.31"]},
                        "ap": {"endpoints": ["192.0.2.41"]}, "sa": {"endpoints": ["192.0.2.51"]}}},
    "near": {"policy": "closest", "ttl": 120,
             "regions": {"dublin": {"endpoints": ["192.0.2.61"], "location": [53.35, -6.26]},
                         "virginia": {"endpoints": ["192.0.2.62"], "location": [39.04, -77.49]},
                         "mumbai": {"endpoints": ["192.0.2.63"], "location": [19.08, 72.88]},
                         "tokyo": {"endpoints": ["192.0.2.65"], "location": [35.68, 139.69]}}}
  }
})";
}

constexpr const char* kFullCaps = R"({"ipv4": 32, "ipv6": 128})";
constexpr const char* kDefaultCaps = R"({"ipv4": 24, "ipv6": 56})";

}  // namespace

TEST_SUITE("routing.ecs_scope") {
  TEST_CASE("scope property: GeoIP2-City-Test, caps /32 and /128") {
    const auto set = load(geo_config("@CITY@", kFullCaps));
    expect_truthful(RoutingTable(set, health::HealthSnapshot({}, {})), *set, "City-Test /32 /128");
  }

  TEST_CASE("scope property: GeoIP2-City-Test, default caps /24 and /56") {
    const auto set = load(geo_config("@CITY@", kDefaultCaps));
    expect_truthful(RoutingTable(set, health::HealthSnapshot({}, {})), *set, "City-Test /24 /56");
  }

  TEST_CASE("scope property: demo database, both cap settings") {
    for (const char* caps : {kFullCaps, kDefaultCaps}) {
      const auto set = load(geo_config("@DEMO@", caps));
      expect_truthful(RoutingTable(set, health::HealthSnapshot({}, {})), *set, caps);
    }
  }

  TEST_CASE("scope property: a region in slow start (the answer hangs on a hash of the capped prefix)") {
    for (const char* caps : {kFullCaps, kDefaultCaps}) {
      const auto set = load(geo_config("@CITY@", caps));
      const RoutingTable table(set, health::HealthSnapshot({}, {}), {{"web/eu", 0.5}, {"web/ap", 0.3}});
      expect_truthful(table, *set, caps);
    }
  }
}

TEST_SUITE("routing.ipv4_in_ipv6") {
  // "web" routes 81.2.69.160/28 to ap by an IPv4 net key; the database says GB
  // (eu2 by country) for the rest of 81.2.69.160/27 and for 81.2.69.142/31.
  RouteClient packet(const Addr& a) {
    RouteClient c;
    c.family = a.family;
    std::memcpy(c.address, a.b.data(), 16);
    return c;
  }

  std::string region_of(const RoutingTable& t, const RouteClient& c, uint8_t* scope_out = nullptr) {
    const int web = t.services().find("web");
    REQUIRE(web >= 0);
    uint8_t scope = 0;
    const auto& d = t.decide(web, c, scope);
    if (scope_out) *scope_out = scope;
    REQUIRE(d.regions.size() == 1);
    return t.services().services[static_cast<std::size_t>(web)].regions[d.regions[0]].name;
  }

  TEST_CASE("every form routes as the IPv4 client inside, packet source and ECS, with the scope in IPv6 bits") {
    const auto set = load(geo_config("@CITY@", kFullCaps));
    const RoutingTable t(set, health::HealthSnapshot({}, {}));
    std::mt19937_64 rng(1);
    int checked = 0;
    for (const char* ip : {"81.2.69.161", "81.2.69.142", "81.2.69.180", "216.160.83.57", "89.160.20.129", "2.125.160.217",
                           "214.0.1.1", "8.8.8.8", "127.0.0.1"}) {
      const Addr v4 = parse(ip);
      uint8_t v4_scope = 0;
      const std::string want = region_of(t, ecs(*set, v4, 32), &v4_scope);
      CHECK(region_of(t, packet(v4)) == want);
      for (const Form& f : kForms) {
        const Addr a = embed(f, v4, rng);
        CAPTURE(text(a));
        CHECK(region_of(t, packet(a)) == want);
        uint8_t scope = 0;
        CHECK(region_of(t, ecs(*set, a, 128), &scope) == want);
        CHECK(scope == f.v4_at + v4_scope);
        // The source prefix covering exactly the IPv4 address: the same.
        CHECK(region_of(t, ecs(*set, a, f.v4_at + 32), &scope) == want);
        CHECK(scope == f.v4_at + v4_scope);
        ++checked;
      }
    }
    CHECK(checked == 54);
    // Teredo (RFC 4380 4): server 65.54.227.120, the client 81.2.69.142 stored inverted.
    CHECK(region_of(t, packet(parse("2001:0:4136:e378:8000:63bf:aefd:ba71"))) == region_of(t, packet(parse("81.2.69.142"))));
    CHECK(region_of(t, packet(parse("2001:0:4136:e378:8000:63bf:5102:458e"))) ==
          region_of(t, packet(parse("174.253.186.113"))));
  }

  TEST_CASE("the IPv4 cap applies to the IPv4 bits; a prefix short of the form is zero-filled like any other") {
    const auto set = load(geo_config("@CITY@", kDefaultCaps));
    const RoutingTable t(set, health::HealthSnapshot({}, {}));
    uint8_t v4_scope = 0, scope = 0;
    // 6to4 2002:5102:45a1::/48 is 81.2.69.161; the /24 cap leaves 81.2.69.0.
    const std::string capped = region_of(t, ecs(*set, parse("81.2.69.161"), 32), &v4_scope);
    const RouteClient c = ecs(*set, parse("2002:5102:45a1::"), 48);
    CHECK(c.bits == 16 + 24);
    CHECK(region_of(t, c, &scope) == capped);
    CHECK(scope == 16 + v4_scope);
    CHECK(v4_scope <= 24);
    // Without the cap the net key would decide (ap); with it, 81.2.69.0 does.
    CHECK(region_of(t, packet(parse("2002:5102:45a1::1"))) == "ap");
    // NAT64 at /120: the last IPv4 byte is cut by the cap as well.
    CHECK(region_of(t, ecs(*set, parse("64:ff9b::5102:45a1"), 128), &scope) == capped);
    CHECK(scope == 96 + v4_scope);
    // 2002::/15 covers 6to4 only in part: looked up as 2002:: (zero-filled), which
    // is 6to4's 0.0.0.0 with no IPv4 bits.
    CHECK(region_of(t, ecs(*set, parse("2002::"), 15), &scope) == region_of(t, ecs(*set, parse("0.0.0.0"), 0)));
    CHECK(scope >= 16);
    // ::ffff:81.2.69.161/80 stops before the mapped prefix's ffff: it is ::, IPv4-compatible 0.0.0.0.
    const RouteClient short_mapped = ecs(*set, parse("::ffff:81.2.69.161"), 80);
    CHECK(std::all_of(short_mapped.address, short_mapped.address + 16, [](uint8_t b) { return b == 0; }));
    CHECK(region_of(t, short_mapped, &scope) == region_of(t, ecs(*set, parse("0.0.0.0"), 0), &v4_scope));
    CHECK(scope == 96 + v4_scope);
  }

  TEST_CASE("an IPv6 scope never covers a form: it is made long enough to leave them out") {
    const auto set = load(geo_config("@CITY@", kFullCaps));
    const RoutingTable t(set, health::HealthSnapshot({}, {}));
    struct Case {
      const char* address;
      unsigned min_scope;  // the first bit that tells it apart from the nearest form, plus one
    };
    // 2003:: differs from 2002::/16 at bit 15; 2001:1:: from 2001::/32 at bit 31;
    // 64:ff9b:1:: from 64:ff9b::/96 at bit 47; ::1:0:0:0 from ::/96 at bit 79.
    for (const Case& c : {Case{"2003::", 16}, Case{"2001:1::", 32}, Case{"64:ff9b:1::", 48}, Case{"::1:0:0:0", 80}}) {
      uint8_t scope = 0;
      region_of(t, ecs(*set, parse(c.address), 128), &scope);
      CAPTURE(c.address);
      CHECK(scope >= c.min_scope);
    }
  }

  TEST_CASE("ipv4_in_ipv6 false: only IPv4-mapped is read; the other forms are ordinary IPv6") {
    std::string json = geo_config("@CITY@", kFullCaps);
    json.replace(json.find("\"max_prefix\""), 0, "\"ipv4_in_ipv6\": false, ");
    const auto set = load(json);
    CHECK_FALSE(set->ecs.ipv4_in_ipv6);
    const RoutingTable t(set, health::HealthSnapshot({}, {}));
    CHECK(region_of(t, packet(parse("::ffff:81.2.69.161"))) == "ap");  // the IPv4 net key
    // 2002:5102:45a1::1: the database's 6to4 alias says GB, but the IPv4 net key
    // (81.2.69.160/28 -> ap) no longer applies, nor to NAT64 (not in the database: default).
    CHECK(region_of(t, packet(parse("2002:5102:45a1::1"))) == "eu2");
    CHECK(region_of(t, packet(parse("64:ff9b::5102:45a1"))) == "us");
    uint8_t scope = 0;
    region_of(t, ecs(*set, parse("64:ff9b::5102:45a1"), 128), &scope);
    CHECK(scope < 96);  // an ordinary IPv6 network's scope
    const auto on = load(geo_config("@CITY@", kFullCaps));
    CHECK(on->ecs.ipv4_in_ipv6);
    const RoutingTable t_on(on, health::HealthSnapshot({}, {}));
    CHECK(region_of(t_on, packet(parse("64:ff9b::5102:45a1"))) == "ap");
  }

  TEST_CASE("scope property with ipv4_in_ipv6 false") {
    std::string json = geo_config("@CITY@", kDefaultCaps);
    json.replace(json.find("\"max_prefix\""), 0, "\"ipv4_in_ipv6\": false, ");
    const auto set = load(json);
    expect_truthful(RoutingTable(set, health::HealthSnapshot({}, {})), *set, "City-Test, ipv4_in_ipv6 false");
  }
}
