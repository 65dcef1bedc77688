#include "routing/classifier.hpp"

#include <algorithm>
#include <cmath>

#include "routing/policies/policy.hpp"

namespace meridian::routing {

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
  ClassPlan plan;
  const int fallback = fallback_key(keys);
  plan.no_record = fallback >= 0 ? static_cast<uint32_t>(fallback) : static_cast<uint32_t>(keys.size());
  plan.keys = &keys;
  for (std::size_t i = 0; i < keys.size(); ++i) plan.key_class.push_back(static_cast<uint32_t>(i));
  plan.of_record = [&keys, no_record = plan.no_record](const geo::GeoRecord& r) {
    const int k = match_record(keys, r);
    return k >= 0 ? static_cast<uint32_t>(k) : no_record;
  };
  return std::move(build_class_tries({&plan}, geo).front());
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

void compile_classes(std::vector<Service>& services, const std::vector<std::vector<ClientKey>>& keys,
                     const GeoSources& geo, const std::vector<std::size_t>& which) {
  std::vector<ClassPlan> plans(which.size());
  for (std::size_t p = 0; p < which.size(); ++p) {
    Service& s = services[which[p]];
    s.classes.clear();
    // Class 0: every region in configuration order (for clients no key matches).
    const uint32_t all = policies::intern_class(s.classes, policies::ordered_preference(policies::all_region_indexes(s)));
    s.policy->compile(s, keys[which[p]], all, plans[p]);
  }
  std::vector<const ClassPlan*> order;
  for (const ClassPlan& p : plans) order.push_back(&p);
  std::vector<PrefixTrie> tries = build_class_tries(order, geo);
  for (std::size_t p = 0; p < which.size(); ++p) {
    services[which[p]].trie = std::move(tries[p]);
    services[which[p]].fallback_class = plans[p].no_record;
  }
}

void compile_classes(std::vector<Service>& services, const std::vector<std::vector<ClientKey>>& keys,
                     const GeoSources& geo) {
  std::vector<std::size_t> all(services.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  compile_classes(services, keys, geo, all);
}

}  // namespace meridian::routing
