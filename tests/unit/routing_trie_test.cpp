// routing::PrefixTrie (assign, lookup, remap, compact, merge depths) and the
// geo-map keys (parse_client_key, match_net, match_record), checked against a
// brute-force model written here.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "routing/client_key.hpp"
#include "routing/prefix_trie.hpp"

using meridian::routing::ClientKey;
using meridian::routing::PrefixTrie;

namespace {

std::array<uint8_t, 16> v4(const char* text) {
  std::array<uint8_t, 16> a{};
  REQUIRE(inet_pton(AF_INET, text, a.data()) == 1);
  return a;
}
std::array<uint8_t, 16> v6(const char* text) {
  std::array<uint8_t, 16> a{};
  REQUIRE(inet_pton(AF_INET6, text, a.data()) == 1);
  return a;
}

bool bit_of(const uint8_t* a, unsigned i) { return (a[i / 8] >> (7 - i % 8)) & 1; }

// The model: a list of (network, value) assignments, later ones win where they
// cover an address (that is what assign promises).
struct Model {
  unsigned bits;
  uint32_t initial;
  struct Net {
    std::array<uint8_t, 16> addr;
    unsigned len;
    uint32_t value;
  };
  std::vector<Net> nets;

  static bool contains(const Net& n, const uint8_t* a) {
    for (unsigned i = 0; i < n.len; ++i)
      if (bit_of(n.addr.data(), i) != bit_of(a, i)) return false;
    return true;
  }
  uint32_t value(const uint8_t* a) const {
    uint32_t v = initial;
    for (const auto& n : nets)
      if (contains(n, a)) v = n.value;
    return v;
  }
};

// The shortest prefix of addr whose every address has the same value in a
// 8-bit model space (exhaustive: only for tries over 8 bits).
unsigned uniform_depth8(const Model& m, uint8_t addr, const std::vector<uint32_t>* mapping = nullptr) {
  auto val = [&](uint8_t a) {
    uint8_t b[16] = {a};
    const uint32_t v = m.value(b);
    return mapping && v < mapping->size() ? (*mapping)[v] : v;
  };
  const uint32_t mine = val(addr);
  for (unsigned len = 0; len <= 8; ++len) {
    const unsigned span = 1u << (8 - len);
    const unsigned base = len == 0 ? 0 : (addr & (0xFFu << (8 - len)) & 0xFF);
    bool uniform = true;
    for (unsigned x = base; x < base + span && uniform; ++x) uniform = val(static_cast<uint8_t>(x)) == mine;
    if (uniform) return len;
  }
  return 8;
}

}  // namespace

