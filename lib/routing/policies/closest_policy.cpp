// "closest": regions by great-circle distance from the client's database
// location to each region's "location"; regions without one come last.
#include <algorithm>

#include "routing/policies/policy.hpp"

namespace meridian::routing::policies {

namespace {

void read(const ReadContext&, const nlohmann::json&, const Pointer&, Service&, std::vector<ClientKey>&) {}

Preference by_distance(const Service& s, const Location& client) {
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

void compile(Service& s, const std::vector<ClientKey>&, const GeoSources& geo, uint32_t all_regions) {
  for (int family : {4, 6}) {
    PrefixTrie trie(family == 4 ? 32 : 128, all_regions);
    if (geo.city) {
      geo.city->walk(family, [&](const uint8_t* addr, unsigned len, const geo::GeoRecord& r) {
        if (!r.has_location) return;
        trie.assign(addr, len, intern_class(s.classes, by_distance(s, {r.latitude, r.longitude})));
      });
    }
    trie.compact();
    (family == 4 ? s.v4 : s.v6) = std::move(trie);
  }
}

void explain_candidate(const Service& s, const KeyMatch& m, uint16_t region, nlohmann::ordered_json& candidate) {
  const Region& r = s.regions[region];
  if (m.city.found && m.city.record.has_location && r.location)
    candidate["distance_km"] =
        static_cast<int64_t>(distance_km({m.city.record.latitude, m.city.record.longitude}, *r.location));
}

}  // namespace

extern const Policy closest_policy;  // listed in policy_table.cpp
const Policy closest_policy{
    .name = "closest",
    .keys = {},
    .needs_location_database = true,
    .read = read,
    .compile = compile,
    .explain_candidate = explain_candidate,
};

}  // namespace meridian::routing::policies
