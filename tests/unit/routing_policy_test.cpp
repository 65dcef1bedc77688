// Services loaded from JSON (routing::load_services) and answered through
// routing::RoutingTable: every policy, endpoint picks by weight (observed shares
// over 20,000 answers), health overrides, failover TTL, fail-open, NODATA, ECS
// scope values and the ECS prefix cap. Expectations come from networks.json,
// the configuration and models written here (great-circle distance, key
// precedence), never from the code under test.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/json_source.hpp"
#include "dns/constants.hpp"
#include "dns/writer.hpp"
#include "health/health_snapshot.hpp"
#include "routing/routing_table.hpp"
#include "routing/service_set.hpp"

using namespace meridian;
using routing::RouteClient;
using routing::RoutingTable;
using routing::ServiceSet;

namespace {

const std::string kSrc = MERIDIAN_SOURCE_DIR;
const std::string kGeoDir = kSrc + "/tests/data/geoip/";
const std::string kFixtures = kSrc + "/tests/data/routing/";

std::string subst(std::string text) {
  const std::pair<const char*, std::string> vars[] = {
      {"@CITY@", kGeoDir + "GeoIP2-City-Test.mmdb"},
      {"@ASN@", kGeoDir + "GeoLite2-ASN-Test.mmdb"},
  };
  for (const auto& [k, v] : vars)
    for (auto at = text.find(k); at != std::string::npos; at = text.find(k)) text.replace(at, std::strlen(k), v);
  return text;
}

std::shared_ptr<const ServiceSet> load(const std::string& json) {
  const config::JsonSource src = config::JsonSource::parse(subst(json), "meridian.json");
  config::Diagnostics d;
  auto set = routing::load_services(src, kFixtures, d);
  INFO(d.to_string());
  REQUIRE(d.empty());
  REQUIRE(set);
  return set;
}

health::HealthSnapshot health_of(std::initializer_list<std::pair<const char*, const char*>> items) {
  health::OverrideMap m;
  for (const auto& [k, v] : items) {
    health::Override o;
    o.mode = std::string(v) == "up" ? health::Override::up
             : std::string(v) == "down" ? health::Override::down
                                        : health::Override::automatic;
    o.reason = "test";
    m[k] = o;
  }
  return health::HealthSnapshot(std::move(m), {});
}

RouteClient client(const std::string& text) {
  RouteClient c;
  c.family = text.find(':') == std::string::npos ? 4 : 6;
  REQUIRE_MESSAGE(inet_pton(c.family == 4 ? AF_INET : AF_INET6, text.c_str(), c.address) == 1, text);
  return c;
}

RouteClient ecs(const ServiceSet& set, const std::string& text, unsigned prefix) {
  const RouteClient c = client(text);
  return routing::ecs_client(c.family, c.address, prefix, set.ecs);
}

std::string addr_text(int family, const uint8_t* a) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, sizeof buf);
  return buf;
}

struct Answer {
  routing::RouteResult r;
  std::string region;             // "" when none
  std::vector<std::string> addrs; // in answer order
  std::vector<uint32_t> ttls;
};

// One answer written by RoutingTable::answer into a real message, decoded here.
Answer answer(const RoutingTable& t, const std::string& service, uint16_t qtype, const RouteClient& c) {
  const int svc = t.services().find(service);
  REQUIRE(svc >= 0);
  static const std::string qname("\x03" "app" "\x07" "example" "\x03" "com", 16);
  std::vector<uint8_t> q = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  q.insert(q.end(), qname.begin(), qname.end());
  q.push_back(0);
  q.push_back(static_cast<uint8_t>(qtype >> 8));
  q.push_back(static_cast<uint8_t>(qtype));
  q.push_back(0);
  q.push_back(1);
  uint8_t out[4096];
  dns::MessageWriter w(out, sizeof out);
  w.start(q.data(), q.size(), dns::flag::QR);
  const std::string owner = qname + std::string(1, '\0');
  Answer a;
  a.r = t.answer(svc, qtype, c, w, owner, std::chrono::steady_clock::now());
  w.finish();
  if (a.r.region >= 0) a.region = t.services().services[static_cast<std::size_t>(svc)].regions[a.r.region].name;
  const std::size_t n = w.size();
  const unsigned ancount = (out[6] << 8) | out[7];
  REQUIRE(ancount == a.r.records);
  std::size_t pos = q.size();
  for (unsigned i = 0; i < ancount; ++i) {
    // owner: compressed pointer or labels
    while (pos < n) {
      const uint8_t len = out[pos];
      if (len >= 0xC0) {
        pos += 2;
        break;
      }
      pos += 1 + len;
      if (len == 0) break;
    }
    REQUIRE(pos + 10 <= n);
    const uint16_t type = static_cast<uint16_t>((out[pos] << 8) | out[pos + 1]);
    const uint32_t ttl = (uint32_t{out[pos + 4]} << 24) | (uint32_t{out[pos + 5]} << 16) | (out[pos + 6] << 8) | out[pos + 7];
    const uint16_t rdlen = static_cast<uint16_t>((out[pos + 8] << 8) | out[pos + 9]);
    pos += 10;
    REQUIRE(pos + rdlen <= n);
    CHECK(type == qtype);
    REQUIRE(rdlen == (qtype == dns::type::A ? 4 : 16));
    a.addrs.push_back(addr_text(qtype == dns::type::A ? 4 : 6, out + pos));
    a.ttls.push_back(ttl);
    pos += rdlen;
  }
  return a;
}

