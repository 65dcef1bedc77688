// Builds everything the server serves from meridian.json, fully validated, off
// the query path. Used by `serve` (start and reload) and by `check`.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "config/diagnostics.hpp"
#include "config/server_config.hpp"
#include "health/checks/check_runner.hpp"
#include "health/health_snapshot.hpp"
#include "health/overrides.hpp"
#include "query/snapshot.hpp"
#include "routing/service_set.hpp"

namespace meridian::runtime {

struct LoadedState {
  config::ServerConfig config;
  std::shared_ptr<const zone::ZoneSet> zones;
  std::shared_ptr<const routing::ServiceSet> services;
  std::shared_ptr<const health::HealthSnapshot> health;
  health::CheckMap checks;
  std::shared_ptr<const query::Snapshot> snapshot;
};

// nullopt when anything is wrong; every problem is in diagnostics.
std::optional<LoadedState> load_state(const std::string& config_path, config::Diagnostics& diagnostics,
                                      health::BadOverrideFile bad_override_file = health::BadOverrideFile::reject_all);

// Health override files checked against the services they name.
std::optional<health::OverrideMap> load_health_overrides(
    const std::string& dir, const routing::ServiceSet& services, config::Diagnostics& diagnostics,
    health::BadOverrideFile bad_file = health::BadOverrideFile::reject_all);

// What the active checks should probe for these services.
std::vector<health::CheckTarget> check_targets(const routing::ServiceSet& services, const health::CheckMap& checks);

// A snapshot for the given parts (used again when only health changes).
std::shared_ptr<const query::Snapshot> make_snapshot(const config::ServerConfig& config,
                                                     std::shared_ptr<const zone::ZoneSet> zones,
                                                     std::shared_ptr<const routing::ServiceSet> services,
                                                     const health::HealthSnapshot& health,
                                                     const routing::RampShares& ramps = {});

}  // namespace meridian::runtime
