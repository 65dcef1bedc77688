// What a node knows about its cluster, for /status, /metrics and
// `meridian cluster status`: a copy taken under the node's lock.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "cluster/agreement.hpp"

namespace meridian::cluster {

struct ClusterStatus {
  std::string cluster;  // its name
  std::string node;     // this node
  std::string config_hash;
  std::string member;  // the etcd member calls go to now
  bool connected = false;  // the last round with etcd succeeded
  bool fresh = false;      // the agreed view is current (younger than stale_after)
  double view_age_seconds = -1;  // -1: never read
  std::string last_error;
  int64_t lease = 0;
  uint64_t resyncs = 0;  // full re-reads after the first (in this session or a new one)
  std::map<std::string, NodeRecord> nodes;
  std::map<std::string, AgreedKey> agreed;
  std::map<std::string, bool> own;  // this node's observation: key -> up
  health::OverrideMap overrides;
};

nlohmann::ordered_json cluster_status_json(const ClusterStatus& s);
// Prometheus lines: meridian_cluster_nodes, meridian_cluster_health_stale,
// meridian_cluster_disagreement (per key), and a few more.
std::string cluster_metrics(const ClusterStatus& s);

}  // namespace meridian::cluster
