// Builds everything the server serves from meridian.json, fully validated, off
// the query path. Used by `serve` (start and reload) and by `check`.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "config/diagnostics.hpp"
#include "config/server_config.hpp"
#include "cookies/cookie_policy.hpp"
#include "forward/settings.hpp"
#include "health/checks/check_runner.hpp"
#include "health/health_snapshot.hpp"
#include "health/overrides.hpp"
#include "query/snapshot.hpp"
#include "routing/service_set.hpp"
#include "runtime/zone_loading.hpp"
#include "zone/zone_report.hpp"

namespace meridian::runtime {

// What a load built anew and what it took over from the state served until now.
struct BuildCounts {
  unsigned zones_built = 0;
  unsigned zones_reused = 0;
  unsigned services_compiled = 0;
  unsigned services_reused = 0;
  unsigned databases_opened = 0;
  unsigned databases_reused = 0;
  // Routing tables (every service's trie with health folded in) built for
  // published snapshots, or kept because their services and health did not change.
  unsigned routing_tables_built = 0;
  unsigned routing_tables_reused = 0;
};

struct LoadedState {
  config::ServerConfig config;
  std::shared_ptr<const zone::ZoneSet> zones;
  // Every zone file and what became of it; a file that does not load does not
  // fail the load (see zone_loading.hpp).
  std::shared_ptr<const std::vector<zone::ZoneReport>> zone_reports;
  // What each zone file gave this load, for the next one (see zone_loading.hpp).
  std::shared_ptr<const std::vector<ZoneFileVersion>> zone_files;
  std::shared_ptr<const routing::ServiceSet> services;
  // The regions the forwarding tier serves, their "backends"/"forward" read once here.
  std::shared_ptr<const forward::ForwardingPlan> forwarding;
  std::shared_ptr<const health::HealthSnapshot> health;
  health::CheckMap checks;
  std::shared_ptr<const query::Snapshot> snapshot;
  BuildCounts built;
  // DNS cookies: the secrets read from the secret file (or made at start).
  cookies::CookiePolicy cookies;
};

// nullopt when anything but a zone file is wrong (meridian.json, services,
// checks, geodata, latency tables, health files); every problem is then in
// diagnostics, zone errors included. A zone file that does not load is left out
// (or, given the previous state of a reload, keeps its last good version) and
// reported in zone_reports only.
struct LoadOptions {
  // A reload: unchanged zone files, databases and services' compiled classes are
  // taken over from here, and zone files that fail keep their version from here.
  const LoadedState* previous = nullptr;
  // The server rejects a set with a bad file; `meridian explain` leaves that file out.
  health::BadOverrideFile bad_override_file = health::BadOverrideFile::reject_all;
  // The server builds its snapshots with the health it observes (ServerState):
  // it skips this one, whose routing table would be thrown away.
  bool build_snapshot = true;
};
std::optional<LoadedState> load_state(const std::string& config_path, config::Diagnostics& diagnostics,
                                      const LoadOptions& options = {});

// Whether an override key names a service's region, endpoint or backend ("" when it
// does, else why not); services must outlive the validator.
health::KeyValidator health_key_validator(const routing::ServiceSet& services);

// Health override files checked against the services they name.
std::optional<health::OverrideMap> load_health_overrides(
    const std::string& dir, const routing::ServiceSet& services, config::Diagnostics& diagnostics,
    health::BadOverrideFile bad_file = health::BadOverrideFile::reject_all);

// What the active checks should probe for these services.
std::vector<health::CheckTarget> check_targets(const routing::ServiceSet& services, const health::CheckMap& checks);

// A snapshot for the given parts (used again when only health changes);
// `routing` given: that table instead of one built from services and health.
std::shared_ptr<const query::Snapshot> make_snapshot(const config::ServerConfig& config,
                                                     const cookies::CookiePolicy& cookie_policy,
                                                     std::shared_ptr<const zone::ZoneSet> zones,
                                                     std::shared_ptr<const routing::ServiceSet> services,
                                                     const health::HealthSnapshot& health,
                                                     const routing::RampShares& ramps = {},
                                                     std::shared_ptr<const routing::RoutingTable> routing = nullptr,
                                                     std::vector<std::shared_ptr<const zone::ZoneSignatures>> signatures = {},
                                                     std::shared_ptr<const zone::AnswerSignatures> answer_signatures = nullptr);

}  // namespace meridian::runtime