TEST_SUITE("routing.prefix_trie") {
  TEST_CASE("a fresh trie maps every address to the initial value at depth 0") {
    PrefixTrie t(7);
    const auto a = v4("203.0.113.9");
    const auto r = t.lookup(4, a.data());
    CHECK(r.value == 7);
    CHECK(r.depth == 0);
    PrefixTrie t6(3);
    const auto b = v6("2001:db8::1");
    CHECK(t6.lookup(6, b.data()).value == 3);
    CHECK(t6.lookup(6, b.data()).depth == 0);
  }

  TEST_CASE("assign: the leaf depth is the assigned prefix; neighbours keep their value") {
    PrefixTrie t(0);
    const auto net = v4("10.0.0.0");
    t.assign(4, net.data(), 8, 5);
    const auto in = v4("10.200.3.4");
    const auto out = v4("11.0.0.1");
    CHECK(t.lookup(4, in.data()).value == 5);
    CHECK(t.lookup(4, in.data()).depth == 8);
    CHECK(t.lookup(4, out.data()).value == 0);
    CHECK(t.lookup(4, out.data()).depth == 8);  // the sibling split at the same depth
    const auto far = v4("200.1.1.1");
    CHECK(t.lookup(4, far.data()).value == 0);
    CHECK(t.lookup(4, far.data()).depth == 1);

    // A more specific assignment inside, then a shorter one over it replaces both.
    const auto sub = v4("10.1.0.0");
    t.assign(4, sub.data(), 16, 9);
    const auto in_sub = v4("10.1.2.3");
    CHECK(t.lookup(4, in_sub.data()).value == 9);
    CHECK(t.lookup(4, in_sub.data()).depth == 16);
    CHECK(t.lookup(4, in.data()).value == 5);
    t.assign(4, net.data(), 7, 4);  // 10.0.0.0/7 covers 10/8 and 11/8
    CHECK(t.lookup(4, in_sub.data()).value == 4);
    CHECK(t.lookup(4, out.data()).value == 4);
    CHECK(t.lookup(4, in_sub.data()).depth == 7);
  }

  TEST_CASE("assign with prefix 0 replaces everything; longer than the width is clamped") {
    PrefixTrie t(0);
    const auto a = v4("192.0.2.1");
    t.assign(4, a.data(), 24, 3);
    t.assign(4, a.data(), 0, 8);
    CHECK(t.lookup(4, a.data()).value == 8);
    CHECK(t.lookup(4, a.data()).depth == 0);
    t.assign(4, a.data(), 40, 6);
    CHECK(t.lookup(4, a.data()).value == 6);
    CHECK(t.lookup(4, a.data()).depth == 32);
    const auto b = v4("192.0.2.0");
    CHECK(t.lookup(4, b.data()).value == 8);
  }

  TEST_CASE("IPv6 assign and lookup at /48 and /128") {
    PrefixTrie t(1);
    const auto n48 = v6("2001:db8:1::");
    t.assign(6, n48.data(), 48, 2);
    const auto host = v6("2001:db8:1::53");
    t.assign(6, host.data(), 128, 3);
    CHECK(t.lookup(6, host.data()).value == 3);
    CHECK(t.lookup(6, host.data()).depth == 128);
    const auto other = v6("2001:db8:1:ffff::1");
    CHECK(t.lookup(6, other.data()).value == 2);
    // The /128 sits in the lower half of the /48, so the upper half is a /49 leaf.
    CHECK(t.lookup(6, other.data()).depth == 49);
    const auto outside = v6("2001:db8:2::1");
    CHECK(t.lookup(6, outside.data()).value == 1);
  }

  TEST_CASE("compact merges equal siblings up to the shortest uniform prefix") {
    PrefixTrie t(0);
    // 192.0.2.0/25 and 192.0.2.128/25 both 5: together the /24.
    const auto lo = v4("192.0.2.0");
    const auto hi = v4("192.0.2.128");
    t.assign(4, lo.data(), 25, 5);
    t.assign(4, hi.data(), 25, 5);
    CHECK(t.lookup(4, lo.data()).depth == 25);
    const std::size_t before = t.node_count();
    t.compact();
    CHECK(t.node_count() < before);
    CHECK(t.lookup(4, lo.data()).value == 5);
    CHECK(t.lookup(4, lo.data()).depth == 24);
    CHECK(t.lookup(4, hi.data()).depth == 24);
    // Assigning the initial value back makes the whole space uniform: depth 0.
    t.assign(4, lo.data(), 24, 0);
    t.compact();
    CHECK(t.lookup(4, lo.data()).depth == 0);
    CHECK(t.node_count() == 0);
  }

  TEST_CASE("remap maps values and merges neighbours that now agree") {
    PrefixTrie t(0);
    const auto a = v4("198.51.100.0");
    const auto b = v4("198.51.100.128");
    t.assign(4, a.data(), 25, 1);
    t.assign(4, b.data(), 25, 2);
    const PrefixTrie same = t.remap({0, 1, 2});
    CHECK(same.lookup(4, a.data()).depth == 25);
    CHECK(same.lookup(4, b.data()).value == 2);
    const PrefixTrie merged = t.remap({0, 7, 7});
    CHECK(merged.lookup(4, a.data()).value == 7);
    CHECK(merged.lookup(4, b.data()).value == 7);
    CHECK(merged.lookup(4, a.data()).depth == 24);
    // Mapping everything to one value leaves a single leaf.
    const PrefixTrie one = t.remap({4, 4, 4});
    CHECK(one.lookup(4, a.data()).depth == 0);
    CHECK(one.lookup(4, a.data()).value == 4);
    // The source trie is unchanged.
    CHECK(t.lookup(4, a.data()).value == 1);
    CHECK(t.lookup(4, a.data()).depth == 25);
  }

  TEST_CASE("lookup with a prefix length stops at that depth or reports the leftmost leaf") {
    PrefixTrie t(0);
    const auto a = v4("10.1.0.0");
    t.assign(4, a.data(), 16, 3);
    const auto q = v4("10.1.9.9");
    CHECK(t.lookup(4, q.data(), 32).value == 3);
    CHECK(t.lookup(4, q.data(), 32).depth == 16);
    const auto r = t.lookup(4, q.data(), 8);  // 10.0.0.0/8 is not uniform: leftmost leaf
    CHECK(r.depth >= 8);
  }

  TEST_CASE("for_each_leaf covers the whole space once, in address order") {
    PrefixTrie t(0);
    const auto a = v4("10.0.0.0");
    const auto b = v4("10.128.0.0");
    t.assign(4, a.data(), 8, 1);
    t.assign(4, b.data(), 9, 2);
    t.compact();
    double covered = 0;
    uint64_t last = 0;
    bool ordered = true;
    bool first = true;
    std::map<uint32_t, double> share;
    t.for_each_leaf(4, [&](const uint8_t* addr, unsigned len, uint32_t value) {
      const uint64_t start = (uint64_t{addr[0]} << 24) | (addr[1] << 16) | (addr[2] << 8) | addr[3];
      if (!first && start <= last) ordered = false;
      first = false;
      last = start;
      covered += 1.0 / static_cast<double>(uint64_t{1} << len);
      share[value] += 1.0 / static_cast<double>(uint64_t{1} << len);
    });
    CHECK(ordered);
    CHECK(covered == doctest::Approx(1.0));
    CHECK(share[1] == doctest::Approx(1.0 / 512));
    CHECK(share[2] == doctest::Approx(1.0 / 512));
  }

  TEST_CASE("random assignments over an 8-bit space agree with a brute-force model, before and after merging") {
    std::mt19937 rng(20261127);
    for (int round = 0; round < 200; ++round) {
      Model m{8, 0, {}};
      PrefixTrie t(0);
      const int n = 1 + static_cast<int>(rng() % 12);
      for (int i = 0; i < n; ++i) {
        Model::Net net{};
        net.len = rng() % 9;
        net.addr[0] = static_cast<uint8_t>(rng() & (net.len ? (0xFFu << (8 - net.len)) : 0));
        net.value = rng() % 3;
        m.nets.push_back(net);
        t.assign(4, net.addr.data(), net.len, net.value);
      }
      PrefixTrie c = t;
      c.compact();
      const std::vector<uint32_t> mapping = {0, 1, 0};  // 2 -> 0: more merging
      const PrefixTrie r = t.remap(mapping);
      for (unsigned x = 0; x < 256; ++x) {
        uint8_t a[16] = {static_cast<uint8_t>(x)};
        const uint32_t want = m.value(a);
        INFO("round " << round << " address " << x);
        REQUIRE(t.lookup(4, a).value == want);
        REQUIRE(c.lookup(4, a).value == want);
        REQUIRE(c.lookup(4, a).depth == uniform_depth8(m, static_cast<uint8_t>(x)));
        REQUIRE(r.lookup(4, a).value == mapping[want]);
        REQUIRE(r.lookup(4, a).depth == uniform_depth8(m, static_cast<uint8_t>(x), &mapping));
      }
    }
  }
}

