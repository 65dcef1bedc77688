#include "health/health_snapshot.hpp"

#include "health/effective_state.hpp"

namespace meridian::health {

HealthSnapshot::HealthSnapshot(OverrideMap overrides, const std::map<std::string, Status>& observed)
    : overrides_(std::move(overrides)) {
  for (const auto& [key, status] : observed) {
    Observations& o = observed_[key];
    (status.source == Source::passive ? o.passive : o.check) = status;
  }
}

HealthSnapshot HealthSnapshot::of_table(OverrideMap overrides, const std::map<std::string, Entry>& entries,
                                        ClusterInputs cluster) {
  HealthSnapshot out;
  out.overrides_ = std::move(overrides);
  out.cluster_ = std::move(cluster);
  for (const auto& [key, entry] : entries) {
    Observations& o = out.observed_[key];
    if (const auto c = entry.observation(Source::check)) o.check = *c;
    if (const auto p = entry.observation(Source::passive)) o.passive = *p;
  }
  return out;
}

bool HealthSnapshot::region_forced(const std::string& service, const std::string& region, Status& out) const {
  const std::string key = HealthKey::region(service, region).to_string();
  const EffectiveState e = resolve_health(
      {.target_override = find_override(overrides_, key), .cluster_override = find_override(cluster_.overrides, key)});
  if (!e.forced()) return false;
  out = e.status;
  return true;
}

Status HealthSnapshot::endpoint(const std::string& service, const std::string& region, const std::string& address) const {
  return status(HealthKey::endpoint(service, region, address));
}

Status HealthSnapshot::status(const HealthKey& key) const { return status(key.to_string()); }

Status HealthSnapshot::status(const std::string& text) const {
  HealthInputs in{.target_override = find_override(overrides_, text),
                  .cluster_override = find_override(cluster_.overrides, text)};
  if (const auto a = cluster_.agreed.find(text); a != cluster_.agreed.end()) in.agreed = &a->second;
  if (const auto it = observed_.find(text); it != observed_.end()) {
    if (it->second.check) in.check = &*it->second.check;
    if (it->second.passive) in.passive = &*it->second.passive;
  }
  return resolve_health(in).status;
}

}  // namespace meridian::health
