#include "routing/classifier.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace meridian::routing {

namespace {

void apply_net_keys(const std::vector<ClientKey>& keys, int family, PrefixTrie& trie) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (keys[i].kind == ClientKey::by_net && keys[i].family == family) order.push_back(i);
  // Shorter prefixes first so the more specific ones override them.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return keys[a].prefix_len < keys[b].prefix_len; });
  for (std::size_t i : order) trie.assign(keys[i].address, keys[i].prefix_len, static_cast<uint32_t>(i));
}

void build_family(const std::vector<ClientKey>& keys, const GeoSources& geo, int family, PrefixTrie& trie) {
  const int fallback = fallback_key(keys);
  trie = PrefixTrie(family == 4 ? 32 : 128, fallback >= 0 ? static_cast<uint32_t>(fallback) : static_cast<uint32_t>(keys.size()));
  if (geo.city) {
    geo.city->walk(family, [&](const uint8_t* addr, unsigned len, const geo::GeoRecord& r) {
      const int k = match_record(keys, r);
      if (k >= 0) trie.assign(addr, len, static_cast<uint32_t>(k));
    });
  }
  const bool has_asn_keys =
      std::any_of(keys.begin(), keys.end(), [](const ClientKey& k) { return k.kind == ClientKey::by_asn; });
  if (geo.asn && has_asn_keys) {
    geo.asn->walk(family, [&](const uint8_t* addr, unsigned len, const geo::GeoRecord& r) {
      for (std::size_t i = 0; i < keys.size(); ++i)
        if (keys[i].kind == ClientKey::by_asn && keys[i].asn_number == r.asn) trie.assign(addr, len, static_cast<uint32_t>(i));
    });
  }
  apply_net_keys(keys, family, trie);
  trie.compact();
}

// Interns preferences so equal ones share one class.
uint32_t intern(std::vector<Preference>& classes, Preference p) {
  for (std::size_t i = 0; i < classes.size(); ++i)
    if (classes[i] == p) return static_cast<uint32_t>(i);
  classes.push_back(std::move(p));
  return static_cast<uint32_t>(classes.size() - 1);
}

Preference ordered(const std::vector<uint16_t>& regions) {
  Preference p;
  for (uint16_t r : regions) p.tiers.push_back(Tier{{r}});
  return p;
}

std::vector<uint16_t> all_regions(const Service& s) {
  std::vector<uint16_t> v(s.regions.size());
  std::iota(v.begin(), v.end(), 0);
  return v;
}

// Latency: regions sorted by RTT; those within tolerance of a tier's best share it.
Preference latency_preference(const Service& s, const std::vector<double>& rtt) {
  std::vector<uint16_t> order;
  for (uint16_t r = 0; r < s.regions.size(); ++r)
    if (r < rtt.size() && rtt[r] >= 0) order.push_back(r);
  std::stable_sort(order.begin(), order.end(), [&](uint16_t a, uint16_t b) { return rtt[a] < rtt[b]; });
  Preference p;
  for (std::size_t i = 0; i < order.size();) {
    Tier t;
    const double best = rtt[order[i]];
    while (i < order.size() && rtt[order[i]] <= best + s.tolerance_ms) t.regions.push_back(order[i++]);
    p.tiers.push_back(std::move(t));
  }
  return p;
}

Preference closest_preference(const Service& s, const Location& client) {
  std::vector<std::pair<double, uint16_t>> d;
  for (uint16_t r = 0; r < s.regions.size(); ++r)
    if (s.regions[r].location) d.emplace_back(distance_km(client, *s.regions[r].location), r);
  std::stable_sort(d.begin(), d.end());
  Preference p;
  for (const auto& [km, r] : d) p.tiers.push_back(Tier{{r}});
  // Regions without coordinates come last, in configuration order.
  for (uint16_t r = 0; r < s.regions.size(); ++r)
    if (!s.regions[r].location) p.tiers.push_back(Tier{{r}});
  return p;
}

}  // namespace

double distance_km(const Location& a, const Location& b) {
  constexpr double kEarthRadiusKm = 6371.0;
  constexpr double kRad = M_PI / 180.0;
  const double dlat = (b.latitude - a.latitude) * kRad;
  const double dlon = (b.longitude - a.longitude) * kRad;
  const double h = std::sin(dlat / 2) * std::sin(dlat / 2) +
                   std::cos(a.latitude * kRad) * std::cos(b.latitude * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

KeyTries classify_by_keys(const std::vector<ClientKey>& keys, const GeoSources& geo) {
  KeyTries t;
  build_family(keys, geo, 4, t.v4);
  build_family(keys, geo, 6, t.v6);
  return t;
}

KeyMatch match_address(const std::vector<ClientKey>& keys, const GeoSources& geo, int family, const uint8_t* address) {
  KeyMatch m;
  if (geo.city) m.city = geo.city->lookup(family, address);
  if (geo.asn) m.asn = geo.asn->lookup(family, address);
  m.key = match_net(keys, family, address);
  if (m.key >= 0) return m;
  if (m.asn.found) {
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i].kind == ClientKey::by_asn && keys[i].asn_number == m.asn.record.asn) return m.key = static_cast<int>(i), m;
  }
  if (m.city.found) m.key = match_record(keys, m.city.record);
  if (m.key < 0) m.key = fallback_key(keys);
  return m;
}

void compile_classes(Service& s, const std::vector<ClientKey>& keys, const GeoSources& geo) {
  s.classes.clear();
  const uint32_t all = intern(s.classes, ordered(all_regions(s)));  // no key matched: configuration order
  switch (s.policy) {
    case PolicyKind::failover: {
      s.v4 = PrefixTrie(32, all);
      s.v6 = PrefixTrie(128, all);
      return;
    }
    case PolicyKind::weighted: {
      s.classes.clear();
      Preference p;
      p.tiers.push_back(Tier{all_regions(s)});
      intern(s.classes, std::move(p));
      s.v4 = PrefixTrie(32, 0);
      s.v6 = PrefixTrie(128, 0);
      return;
    }
    case PolicyKind::closest: {
      for (int family : {4, 6}) {
        PrefixTrie trie(family == 4 ? 32 : 128, all);
        if (geo.city) {
          geo.city->walk(family, [&](const uint8_t* addr, unsigned len, const geo::GeoRecord& r) {
            if (!r.has_location) return;
            trie.assign(addr, len, intern(s.classes, closest_preference(s, {r.latitude, r.longitude})));
          });
        }
        trie.compact();
        (family == 4 ? s.v4 : s.v6) = std::move(trie);
      }
      return;
    }
    case PolicyKind::geo:
    case PolicyKind::latency: {
      // key index -> class
      std::vector<uint32_t> key_class(keys.size() + 1, all);
      for (std::size_t i = 0; i < keys.size(); ++i) {
        if (s.policy == PolicyKind::geo) key_class[i] = intern(s.classes, ordered(s.geo_map[i].second));
        else key_class[i] = intern(s.classes, latency_preference(s, s.latency_rows[i].second));
      }
      KeyTries t = classify_by_keys(keys, geo);
      s.v4 = t.v4.remap(key_class);
      s.v6 = t.v6.remap(key_class);
      return;
    }
  }
}

}  // namespace meridian::routing