const routing::Decision& decide(const RoutingTable& t, const std::string& service, const RouteClient& c,
                                uint8_t& scope) {
  const int svc = t.services().find(service);
  REQUIRE(svc >= 0);
  return t.decide(svc, c, scope);
}

std::vector<std::string> decided_regions(const RoutingTable& t, const std::string& service, const RouteClient& c) {
  uint8_t scope = 0;
  const auto& d = decide(t, service, c, scope);
  const auto& s = t.services().services[static_cast<std::size_t>(t.services().find(service))];
  std::vector<std::string> out;
  for (auto r : d.regions) out.push_back(s.regions[r].name);
  return out;
}

uint8_t scope_of(const RoutingTable& t, const std::string& service, const RouteClient& c) {
  uint8_t scope = 0;
  decide(t, service, c, scope);
  return scope;
}

nlohmann::json city_rows() {
  std::ifstream in(kGeoDir + "networks.json");
  REQUIRE(in.good());
  nlohmann::json out = nlohmann::json::array();
  for (auto& row : nlohmann::json::parse(in))
    if (row["db"] == "GeoIP2-City-Test.mmdb" && row["found"].get<bool>()) out.push_back(row);
  return out;
}

std::string s(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : std::string(); }

// Shares of each value over n draws.
template <typename F> std::map<std::string, double> shares(int n, F&& draw) {
  std::map<std::string, int> counts;
  for (int i = 0; i < n; ++i) ++counts[draw()];
  std::map<std::string, double> out;
  for (const auto& [k, c] : counts) out[k] = static_cast<double>(c) / n;
  return out;
}

constexpr int kDraws = 20000;
constexpr double kTolerance = 0.02;  // 2 percentage points

const char* const kGeoConfig = R"({
  "dns": {"ecs": {"max_prefix": {"ipv4": 32, "ipv6": 128}}},
  "geoip": {"city": "@CITY@"},
  "services": {
    "web": {"policy": "geo", "ttl": 300, "failover_ttl": 30, "answers": 2,
            "geo": {"EU": ["eu", "us"], "NA": ["us", "eu"], "AS": ["ap", "eu"], "OC": ["ap", "us"],
                    "AF": ["eu", "ap"], "country:US/WA": ["usw", "us"], "country:SE": ["eu2", "eu"],
                    "net:81.2.69.160/28": ["ap"], "net:2a02:d180::/29": ["eu2"],
                    "default": ["us", "eu"]},
            "regions": {"eu": {"endpoints": ["192.0.2.11", "192.0.2.12", "2001:db8::11"]},
                        "eu2": {"endpoints": ["192.0.2.15", "2001:db8::15"]},
                        "us": {"endpoints": ["192.0.2.21", "2001:db8::21"]},
                        "usw": {"endpoints": ["192.0.2.31", "2001:db8::31"]},
                        "ap": {"endpoints": ["192.0.2.41", "2001:db8::41"]}}},
    "merged": {"policy": "geo", "ttl": 300,
               "geo": {"AS": ["ap", "us"], "OC": ["ap", "us"], "default": ["us"]},
               "regions": {"ap": {"endpoints": ["192.0.2.41"]}, "us": {"endpoints": ["192.0.2.21"]}}},
    "hm": {"policy": "geo", "ttl": 300, "failover_ttl": 20,
           "geo": {"AS": ["x", "y"], "OC": ["z", "y"], "default": ["y"]},
           "regions": {"x": {"endpoints": ["192.0.2.51"]}, "y": {"endpoints": ["192.0.2.52"]},
                       "z": {"endpoints": ["192.0.2.53"]}}}
  }
})";

// The first region of the most specific key for a networks.json row of kGeoConfig's "web".
std::string web_expected(const nlohmann::json& row) {
  const std::string ip = row["ip"];
  if (ip.rfind("81.2.69.16", 0) == 0 || ip.rfind("81.2.69.17", 0) == 0) {
    // 81.2.69.160/28 = .160-.175
    const int last = std::stoi(ip.substr(ip.rfind('.') + 1));
    if (last >= 160 && last <= 175) return "ap";
  }
  if (ip.rfind("2a02:d18", 0) == 0) return "eu2";
  const std::string cc = s(row["country"]), sub = s(row["subdivision"]), cont = s(row["continent"]);
  if (cc == "US" && sub == "WA") return "usw";
  if (cc == "SE") return "eu2";
  if (cont == "EU" || cont == "AF") return "eu";
  if (cont == "NA") return "us";
  if (cont == "AS" || cont == "OC") return "ap";
  return "us";
}

bool in_db_as_continent(const ServiceSet& set, const char* ip, std::initializer_list<const char*> continents) {
  const RouteClient c = client(ip);
  const auto l = set.geo.city->lookup(c.family, c.address);
  if (!l.found) return false;
  for (const char* k : continents)
    if (l.record.continent == k) return true;
  return false;
}

}  // namespace