TEST_SUITE("routing.client_key") {
  TEST_CASE("every kind of key parses") {
    std::string err;
    auto k = meridian::routing::parse_client_key("net:10.0.0.0/8", err);
    REQUIRE(k);
    CHECK(k->kind == ClientKey::by_net);
    CHECK(k->family == 4);
    CHECK(k->prefix_len == 8);
    CHECK(k->address[0] == 10);
    k = meridian::routing::parse_client_key("net:2001:db8::/32", err);
    REQUIRE(k);
    CHECK(k->family == 6);
    CHECK(k->prefix_len == 32);
    k = meridian::routing::parse_client_key("asn:64496", err);
    REQUIRE(k);
    CHECK(k->kind == ClientKey::by_asn);
    CHECK(k->asn_number == 64496);
    k = meridian::routing::parse_client_key("country:US/WA", err);
    REQUIRE(k);
    CHECK(k->kind == ClientKey::by_subdivision);
    CHECK(k->country == "US");
    CHECK(k->subdivision == "WA");
    k = meridian::routing::parse_client_key("country:GB", err);
    REQUIRE(k);
    CHECK(k->kind == ClientKey::by_country);
    for (const char* c : {"AF", "AN", "AS", "EU", "NA", "OC", "SA"}) {
      k = meridian::routing::parse_client_key(c, err);
      REQUIRE(k);
      CHECK(k->kind == ClientKey::by_continent);
      CHECK(k->continent == c);
    }
    k = meridian::routing::parse_client_key("default", err);
    REQUIRE(k);
    CHECK(k->kind == ClientKey::by_default);
    // Precedence order of the kinds, most specific first.
    CHECK(ClientKey::by_net < ClientKey::by_asn);
    CHECK(ClientKey::by_asn < ClientKey::by_subdivision);
    CHECK(ClientKey::by_subdivision < ClientKey::by_country);
    CHECK(ClientKey::by_country < ClientKey::by_continent);
    CHECK(ClientKey::by_continent < ClientKey::by_default);
  }

  TEST_CASE("malformed keys are rejected with a message that quotes them") {
    const char* const bad[] = {
        "net:10.0.0.0",       // no prefix
        "net:10.0.0.0/33",    // too long for IPv4
        "net:2001:db8::/129", // too long for IPv6
        "net:10.0.0.1/8",     // host bits set
        "net:10.0.0.0/x",     // not a number
        "net:10.0.0.0/8x",    // trailing junk
        "net:banana/8",       // not an address
        "net:/8",
        "asn:",               // no number
        "asn:0",              // not an AS number
        "asn:12x",
        "asn:-5",
        "asn:99999999999",    // beyond 32 bits
        "country:usa",        // not two capitals
        "country:us",
        "country:U",
        "country:US/",        // empty subdivision
        "country:US/wa",      // lower case
        "country:US/ABCD",    // too long
        "XX",                 // not a continent
        "eu",                 // lower-case continent
        "Europe",
        "",
        "defaults",
    };
    for (const char* text : bad) {
      std::string err;
      INFO("key \"" << text << "\"");
      const auto k = meridian::routing::parse_client_key(text, err);
      CHECK_FALSE(k.has_value());
      CHECK_FALSE(err.empty());
      if (*text) CHECK(err.find(text) != std::string::npos);
    }
  }

  TEST_CASE("match_net picks the longest containing network of the right family") {
    std::string err;
    std::vector<ClientKey> keys;
    for (const char* t : {"net:10.0.0.0/8", "net:10.1.0.0/16", "EU", "net:2001:db8::/32", "net:10.1.2.0/24"})
      keys.push_back(*meridian::routing::parse_client_key(t, err));
    auto a = v4("10.1.2.3");
    CHECK(meridian::routing::match_net(keys, 4, a.data()) == 4);
    a = v4("10.1.9.3");
    CHECK(meridian::routing::match_net(keys, 4, a.data()) == 1);
    a = v4("10.9.9.3");
    CHECK(meridian::routing::match_net(keys, 4, a.data()) == 0);
    a = v4("11.0.0.1");
    CHECK(meridian::routing::match_net(keys, 4, a.data()) == -1);
    const auto b = v6("2001:db8:5::1");
    CHECK(meridian::routing::match_net(keys, 6, b.data()) == 3);
    const auto c = v6("::a01:203");  // 10.1.2.3 in IPv6 bytes is not an IPv4 client
    CHECK(meridian::routing::match_net(keys, 6, c.data()) == -1);
  }

  TEST_CASE("match_record prefers asn > subdivision > country > continent, in any map order") {
    std::string err;
    const char* order_a[] = {"EU", "country:GB", "country:GB/ENG", "asn:2856", "default"};
    const char* order_b[] = {"default", "asn:2856", "country:GB/ENG", "EU", "country:GB"};
    for (auto* order : {order_a, order_b}) {
      std::vector<ClientKey> keys;
      for (int i = 0; i < 5; ++i) keys.push_back(*meridian::routing::parse_client_key(order[i], err));
      auto idx = [&](const std::string& text) {
        for (std::size_t i = 0; i < keys.size(); ++i)
          if (keys[i].text == text) return static_cast<int>(i);
        return -1;
      };
      meridian::geo::GeoRecord r;
      r.continent = "EU";
      r.country = "GB";
      r.subdivision = "ENG";
      r.asn = 2856;
      CHECK(meridian::routing::match_record(keys, r) == idx("asn:2856"));
      CHECK(meridian::routing::match_record(keys, r, false) == idx("country:GB/ENG"));
      r.asn = 1;
      CHECK(meridian::routing::match_record(keys, r) == idx("country:GB/ENG"));
      r.subdivision = "SCT";
      CHECK(meridian::routing::match_record(keys, r) == idx("country:GB"));
      r.country = "FR";
      CHECK(meridian::routing::match_record(keys, r) == idx("EU"));
      r.continent = "NA";
      CHECK(meridian::routing::match_record(keys, r) == -1);
      CHECK(meridian::routing::fallback_key(keys) == idx("default"));
    }
  }

  TEST_CASE("a subdivision key does not match the same code in another country") {
    std::string err;
    std::vector<ClientKey> keys{*meridian::routing::parse_client_key("country:US/WA", err)};
    meridian::geo::GeoRecord r;
    r.continent = "OC";
    r.country = "AU";
    r.subdivision = "WA";  // Western Australia
    CHECK(meridian::routing::match_record(keys, r) == -1);
  }
}
