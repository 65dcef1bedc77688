// "closest": regions by great-circle distance from the client's database
// location to each region's "location"; regions without one come last.
#include <algorithm>
#include <cstring>
#include <memory>
#include <unordered_map>

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

// Many records share a location (a city's networks): their order is computed once.
struct LocationClasses {
  struct Hash {
    std::size_t operator()(const std::pair<double, double>& l) const {
      uint64_t a, b;
      std::memcpy(&a, &l.first, 8);
      std::memcpy(&b, &l.second, 8);
      return std::hash<uint64_t>()(a * 0x9E3779B97F4A7C15ull ^ b);
    }
  };
  explicit LocationClasses(Service& s) : service(s), intern(s.classes) {}
  Service& service;
  ClassInterner intern;
  std::unordered_map<std::pair<double, double>, uint32_t, Hash> by_location;
};

void compile(Service& s, const std::vector<ClientKey>&, uint32_t all_regions, ClassPlan& plan) {
  plan.no_record = all_regions;
  auto classes = std::make_shared<LocationClasses>(s);
  plan.of_record = [classes, all_regions](const geo::GeoRecord& r) {
    if (!r.has_location) return all_regions;
    const auto [it, fresh] = classes->by_location.try_emplace({r.latitude, r.longitude}, all_regions);
    if (fresh) it->second = classes->intern(by_distance(classes->service, {r.latitude, r.longitude}));
    return it->second;
  };
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
