// All services of one configuration, with the geo databases and ECS settings
// they were compiled against. Immutable once loaded.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/json_source.hpp"
#include "routing/classifier.hpp"
#include "routing/service.hpp"
#include "util/file_stamp.hpp"

namespace meridian::routing {

struct EcsSettings {
  bool enabled = true;
  unsigned max_prefix_v4 = 24;
  unsigned max_prefix_v6 = 56;
  // IPv4-compatible, SIIT, NAT64, Teredo and 6to4 clients are routed as the IPv4
  // client inside (IPv4-mapped always is).
  bool ipv4_in_ipv6 = true;
};

// What one load built anew and what it took over from the previous set.
struct ServiceBuildCounts {
  unsigned compiled = 0;          // services whose classes were compiled
  unsigned reused = 0;            // services whose compiled classes were taken over
  unsigned databases_opened = 0;  // .mmdb files opened
  unsigned databases_reused = 0;  // .mmdb files taken over (same file, unchanged)
};

struct ServiceSet {
  std::vector<Service> services;
  std::vector<std::vector<ClientKey>> keys;  // per service: geo map / latency table keys
  GeoSources geo;
  EcsSettings ecs;
  // The stamp of every database file opened, by path (see util/file_stamp.hpp).
  std::unordered_map<std::string, util::FileStamp> database_stamps;

  int find(const std::string& name) const {
    const auto it = by_name.find(name);
    return it == by_name.end() ? -1 : it->second;
  }
  std::unordered_map<std::string, int> by_name;
};

// Reads "services", "geoip", "latency" and "dns.ecs" from the configuration;
// relative paths resolve against base_dir. Given the set served until now, a
// database file that did not change is taken over instead of opened again, and
// a service whose compile inputs did not change (its definition, its latency
// table file, the database files, the ECS settings) takes over its compiled
// classes instead of walking the database again; when no service changed at
// all, the previous set itself is returned. counts: what this load built.
std::shared_ptr<const ServiceSet> load_services(const config::JsonSource& source, const std::string& base_dir,
                                                config::Diagnostics& diagnostics,
                                                std::shared_ptr<const ServiceSet> previous = nullptr,
                                                ServiceBuildCounts* counts = nullptr);

}  // namespace meridian::routing
