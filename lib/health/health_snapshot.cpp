#include "health/health_snapshot.hpp"

namespace meridian::health {

namespace {
bool forced(const OverrideMap& overrides, const std::string& key, Status& out) {
  const auto it = overrides.find(key);
  if (it == overrides.end() || it->second.mode == Override::automatic) return false;
  out.state = it->second.mode == Override::up ? State::up : State::down;
  out.source = Source::override_file;
  out.reason = it->second.reason;
  out.stability = Stability::forever();  // an override holds until the file changes
  return true;
}
}  // namespace

bool HealthSnapshot::region_forced(const std::string& service, const std::string& region, Status& out) const {
  return forced(overrides_, service + "/" + region, out);
}

Status HealthSnapshot::endpoint(const std::string& service, const std::string& region, const std::string& address) const {
  return status(service + "/" + region + "/" + address);
}

Status HealthSnapshot::status(const std::string& key) const {
  Status s;
  if (forced(overrides_, key, s)) return s;
  if (const auto it = observed_.find(key); it != observed_.end()) return it->second;
  return s;
}

}  // namespace meridian::health
