// "cluster" in meridian.json: the etcd members this node shares its health
// observations through, and how the nodes' observations are agreed upon
// (README, "Several nodes"; the keys in etcd: lib/cluster/README.md).
#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/json_object_reader.hpp"

namespace meridian::config {

// When the live observers of a key call it down.
struct AgreeRule {
  enum class Kind { majority, any, all, fraction } kind = Kind::majority;
  double fraction = 0.5;  // Kind::fraction: down once at least this share of the observers say down
  bool operator==(const AgreeRule&) const = default;
};

struct ClusterSettings {
  std::vector<std::string> etcd;  // member URLs, http://HOST:PORT
  std::string name;               // the cluster: every node of one zone set shares it
  std::string node;               // this node, unique in the cluster
  std::chrono::milliseconds lease_ttl{10000};
  std::chrono::milliseconds stale_after{30000};
  AgreeRule agree;
  int min_observers = 2;
  bool operator==(const ClusterSettings&) const = default;
};

// A URL of an etcd member: http://HOST:PORT (https is not supported); nullopt otherwise.
struct EtcdMember {
  std::string host;
  std::string port;
};
std::optional<EtcdMember> parse_etcd_url(const std::string& url);

// Reads the "cluster" object; errors go to the reader's sink. nullopt on any error.
std::optional<ClusterSettings> read_cluster_settings(JsonObjectReader& cluster);

}  // namespace meridian::config
