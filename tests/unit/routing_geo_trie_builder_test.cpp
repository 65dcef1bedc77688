// routing::build_class_tries (one bottom-up walk of the database for every
// service) against the per-network compile it replaced, written out here: every
// network of the database assigned into a trie from the root, then the ASN
// networks and net: keys, then compact(). Both must give the same leaves (same
// networks, same values, so the same ECS scopes) on the test databases; and the
// IPv4 subtree the IPv6 trie shares under MaxMind's aliases must not let an
// overlay on one alias change the others.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <string>
#include <tuple>
#include <vector>

#include "unit/support/client_keys.hpp"
#include "config/json_source.hpp"
#include "routing/classifier.hpp"
#include "routing/service_set.hpp"

using namespace meridian;
using routing::ClientKey;
using routing::GeoSources;
using routing::PrefixTrie;

namespace {

const std::string kSrc = MERIDIAN_SOURCE_DIR;
const std::string kCity = kSrc + "/tests/data/geoip/GeoIP2-City-Test.mmdb";
const std::string kCountry = kSrc + "/tests/data/geoip/GeoIP2-Country-Test.mmdb";
const std::string kAsn = kSrc + "/tests/data/geoip/GeoLite2-ASN-Test.mmdb";
const std::string kDemo = kSrc + "/geodata/demo-city.mmdb";

using meridian::test::keys_of;

std::array<uint8_t, 16> address(const char* text) {
  std::array<uint8_t, 16> a{};
  const bool v6 = std::string(text).find(':') != std::string::npos;
  REQUIRE_MESSAGE(inet_pton(v6 ? AF_INET6 : AF_INET, text, a.data()) == 1, text);
  return a;
}

// The compile before the shared builder, per family (values are key indexes).
PrefixTrie per_network_compile(const std::vector<ClientKey>& keys, const GeoSources& geo, int family) {
  const int fallback = routing::fallback_key(keys);
  PrefixTrie trie(fallback >= 0 ? static_cast<uint32_t>(fallback) : static_cast<uint32_t>(keys.size()));
  if (geo.city) {
    geo.city->walk(family, [&](const uint8_t* addr, unsigned len, const geo::GeoRecord& r) {
      const int k = routing::match_record(keys, r);
      if (k >= 0) trie.assign(family, addr, len, static_cast<uint32_t>(k));
    });
  }
  if (geo.asn) {
    geo.asn->walk(family, [&](const uint8_t* addr, unsigned len, const geo::GeoRecord& r) {
      for (std::size_t i = 0; i < keys.size(); ++i)
        if (keys[i].kind == ClientKey::by_asn && keys[i].asn_number == r.asn) trie.assign(family, addr, len, static_cast<uint32_t>(i));
    });
  }
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (keys[i].kind == ClientKey::by_net && keys[i].family == family) order.push_back(i);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return keys[a].prefix_len < keys[b].prefix_len; });
  for (std::size_t i : order) trie.assign(family, keys[i].address, keys[i].prefix_len, static_cast<uint32_t>(i));
  trie.compact();
  return trie;
}

// Every leaf in address order: the network (first address, prefix) and its value.
using Leaf = std::tuple<std::array<uint8_t, 16>, unsigned, uint32_t>;
std::vector<Leaf> leaves(const PrefixTrie& t, int family) {
  std::vector<Leaf> out;
  t.for_each_leaf(family, [&](const uint8_t* addr, unsigned len, uint32_t value) {
    std::array<uint8_t, 16> a{};
    std::copy(addr, addr + 16, a.begin());
    out.emplace_back(a, len, value);
  });
  return out;
}

std::string text(const Leaf& l) {
  char buf[64];
  inet_ntop(AF_INET6, std::get<0>(l).data(), buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(std::get<1>(l)) + " = " + std::to_string(std::get<2>(l));
}

void same_leaves(const PrefixTrie& expected, const PrefixTrie& actual, int family) {
  const auto want = leaves(expected, family), got = leaves(actual, family);
  CHECK(want.size() == got.size());
  for (std::size_t i = 0; i < std::min(want.size(), got.size()); ++i) {
    if (want[i] == got[i]) continue;
    FAIL_CHECK("first differing leaf #" << i << ": per-network " << text(want[i]) << ", builder " << text(got[i]));
    return;
  }
}

std::shared_ptr<const routing::ServiceSet> load(const std::string& json) {
  const config::JsonSource src = config::JsonSource::parse(json, "meridian.json");
  config::Diagnostics d;
  auto set = routing::load_services(src, kSrc + "/tests/data/routing/", d);
  INFO(d.to_string());
  REQUIRE(d.empty());
  return set;
}

}  // namespace