TEST_SUITE("routing.geo") {
  TEST_CASE("geo: every City-Test network gets its key's first region, for A and AAAA, v4, v6 and IPv4-mapped") {
    const auto set = load(kGeoConfig);
    const RoutingTable t(set, health_of({}));
    int checked = 0;
    for (const auto& row : city_rows()) {
      const std::string ip = row["ip"];
      const std::string want = web_expected(row);
      INFO(ip << " " << s(row["country"]) << "/" << s(row["subdivision"]) << " " << s(row["continent"]));
      CHECK(decided_regions(t, "web", client(ip)) == std::vector<std::string>{want});
      const Answer a4 = answer(t, "web", dns::type::A, client(ip));
      CHECK(a4.region == want);
      CHECK(a4.r.ttl == 300);
      CHECK_FALSE(a4.r.failover);
      for (auto ttl : a4.ttls) CHECK(ttl == 300);
      for (const auto& x : a4.addrs) CHECK(x.find(':') == std::string::npos);
      const Answer a6 = answer(t, "web", dns::type::AAAA, client(ip));
      CHECK(a6.region == want);
      REQUIRE(a6.addrs.size() >= 1);
      for (const auto& x : a6.addrs) CHECK(x.find(':') != std::string::npos);
      // IPv4-mapped on the IPv6 trie (IPv4 net keys: see the case below).
      if (ip.find(':') == std::string::npos && ip.rfind("81.2.69.1", 0) != 0)
        CHECK(decided_regions(t, "web", client("::ffff:" + ip)) == std::vector<std::string>{want});
      ++checked;
    }
    CHECK(checked >= 15);
  }

  TEST_CASE("geo: clients outside the database get default") {
    const auto set = load(kGeoConfig);
    const RoutingTable t(set, health_of({}));
    for (const char* ip : {"127.0.0.1", "10.1.2.3", "2001:db8::1", "::1"})
      CHECK(decided_regions(t, "web", client(ip)) == std::vector<std::string>{"us"});
  }

  TEST_CASE("geo: answers hold up to `answers` endpoints of the region, none twice") {
    const auto set = load(kGeoConfig);
    const RoutingTable t(set, health_of({}));
    for (int i = 0; i < 200; ++i) {
      const Answer a = answer(t, "web", dns::type::A, client("81.2.69.142"));  // eu: 2 IPv4 endpoints
      REQUIRE(a.addrs.size() == 2);
      CHECK(std::set<std::string>(a.addrs.begin(), a.addrs.end()) == std::set<std::string>{"192.0.2.11", "192.0.2.12"});
      const Answer b = answer(t, "web", dns::type::AAAA, client("81.2.69.142"));  // one IPv6 endpoint
      REQUIRE(b.addrs.size() == 1);
      CHECK(b.addrs[0] == "2001:db8::11");
    }
  }

  TEST_CASE("ECS scope: the database network's prefix when its neighbours differ") {
    const auto set = load(kGeoConfig);
    const RoutingTable t(set, health_of({}));
    // 216.160.83.56/29 is US/WA (usw); the sibling /29 is not.
    REQUIRE_FALSE(in_db_as_continent(*set, "216.160.83.49", {"NA"}));
    const RouteClient c = ecs(*set, "216.160.83.57", 32);
    const auto l = set->geo.city->lookup(4, c.address);
    REQUIRE(l.found);
    CHECK(scope_of(t, "web", c) == l.prefix_len);
    CHECK(scope_of(t, "web", c) == 29);
    const Answer a = answer(t, "web", dns::type::A, c);
    CHECK(a.r.scope == 29);
    CHECK(a.region == "usw");
  }

  TEST_CASE("ECS scope: the matched custom CIDR") {
    const auto set = load(kGeoConfig);
    const RoutingTable t(set, health_of({}));
    CHECK(scope_of(t, "web", ecs(*set, "81.2.69.161", 32)) == 28);
    CHECK(decided_regions(t, "web", ecs(*set, "81.2.69.161", 32)) == std::vector<std::string>{"ap"});
    // The other half of the GB /27 is eu, decided at /28 as well.
    CHECK(scope_of(t, "web", ecs(*set, "81.2.69.180", 32)) == 28);
    CHECK(decided_regions(t, "web", ecs(*set, "81.2.69.180", 32)) == std::vector<std::string>{"eu"});
    // IPv6 CIDR.
    CHECK(scope_of(t, "web", ecs(*set, "2a02:d180::1", 128)) == 29);
  }

  TEST_CASE("ECS scope: neighbouring networks with the same answer merge into a shorter scope") {
    const auto set = load(kGeoConfig);
    const RoutingTable t(set, health_of({}));
    // 214.0.0.0/24 (SG, AS) and 214.0.1.0/24 (AU, OC) are siblings under 214.0.0.0/23.
    REQUIRE(in_db_as_continent(*set, "214.0.0.1", {"AS"}));
    REQUIRE(in_db_as_continent(*set, "214.0.1.1", {"OC"}));
    // The /23 next to them must not also be AS/OC, or the merge would go further.
    REQUIRE_FALSE(in_db_as_continent(*set, "214.0.2.1", {"AS", "OC"}));
    REQUIRE_FALSE(in_db_as_continent(*set, "214.0.3.1", {"AS", "OC"}));
    // "web": AS -> [ap, eu] and OC -> [ap, us] differ as lists, but with ap up both
    // answer ap: the same decision, so they merge too.
    CHECK(scope_of(t, "web", ecs(*set, "214.0.0.1", 32)) == 23);
    CHECK(scope_of(t, "web", ecs(*set, "214.0.1.1", 32)) == 23);
    // With ap down they answer eu and us: /24 each.
    const RoutingTable ap_down(set, health_of({{"web/ap", "down"}}));
    CHECK(decided_regions(ap_down, "web", client("214.0.0.1")) == std::vector<std::string>{"eu"});
    CHECK(decided_regions(ap_down, "web", client("214.0.1.1")) == std::vector<std::string>{"us"});
    CHECK(scope_of(ap_down, "web", ecs(*set, "214.0.0.1", 32)) == 24);
    CHECK(scope_of(ap_down, "web", ecs(*set, "214.0.1.1", 32)) == 24);
    // "merged": the same list for both -> one /23.
    CHECK(scope_of(t, "merged", ecs(*set, "214.0.0.1", 32)) == 23);
    CHECK(scope_of(t, "merged", ecs(*set, "214.0.1.1", 32)) == 23);
    const Answer a = answer(t, "merged", dns::type::A, ecs(*set, "214.0.1.1", 32));
    CHECK(a.r.scope == 23);
  }

  TEST_CASE("ECS scope: health makes decisions equal, and they merge too") {
    const auto set = load(kGeoConfig);
    REQUIRE_FALSE(in_db_as_continent(*set, "214.0.2.1", {"AS", "OC"}));
    REQUIRE_FALSE(in_db_as_continent(*set, "214.0.3.1", {"AS", "OC"}));
    const RoutingTable healthy(set, health_of({}));
    CHECK(scope_of(healthy, "hm", ecs(*set, "214.0.0.1", 32)) == 24);
    CHECK(decided_regions(healthy, "hm", client("214.0.0.1")) == std::vector<std::string>{"x"});
    CHECK(decided_regions(healthy, "hm", client("214.0.1.1")) == std::vector<std::string>{"z"});
    const RoutingTable down(set, health_of({{"hm/x", "down"}, {"hm/z", "down"}}));
    CHECK(decided_regions(down, "hm", client("214.0.0.1")) == std::vector<std::string>{"y"});
    CHECK(decided_regions(down, "hm", client("214.0.1.1")) == std::vector<std::string>{"y"});
    CHECK(scope_of(down, "hm", ecs(*set, "214.0.0.1", 32)) == 23);
    const Answer a = answer(down, "hm", dns::type::A, ecs(*set, "214.0.1.1", 32));
    CHECK(a.r.ttl == 20);
    CHECK(a.r.scope == 23);
  }

  TEST_CASE("ECS max_prefix: only the capped prefix decides") {
    const char* config = R"({
      "dns": {"ecs": {"max_prefix": {"ipv4": 24, "ipv6": 24}}},
      "geoip": {"city": "@CITY@"},
      "services": {"web": {"policy": "geo",
        "geo": {"EU": ["eu"], "default": ["us"]},
        "regions": {"eu": {"endpoints": ["192.0.2.11"]}, "us": {"endpoints": ["192.0.2.21"]}}}}})";
    const auto capped = load(config);
    CHECK(capped->ecs.max_prefix_v4 == 24);
    CHECK(capped->ecs.max_prefix_v6 == 24);
    const RoutingTable t(capped, health_of({}));
    // Uncapped, 81.2.69.142/32 is GB (eu); 81.2.69.0 (what /24 leaves) is not in the database.
    REQUIRE(in_db_as_continent(*capped, "81.2.69.142", {"EU"}));
    REQUIRE_FALSE(in_db_as_continent(*capped, "81.2.69.0", {"EU"}));
    const RouteClient c = ecs(*capped, "81.2.69.142", 32);
    CHECK(addr_text(4, c.address) == "81.2.69.0");
    CHECK(decided_regions(t, "web", c) == decided_regions(t, "web", client("81.2.69.0")));
    CHECK(decided_regions(t, "web", c) == std::vector<std::string>{"us"});
    CHECK(decided_regions(t, "web", client("81.2.69.142")) == std::vector<std::string>{"eu"});  // packet source: not capped
    // A source prefix shorter than the cap is used as sent.
    const RouteClient c16 = ecs(*capped, "81.2.69.142", 16);
    CHECK(addr_text(4, c16.address) == "81.2.0.0");
    // IPv6: 2a02:d180::/29 (DE) is cut to /24 -> 2a02:d100:: , not in DE.
    const RouteClient c6 = ecs(*capped, "2a02:d180::1", 128);
    CHECK(addr_text(6, c6.address) == "2a02:d100::");
    CHECK(decided_regions(t, "web", c6) == decided_regions(t, "web", client("2a02:d100::")));
  }

  TEST_CASE("an IPv4-mapped address on the IPv6 trie also matches IPv4 net keys") {
    const auto set = load(kGeoConfig);
    const RoutingTable t(set, health_of({}));
    // 81.2.69.161 is in net:81.2.69.160/28 (ap); the database says GB (eu). The IPv6
    // trie follows the database's ::ffff:0:0/96 alias but not the IPv4 CIDR, so
    // ECS family 2 / `explain --client ::ffff:...` disagree with the IPv4 answer.
    CHECK(decided_regions(t, "web", client("81.2.69.161")) == std::vector<std::string>{"ap"});
    CHECK(decided_regions(t, "web", client("::ffff:81.2.69.161")) == std::vector<std::string>{"ap"});
    // The same client as ECS family 2: the IPv4 cap applies (not the IPv6 one, which
    // would cut the address to ::/56), and the scope is the IPv4 one in IPv6 bits.
    const RouteClient mapped = ecs(*set, "::ffff:81.2.69.161", 128);
    CHECK(decided_regions(t, "web", mapped) == std::vector<std::string>{"ap"});
    CHECK(scope_of(t, "web", mapped) == 96 + scope_of(t, "web", ecs(*set, "81.2.69.161", 32)));
  }

  TEST_CASE("ECS max_prefix: the scope never claims more bits than the cap let decide") {
    const char* config = R"({
      "dns": {"ecs": {"max_prefix": {"ipv4": 24, "ipv6": 56}}},
      "geoip": {"city": "@CITY@"},
      "services": {"web": {"policy": "geo",
        "geo": {"EU": ["eu"], "default": ["us"]},
        "regions": {"eu": {"endpoints": ["192.0.2.11"]}, "us": {"endpoints": ["192.0.2.21"]}}}}})";
    const auto set = load(config);
    const RoutingTable t(set, health_of({}));
    // The server looks at 24 bits only, so every address of 81.2.69.0/24 gets this
    // answer from it; a scope of more than 24 would split the resolver's cache
    // where the server's answer does not change.
    const Answer a = answer(t, "web", dns::type::A, ecs(*set, "81.2.69.142", 32));
    CHECK(a.r.scope <= 24);
    const Answer b = answer(t, "web", dns::type::A, ecs(*set, "2001:480:10::1", 128));
    CHECK(b.r.scope <= 56);
  }

  TEST_CASE("ECS defaults: /24 for IPv4 and /56 for IPv6") {
    const auto set = load(R"({"services": {"f": {"policy": "failover",
        "regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})");
    CHECK(set->ecs.enabled);
    CHECK(set->ecs.max_prefix_v4 == 24);
    CHECK(set->ecs.max_prefix_v6 == 56);
    const RouteClient c = ecs(*set, "198.51.100.77", 32);
    CHECK(addr_text(4, c.address) == "198.51.100.0");
    const RouteClient c6 = ecs(*set, "2001:db8:1:2ff:1::1", 128);
    CHECK(addr_text(6, c6.address) == "2001:db8:1:200::");
    CHECK(c.from_ecs);
  }
}

