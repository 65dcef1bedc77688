#include "routing/classifier.hpp"

#include <algorithm>
#include <cmath>

#include "routing/policies/policy.hpp"

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
  // Class 0: every region in configuration order (for clients no key matches).
  const uint32_t all = policies::intern_class(s.classes, policies::ordered_preference(policies::all_region_indexes(s)));
  s.policy->compile(s, keys, geo, all);
}

}  // namespace meridian::routing