TEST_SUITE("routing.geo_trie_builder") {
  TEST_CASE("the one-walk builder gives the per-network compile's leaves on every test database") {
    struct Case {
      std::string city;
      bool with_asn;
      std::vector<ClientKey> keys;
    };
    const std::vector<Case> cases = {
        {kCity, false, keys_of({"AF", "AS", "EU", "NA", "OC", "SA", "default"})},
        {kCity, false, keys_of({"EU"})},  // no default: unmatched addresses hold keys.size()
        {kCity, false,
         keys_of({"EU", "NA", "AS", "country:GB", "country:US", "country:US/WA", "country:CN/22", "country:GB/SCT",
                  "net:81.2.69.160/28", "net:175.16.0.0/16", "net:2a02:d180::/32", "net:10.0.0.0/8", "net:10.1.0.0/16",
                  "net:::ffff:81.2.69.0/120", "net:2002:5102:4500::/40", "default"})},
        {kCity, true, keys_of({"country:SE", "EU", "asn:29518", "asn:3320", "asn:7018", "country:US", "net:89.160.20.128/25",
                               "default"})},
        {kCountry, false, keys_of({"EU", "NA", "AS", "country:US", "country:GB", "default"})},
        {kDemo, false, keys_of({"EU", "NA", "AS", "OC", "SA", "AF", "country:DE", "country:US/CA", "default"})},
    };
    for (const Case& c : cases) {
      GeoSources geo;
      geo.city = geo::GeoipDatabase::open(c.city);
      if (c.with_asn) geo.asn = geo::GeoipDatabase::open(kAsn);
      const auto built = routing::classify_by_keys(c.keys, geo);
      for (int family : {4, 6}) {
        CAPTURE(c.city);
        CAPTURE(c.keys.front().text);
        CAPTURE(family);
        const PrefixTrie expected = per_network_compile(c.keys, geo, family);
        same_leaves(expected, built, family);
      }
    }
  }

  TEST_CASE("closest: one distance order per location, the same leaves as per network") {
    const auto set = load(R"({"geoip": {"city": ")" + kCity + R"("}, "services": {
      "near": {"policy": "closest", "regions": {
        "eu": {"endpoints": ["192.0.2.1"], "location": [53.35, -6.26]},
        "us": {"endpoints": ["192.0.2.2"], "location": [39.04, -77.49]},
        "ap": {"endpoints": ["192.0.2.3"], "location": [1.35, 103.82]},
        "xx": {"endpoints": ["192.0.2.4"]}}}}})");
    const routing::Service& s = set->services.front();
    // The per-network compile, its classes kept as preferences.
    auto order_from = [&](const routing::Location& client) {
      std::vector<std::pair<double, uint16_t>> d;
      for (uint16_t r = 0; r < s.regions.size(); ++r)
        if (s.regions[r].location) d.emplace_back(routing::distance_km(client, *s.regions[r].location), r);
      std::stable_sort(d.begin(), d.end());
      routing::Preference p;
      for (const auto& [km, r] : d) p.tiers.push_back(routing::Tier{{r}});
      for (uint16_t r = 0; r < s.regions.size(); ++r)
        if (!s.regions[r].location) p.tiers.push_back(routing::Tier{{r}});
      return p;
    };
    for (int family : {4, 6}) {
      std::vector<routing::Preference> classes{s.classes.front()};  // class 0: every region, as compile_classes makes it
      PrefixTrie expected(0);
      set->geo.city->walk(family, [&](const uint8_t* addr, unsigned len, const geo::GeoRecord& r) {
        if (!r.has_location) return;
        const routing::Preference p = order_from({r.latitude, r.longitude});
        std::size_t i = 0;
        while (i < classes.size() && !(classes[i] == p)) ++i;
        if (i == classes.size()) classes.push_back(p);
        expected.assign(family, addr, len, static_cast<uint32_t>(i));
      });
      expected.compact();
      // Classes are numbered in the order addresses first meet them, in both.
      CHECK(classes.size() <= s.classes.size());
      const std::vector<Leaf> want = leaves(expected, family);  // values index `classes`
      const std::vector<Leaf> got = leaves(s.trie, family);
      REQUIRE(want.size() == got.size());
      for (std::size_t i = 0; i < want.size(); ++i) {
        CAPTURE(text(want[i]));
        REQUIRE(std::get<0>(want[i]) == std::get<0>(got[i]));
        REQUIRE(std::get<1>(want[i]) == std::get<1>(got[i]));
        REQUIRE(classes[std::get<2>(want[i])] == s.classes[std::get<2>(got[i])]);
      }
    }
  }

  TEST_CASE("IPv6 leads to the IPv4 nodes under the aliases; a net key on one alias changes that range only") {
    GeoSources geo;
    geo.city = geo::GeoipDatabase::open(kCity);
    const auto plain_keys = keys_of({"EU", "NA", "AS", "country:US/WA", "default"});
    const auto plain = routing::classify_by_keys(plain_keys, geo);
    // The test database aliases ::ffff:0:0/96, 2001::/32 and 2002::/16 to ::/96.
    REQUIRE(plain.shared());
    // IPv4 is held once: counted as trees, the IPv4 trie has L4 - 1 nodes and the
    // IPv6 trie L6 - 1, four copies of IPv4's among them (::/96 and the three
    // aliases); the trie holds one of those copies in all.
    const std::size_t l4 = leaves(plain, 4).size(), l6 = leaves(plain, 6).size();
    REQUIRE(l4 > 100);
    CHECK(plain.node_count() == (l6 - 1) - 3 * (l4 - 1));
    // 6to4 of 81.2.69.0/24 (GB, EU) gets its own key; the same IPv4 addresses in
    // the other forms, and the IPv4 trie, keep the database's answer.
    auto keys = plain_keys;
    const auto extra = keys_of({"net:2002:5102:4500::/40", "net:81.2.69.0/25"});
    keys.insert(keys.end() - 1, extra.begin(), extra.end());  // before "default": the indexes of the plain keys hold
    const uint32_t six_to_four = 4, v4_net = 5, eu = 0;
    REQUIRE(keys[six_to_four].text == "net:2002:5102:4500::/40");
    const auto t = routing::classify_by_keys(keys, geo);
    auto value = [](const PrefixTrie& trie, const char* a) {
      return trie.lookup(std::string(a).find(':') == std::string::npos ? 4 : 6, address(a).data()).value;
    };
    // The plain keys keep their indexes but "default", which moved from 4 to 6.
    const uint32_t old_default = 4, new_default = 6;
    auto plain_value = [&](const char* a) {
      const uint32_t v = value(plain, a);
      return v == old_default ? new_default : v;
    };
    // 81.2.69.142 is GB (EU) in the database.
    CHECK(value(t, "2002:5102:458e::1") == six_to_four);
    CHECK(value(t, "2002:5102:4500::1") == six_to_four);
    CHECK(value(t, "2002:5102:45ff:ffff::1") == six_to_four);
    for (const char* other : {"::ffff:81.2.69.142", "::81.2.69.142", "2001:0:5102:458e::1", "2002:5102:448e::1",
                              "2002:5102:468e::1", "2002:5102:4400::1"}) {
      CAPTURE(std::string(other));
      CHECK(value(t, other) == plain_value(other));
    }
    CHECK(value(plain, "::ffff:81.2.69.142") == eu);
    CHECK(value(plain, "2002:5102:458e::1") == eu);
    // The IPv4 net key is IPv4's alone (its path was copied, not written through).
    CHECK(value(t, "81.2.69.1") == v4_net);
    CHECK(value(t, "::ffff:81.2.69.142") == eu);
    // Leaf by leaf: outside 2002:5102:4500::/40 the IPv6 trie is the plain one.
    std::vector<Leaf> want;
    for (Leaf l : leaves(plain, 6)) {
      if (std::get<2>(l) == old_default) std::get<2>(l) = new_default;
      want.push_back(l);
    }
    // Leaves that overlap 2002:5102:4500::/40 (inside it, or a shorter network holding it).
    const std::array<uint8_t, 16> range = address("2002:5102:4500::");
    auto outside = [&](std::vector<Leaf> v) {
      v.erase(std::remove_if(v.begin(), v.end(),
                             [&](const Leaf& l) {
                               const unsigned common = std::min(std::get<1>(l), 40u);
                               for (unsigned b = 0; b < common; ++b)
                                 if (((std::get<0>(l)[b / 8] ^ range[b / 8]) >> (7 - b % 8)) & 1) return false;
                               return true;
                             }),
              v.end());
      return v;
    };
    const auto want_outside = outside(want), got_outside = outside(leaves(t, 6));
    CHECK(want_outside.size() > 100);
    CHECK(want_outside == got_outside);
    // Sharing survives the overlay (copied path only) and compact().
    CHECK(t.shared());
    CHECK(t.node_count() < plain.node_count() + 200);
  }
}