TEST_SUITE("routing.policies") {
  const char* const kPolicies = R"({
    "dns": {"ecs": {"max_prefix": {"ipv4": 32, "ipv6": 128}}},
    "geoip": {"city": "@CITY@"},
    "latency": "latency.json",
    "services": {
      "blue": {"policy": "weighted", "ttl": 60, "failover_ttl": 5,
               "regions": {"a": {"weight": 70, "endpoints": ["192.0.2.1"]},
                           "b": {"weight": 30, "endpoints": ["192.0.2.2"]}}},
      "api": {"policy": "failover", "ttl": 60, "failover_ttl": 10, "order": ["primary", "backup", "last"],
              "regions": {"backup": {"endpoints": ["192.0.2.20", "192.0.2.21"]},
                          "last": {"endpoints": ["192.0.2.30"]},
                          "primary": {"endpoints": ["192.0.2.10", {"address": "192.0.2.11", "weight": 2}]}}},
      "strict": {"policy": "failover", "ttl": 60, "failover_ttl": 10, "fail_open": false, "order": ["p", "q"],
                 "regions": {"p": {"endpoints": ["192.0.2.40"]}, "q": {"endpoints": ["192.0.2.41"]}}},
      "near": {"policy": "closest", "ttl": 120, "failover_ttl": 12,
               "regions": {"dublin": {"endpoints": ["192.0.2.61"], "location": [53.35, -6.26]},
                           "virginia": {"endpoints": ["192.0.2.62"], "location": [39.04, -77.49]},
                           "mumbai": {"endpoints": ["192.0.2.63"], "location": [19.08, 72.88]},
                           "sydney": {"endpoints": ["192.0.2.64"], "location": [-33.87, 151.21]},
                           "tokyo": {"endpoints": ["192.0.2.65"], "location": [35.68, 139.69]},
                           "seattle": {"endpoints": ["192.0.2.66"], "location": [47.61, -122.33]},
                           "saopaulo": {"endpoints": ["192.0.2.67"], "location": [-23.55, -46.63]}}},
      "fast": {"policy": "latency", "ttl": 60, "failover_ttl": 6, "tolerance_ms": 10,
               "regions": {"eu": {"weight": 1, "endpoints": ["192.0.2.71"]},
                           "us": {"weight": 3, "endpoints": ["192.0.2.72"]},
                           "ap": {"endpoints": ["192.0.2.73"]}}},
      "fast0": {"policy": "latency", "ttl": 60, "latency": "latency.json",
                "regions": {"eu": {"weight": 1, "endpoints": ["192.0.2.71"]},
                            "us": {"weight": 3, "endpoints": ["192.0.2.72"]},
                            "ap": {"endpoints": ["192.0.2.73"]}}},
      "pool": {"policy": "failover", "ttl": 60, "answers": 1,
               "regions": {"r": {"endpoints": [{"address": "192.0.2.81", "weight": 1},
                                               {"address": "192.0.2.82", "weight": 3},
                                               {"address": "2001:db8::81", "weight": 1},
                                               {"address": "2001:db8::82", "weight": 4}]}}},
      "pool2": {"policy": "failover", "ttl": 60, "answers": 2,
                "regions": {"r": {"endpoints": [{"address": "192.0.2.91", "weight": 1},
                                                {"address": "192.0.2.92", "weight": 2},
                                                {"address": "192.0.2.93", "weight": 7}]}}},
      "every": {"policy": "failover", "ttl": 60, "answers": "all",
                "regions": {"r": {"endpoints": ["192.0.2.101", "192.0.2.102", "192.0.2.103", "2001:db8::101"]}}}
    }
  })";

  TEST_CASE("weighted: region shares over 20,000 answers match 70/30 within 2 points; scope 0") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({}));
    const auto got = shares(kDraws, [&] { return answer(t, "blue", dns::type::A, client("81.2.69.142")).region; });
    CHECK(std::abs(got.at("a") - 0.70) <= kTolerance);
    CHECK(std::abs(got.at("b") - 0.30) <= kTolerance);
    CHECK(scope_of(t, "blue", ecs(*set, "81.2.69.142", 32)) == 0);
    CHECK(answer(t, "blue", dns::type::A, ecs(*set, "216.160.83.57", 32)).r.scope == 0);
    CHECK(answer(t, "blue", dns::type::A, client("81.2.69.142")).r.ttl == 60);
  }

  TEST_CASE("weighted: a down region leaves the answers; the rest carry the failover TTL") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({{"blue/a", "down"}}));
    for (int i = 0; i < 300; ++i) {
      const Answer a = answer(t, "blue", dns::type::A, client("81.2.69.142"));
      REQUIRE(a.region == "b");
      CHECK(a.r.ttl == 5);
      CHECK(a.r.failover);
    }
  }

  TEST_CASE("failover: fixed order, next region with the failover TTL, scope 0") {
    const auto set = load(kPolicies);
    {
      const RoutingTable t(set, health_of({}));
      const Answer a = answer(t, "api", dns::type::A, client("216.160.83.57"));
      CHECK(a.region == "primary");
      CHECK(a.r.ttl == 60);
      CHECK(scope_of(t, "api", ecs(*set, "216.160.83.57", 32)) == 0);
    }
    {
      const RoutingTable t(set, health_of({{"api/primary", "down"}}));
      const Answer a = answer(t, "api", dns::type::A, client("216.160.83.57"));
      CHECK(a.region == "backup");
      CHECK(a.r.ttl == 10);
      CHECK(a.r.failover);
      for (auto ttl : a.ttls) CHECK(ttl == 10);
    }
    {
      const RoutingTable t(set, health_of({{"api/primary", "down"}, {"api/backup", "down"}}));
      CHECK(answer(t, "api", dns::type::A, client("1.2.3.4")).region == "last");
    }
    {
      // "auto" is no override at all.
      const RoutingTable t(set, health_of({{"api/primary", "auto"}}));
      const Answer a = answer(t, "api", dns::type::A, client("1.2.3.4"));
      CHECK(a.region == "primary");
      CHECK(a.r.ttl == 60);
    }
  }

  TEST_CASE("health: every endpoint of a region down takes the region out") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({{"api/primary/192.0.2.10", "down"}, {"api/primary/192.0.2.11", "down"}}));
    const Answer a = answer(t, "api", dns::type::A, client("1.2.3.4"));
    CHECK(a.region == "backup");
    CHECK(a.r.ttl == 10);
  }

  TEST_CASE("health: a down endpoint is never answered; its region stays") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({{"api/backup/192.0.2.20", "down"}, {"api/primary", "down"}}));
    for (int i = 0; i < 200; ++i) {
      const Answer a = answer(t, "api", dns::type::A, client("1.2.3.4"));
      REQUIRE(a.region == "backup");
      REQUIRE(a.addrs == std::vector<std::string>{"192.0.2.21"});
    }
  }

  TEST_CASE("fail-open: every region down answers with the first choice's endpoints and the failover TTL") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({{"api/primary", "down"}, {"api/backup", "down"}, {"api/last", "down"},
                                         {"blue/a", "down"}, {"blue/b", "down"}}));
    std::set<std::string> seen;
    for (int i = 0; i < 200; ++i) {
      const Answer a = answer(t, "api", dns::type::A, client("1.2.3.4"));
      REQUIRE(a.region == "primary");
      CHECK(a.r.ttl == 10);
      CHECK_FALSE(a.r.nodata);
      REQUIRE(a.addrs.size() == 1);
      seen.insert(a.addrs[0]);
    }
    CHECK(seen == std::set<std::string>{"192.0.2.10", "192.0.2.11"});
    const Answer b = answer(t, "blue", dns::type::A, client("1.2.3.4"));
    CHECK((b.region == "a" || b.region == "b"));
    CHECK(b.r.ttl == 5);
  }

  TEST_CASE("fail-open also covers regions down through their endpoints") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({{"strict/p", "down"}, {"api/primary/192.0.2.10", "down"},
                                         {"api/primary/192.0.2.11", "down"}, {"api/backup", "down"},
                                         {"api/last", "down"}}));
    const Answer a = answer(t, "api", dns::type::A, client("1.2.3.4"));
    CHECK(a.region == "primary");
    CHECK(a.r.ttl == 10);
    REQUIRE(a.addrs.size() == 1);
  }

  TEST_CASE("fail_open false: every region down gives NODATA") {
    const auto set = load(kPolicies);
    {
      const RoutingTable t(set, health_of({{"strict/p", "down"}}));
      const Answer a = answer(t, "strict", dns::type::A, client("1.2.3.4"));
      CHECK(a.region == "q");
      CHECK(a.r.ttl == 10);
    }
    const RoutingTable t(set, health_of({{"strict/p", "down"}, {"strict/q", "down"}}));
    const Answer a = answer(t, "strict", dns::type::A, client("1.2.3.4"));
    CHECK(a.r.nodata);
    CHECK(a.r.records == 0);
    CHECK(a.addrs.empty());
    uint8_t scope = 0;
    const auto& d = decide(t, "strict", client("1.2.3.4"), scope);
    CHECK(d.all_down);
    CHECK(d.nodata);
  }

  TEST_CASE("closest: the nearest region by great-circle distance, for every located City-Test network") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({}));
    const int svc = set->find("near");
    const auto& service = set->services[static_cast<std::size_t>(svc)];
    auto km = [](double la1, double lo1, double la2, double lo2) {
      const double r = M_PI / 180;
      const double h = std::pow(std::sin((la2 - la1) * r / 2), 2) +
                       std::cos(la1 * r) * std::cos(la2 * r) * std::pow(std::sin((lo2 - lo1) * r / 2), 2);
      return 2 * 6371.0 * std::asin(std::sqrt(h));
    };
    int checked = 0;
    for (const auto& row : city_rows()) {
      if (!row["lat"].is_number()) continue;
      const double la = row["lat"], lo = row["lon"];
      std::vector<std::pair<double, std::string>> d;
      for (const auto& r : service.regions) d.emplace_back(km(la, lo, r.location->latitude, r.location->longitude), r.name);
      std::sort(d.begin(), d.end());
      if (d[1].first - d[0].first < 1.0) continue;  // a tie: either is right
      const std::string ip = row["ip"];
      INFO(ip << " at " << la << "," << lo << " nearest " << d[0].second << " then " << d[1].second);
      CHECK(answer(t, "near", dns::type::A, client(ip)).region == d[0].second);
      // With the nearest one down, the second nearest, with the failover TTL.
      const std::string key = "near/" + d[0].second;
      const RoutingTable t2(set, health_of({{key.c_str(), "down"}}));
      const Answer a = answer(t2, "near", dns::type::A, client(ip));
      CHECK(a.region == d[1].second);
      CHECK(a.r.ttl == 12);
      ++checked;
    }
    CHECK(checked >= 15);
  }

  TEST_CASE("latency: the lowest RTT row wins; within tolerance regions share by weight") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({}));
    // NA row [80, 12, 200]: us alone.
    CHECK(decided_regions(t, "fast", client("216.160.83.57")) == std::vector<std::string>{"us"});
    // AS row [150, 200, 30]: ap.
    CHECK(decided_regions(t, "fast", client("175.16.199.1")) == std::vector<std::string>{"ap"});
    // net row beats default: 198.51.100.0/24 [40, 12, 200] -> us; default [90, 60, 15] -> ap.
    CHECK(decided_regions(t, "fast", client("198.51.100.7")) == std::vector<std::string>{"us"});
    CHECK(decided_regions(t, "fast", client("127.0.0.1")) == std::vector<std::string>{"ap"});
    // EU row [18, 25, 140] with tolerance 10: eu and us tie; weights 1 and 3.
    const auto got = shares(kDraws, [&] { return answer(t, "fast", dns::type::A, client("81.2.69.142")).region; });
    CHECK(got.size() == 2);
    CHECK(std::abs(got.at("eu") - 0.25) <= kTolerance);
    CHECK(std::abs(got.at("us") - 0.75) <= kTolerance);
    CHECK(answer(t, "fast", dns::type::A, client("81.2.69.142")).r.ttl == 60);
    // Without tolerance the lowest RTT alone.
    CHECK(decided_regions(t, "fast0", client("81.2.69.142")) == std::vector<std::string>{"eu"});
  }

  TEST_CASE("latency: the lowest healthy RTT wins when the best is down") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({{"fast/us", "down"}}));
    // NA [80, 12, 200]: eu next.
    const Answer a = answer(t, "fast", dns::type::A, client("216.160.83.57"));
    CHECK(a.region == "eu");
    CHECK(a.r.ttl == 6);
    // EU tie tier loses us: eu only.
    for (int i = 0; i < 100; ++i) REQUIRE(answer(t, "fast", dns::type::A, client("81.2.69.142")).region == "eu");
  }

  TEST_CASE("latency: net rows with the same outcome merge their scope") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({}));
    // 198.51.100.0/24 and 198.51.101.0/24 both choose us; the /23 next door is default (ap).
    REQUIRE_FALSE(set->geo.city->lookup(4, client("198.51.102.1").address).found);
    REQUIRE_FALSE(set->geo.city->lookup(4, client("198.51.103.1").address).found);
    CHECK(scope_of(t, "fast", ecs(*set, "198.51.100.7", 32)) == 23);
    CHECK(scope_of(t, "fast", ecs(*set, "198.51.101.7", 32)) == 23);
  }

  TEST_CASE("endpoints by weight: shares within a region match 1:3 (A) and 1:4 (AAAA) within 2 points") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({}));
    const auto v4 = shares(kDraws, [&] {
      const Answer a = answer(t, "pool", dns::type::A, client("1.2.3.4"));
      REQUIRE(a.addrs.size() == 1);
      return a.addrs[0];
    });
    CHECK(std::abs(v4.at("192.0.2.81") - 0.25) <= kTolerance);
    CHECK(std::abs(v4.at("192.0.2.82") - 0.75) <= kTolerance);
    const auto v6 = shares(kDraws, [&] {
      const Answer a = answer(t, "pool", dns::type::AAAA, client("1.2.3.4"));
      REQUIRE(a.addrs.size() == 1);
      return a.addrs[0];
    });
    CHECK(std::abs(v6.at("2001:db8::81") - 0.20) <= kTolerance);
    CHECK(std::abs(v6.at("2001:db8::82") - 0.80) <= kTolerance);
  }

  TEST_CASE("endpoints by weight with answers 2: no repeats; the first pick follows the weights 1:2:7") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({}));
    std::map<std::string, int> appear;
    const auto first = shares(kDraws, [&] {
      const Answer a = answer(t, "pool2", dns::type::A, client("1.2.3.4"));
      REQUIRE(a.addrs.size() == 2);
      REQUIRE(a.addrs[0] != a.addrs[1]);
      for (const auto& x : a.addrs) ++appear[x];
      return a.addrs[0];
    });
    CHECK(std::abs(first.at("192.0.2.91") - 0.10) <= kTolerance);
    CHECK(std::abs(first.at("192.0.2.92") - 0.20) <= kTolerance);
    CHECK(std::abs(first.at("192.0.2.93") - 0.70) <= kTolerance);
    // Appearances in two draws without replacement: P(x appears) = w + sum_{y != x} w_y * w / (1 - w_y).
    const double w[3] = {0.1, 0.2, 0.7};
    const char* names[3] = {"192.0.2.91", "192.0.2.92", "192.0.2.93"};
    for (int x = 0; x < 3; ++x) {
      double p = w[x];
      for (int y = 0; y < 3; ++y)
        if (y != x) p += w[y] * w[x] / (1 - w[y]);
      INFO(names[x] << " expected " << p);
      CHECK(std::abs(static_cast<double>(appear[names[x]]) / kDraws - p) <= kTolerance);
    }
  }

  TEST_CASE("answers \"all\": every healthy endpoint of the family, once each") {
    const auto set = load(kPolicies);
    {
      const RoutingTable t(set, health_of({}));
      const Answer a = answer(t, "every", dns::type::A, client("1.2.3.4"));
      CHECK(std::multiset<std::string>(a.addrs.begin(), a.addrs.end()) ==
            std::multiset<std::string>{"192.0.2.101", "192.0.2.102", "192.0.2.103"});
      const Answer b = answer(t, "every", dns::type::AAAA, client("1.2.3.4"));
      CHECK(b.addrs == std::vector<std::string>{"2001:db8::101"});
    }
    const RoutingTable t(set, health_of({{"every/r/192.0.2.102", "down"}}));
    const Answer a = answer(t, "every", dns::type::A, client("1.2.3.4"));
    CHECK(std::multiset<std::string>(a.addrs.begin(), a.addrs.end()) ==
          std::multiset<std::string>{"192.0.2.101", "192.0.2.103"});
  }

  TEST_CASE("endpoint weights: a down endpoint's share goes to the others") {
    const auto set = load(kPolicies);
    const RoutingTable t(set, health_of({{"pool/r/192.0.2.82", "down"}}));
    for (int i = 0; i < 200; ++i) {
      const Answer a = answer(t, "pool", dns::type::A, client("1.2.3.4"));
      REQUIRE(a.addrs == std::vector<std::string>{"192.0.2.81"});
    }
  }

  TEST_CASE("ecs_client keeps exactly min(source prefix, cap) bits, for every length") {
    routing::EcsSettings ecs;
    ecs.max_prefix_v4 = 32;
    ecs.max_prefix_v6 = 128;
    uint8_t ones[16];
    std::memset(ones, 0xFF, sizeof ones);
    for (int family : {4, 6}) {
      const unsigned width = family == 4 ? 32 : 128;
      for (unsigned prefix = 0; prefix <= width; ++prefix) {
        CAPTURE(family);
        CAPTURE(prefix);
        const routing::RouteClient c = routing::ecs_client(family, ones, prefix, ecs);
        CHECK(c.bits == prefix);
        CHECK(c.from_ecs);
        for (unsigned bit = 0; bit < width; ++bit) {
          const bool set = (c.address[bit / 8] >> (7 - bit % 8)) & 1;
          CHECK(set == (bit < prefix));
        }
      }
    }
    // The cap cuts a longer source prefix.
    const routing::RouteClient capped = routing::ecs_client(4, ones, 32, routing::EcsSettings{});
    CHECK(capped.bits == 24);
    CHECK(capped.address[2] == 0xFF);
    CHECK(capped.address[3] == 0);
  }
}
