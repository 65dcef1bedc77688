// From what etcd holds under the cluster's prefix to what this node uses: the
// live nodes (those whose node record, kept under their lease, exists), each
// node's observation of each key, the cluster-wide overrides, and per key the
// state the live observers agree on (config::AgreeRule). Pure functions of their
// inputs, so the rule is tested without an etcd.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cluster/cluster_keys.hpp"
#include "config/cluster_settings.hpp"
#include "health/cluster_inputs.hpp"
#include "health/overrides.hpp"

namespace meridian::cluster {

struct NodeRecord {
  std::string config_hash;
  std::string version;
  int64_t started = 0;    // Unix seconds
  int64_t last_seen = 0;  // Unix seconds, refreshed with every keepalive
  bool operator==(const NodeRecord&) const = default;
};

struct NodeObservation {
  bool up = true;
  int64_t since = 0;  // Unix seconds
  std::string reason;
  bool operator==(const NodeObservation&) const = default;
};

// The cluster's keys, read.
struct ClusterData {
  std::map<std::string, NodeRecord> nodes;                                   // by node name
  std::map<std::string, std::map<std::string, NodeObservation>> observations;  // key -> node -> observation
  health::OverrideMap overrides;                                             // key -> override
  std::vector<std::string> problems;  // values that could not be read (ignored)
};

// Every key/value under keys.root(); values that do not parse are named in problems.
ClusterData read_cluster_data(const ClusterKeys& keys, const std::map<std::string, std::string>& kvs);

// The JSON of a node record and an observation, as written to etcd.
std::string node_record_json(const std::string& node, const NodeRecord& record);
std::string observation_json(const NodeObservation& observation);
// An override's value in etcd: as in an override file ("down", or {"state", "reason"}).
std::string override_json(health::Override::Mode mode, const std::string& reason);

// Whether `down` of `observers` live observers make a key down under rule.
bool agreed_down(int down, int observers, const config::AgreeRule& rule);

struct AgreedKey {
  int observers = 0;  // live nodes that observe the key
  int down = 0;
  std::vector<std::string> down_nodes;
  bool counted = false;  // observers >= min_observers: the agreed state applies
  health::Status status;  // source Source::cluster
};

// Per key observed by at least one live node: the vote. Observations from nodes
// without a record (their lease expired) and keys known(key) refuses are left out.
std::map<std::string, AgreedKey> agree(const ClusterData& data, const config::AgreeRule& rule, int min_observers,
                                       const std::function<bool(const std::string&)>& known);

// What the health table takes: the overrides, and the counted agreed states when
// fresh (a stale etcd view agrees on nothing; its overrides are kept).
health::ClusterInputs cluster_inputs(const ClusterData& data, const std::map<std::string, AgreedKey>& agreed,
                                     bool fresh);

}  // namespace meridian::cluster