TEST_SUITE("routing.trie") {
  TEST_CASE("a shared subtree: assign copies its path, compact and remap keep the sharing") {
    // Build bottom-up: 0/1 and 1/1 both lead to one subtree (0 | 1 at depth 2).
    PrefixTrie t(0);
    const uint32_t shared = t.join(PrefixTrie::leaf_slot(1), PrefixTrie::leaf_slot(2));
    t.set_root(4, t.join(shared, shared));
    t.mark_shared();
    const uint8_t a00[4] = {0x00}, a40[4] = {0x40}, a80[4] = {0x80}, ac0[4] = {0xC0};
    CHECK(t.lookup(4, a00).value == 1);
    CHECK(t.lookup(4, a40).value == 2);
    CHECK(t.lookup(4, a80).value == 1);
    CHECK(t.lookup(4, ac0).value == 2);
    CHECK(t.lookup(4, ac0).depth == 2);
    // Writing 11/2 must not change 01/2 through the shared node.
    t.assign(4, ac0, 2, 7);
    CHECK(t.lookup(4, ac0).value == 7);
    CHECK(t.lookup(4, a40).value == 2);
    CHECK(t.lookup(4, a80).value == 1);
    // compact: the untouched half stays one node, the copied half its own.
    PrefixTrie before_remap = t;
    t.compact();
    CHECK(t.node_count() == 3);
    CHECK(t.lookup(4, a40).value == 2);
    CHECK(t.lookup(4, ac0).value == 7);
    // remap that makes the halves equal merges them into leaves, shorter scope.
    const PrefixTrie r = before_remap.remap({0, 5, 5, 0, 0, 0, 0, 5});
    CHECK(r.node_count() == 0);
    CHECK(r.lookup(4, ac0).depth == 0);
    // A shared DAG of n distinct nodes stays n nodes through remap.
    PrefixTrie dag(0);
    const uint32_t s = dag.join(PrefixTrie::leaf_slot(1), PrefixTrie::leaf_slot(2));
    dag.set_root(4, dag.join(dag.join(s, s), dag.join(s, s)));
    dag.mark_shared();
    CHECK(dag.remap({0, 1, 2}).node_count() == dag.node_count());
  }

  TEST_CASE("IPv6 leading to the IPv4 root: IPv4 assigns copy their path, remap keeps one copy of what is shared") {
    PrefixTrie t(0);
    const uint32_t half = t.join(PrefixTrie::leaf_slot(1), PrefixTrie::leaf_slot(2));
    t.set_root(4, t.join(half, PrefixTrie::leaf_slot(3)));
    // IPv6: 8000::/1 is the IPv4 space (as ::/96 is in a MaxMind tree), 0::/1 value 0.
    t.set_root(6, t.join(PrefixTrie::leaf_slot(0), t.root(4)));
    t.mark_shared();
    const uint8_t v4_low[4] = {0x00}, v4_mid[4] = {0x40}, v4_high[4] = {0x80};
    const uint8_t v6_low[16] = {0x80}, v6_mid[16] = {0xA0}, v6_high[16] = {0xC0}, v6_other[16] = {0x00};
    CHECK(t.lookup(6, v6_low).value == 1);
    CHECK(t.lookup(6, v6_mid).value == 2);
    CHECK(t.lookup(6, v6_mid).depth == 3);
    CHECK(t.lookup(6, v6_high).value == 3);
    CHECK(t.lookup(6, v6_other).value == 0);
    CHECK(t.node_count() == 3);
    // Each family's remap finds the shared nodes done: still 3 nodes.
    const PrefixTrie same = t.remap({0, 1, 2, 3});
    CHECK(same.node_count() == 3);
    CHECK(same.lookup(6, v6_mid).value == 2);
    CHECK(same.lookup(4, v4_mid).depth == 2);
    // An IPv4 assign leaves the IPv6 view of the same addresses alone.
    t.assign(4, v4_mid, 2, 9);
    CHECK(t.lookup(4, v4_mid).value == 9);
    CHECK(t.lookup(4, v4_low).value == 1);
    CHECK(t.lookup(6, v6_mid).value == 2);
    t.compact();
    CHECK(t.lookup(4, v4_mid).value == 9);
    CHECK(t.lookup(4, v4_high).value == 3);
    CHECK(t.lookup(6, v6_mid).value == 2);
    CHECK(t.lookup(6, v6_high).value == 3);
    CHECK(t.node_count() == 5);  // IPv4: root and a new half; IPv6: root, the old IPv4 root and half
  }
}
