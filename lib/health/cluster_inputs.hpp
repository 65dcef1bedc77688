// What the cluster (lib/cluster) contributes to health: the overrides set in etcd
// for every node, and the state the live nodes agree on for each key that enough
// of them observe. An immutable value, replaced as a whole in the health table
// (HealthTable::set_cluster) and read into every HealthSnapshot; empty for a node
// without "cluster", and `agreed` empty while etcd is stale.
#pragma once
#include <map>
#include <string>

#include "health/health_view.hpp"
#include "health/overrides.hpp"

namespace meridian::health {

struct ClusterInputs {
  OverrideMap overrides;                 // key: HealthKey text (regions too)
  std::map<std::string, Status> agreed;  // key: HealthKey text; source Source::cluster
  bool operator==(const ClusterInputs&) const = default;
};

}  // namespace meridian::health
