// This node's part in a cluster (README "Several nodes"): on the health checks'
// io_context it grants a lease, writes its node record and its observation of
// every endpoint and backend under that lease (after rise/fall: only a change of
// up/down is written), keeps the lease alive, reads the cluster's keys and watches
// them from the revision it read, and hands the agreed view and the cluster-wide
// overrides to the health table as one value (HealthTable::set_cluster). A
// cancelled, compacted or silent watch means a full re-read (so does every
// minute). etcd unreachable for stale_after: the agreed view is dropped and the
// node answers from its own checks until etcd answers again. stop() revokes the
// lease, so the node's votes vanish at once.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "cluster/cluster_status.hpp"
#include "cluster/etcd_client.hpp"
#include "config/cluster_settings.hpp"
#include "health/health_table.hpp"

namespace meridian::cluster {

struct ClusterTiming {
  std::chrono::milliseconds full_reread{60000};
  EtcdTimeouts etcd;
};

class ClusterNode {
 public:
  // known: the health keys of this node's services (regions, endpoints, backends);
  // observations and overrides of other keys are ignored.
  ClusterNode(config::ClusterSettings settings, std::string config_hash, std::set<std::string> known,
              health::HealthTable& table, boost::asio::any_io_executor executor, ClusterTiming timing = {});
  ~ClusterNode();
  ClusterNode(const ClusterNode&) = delete;
  ClusterNode& operator=(const ClusterNode&) = delete;

  void start();
  // Revokes the lease and ends every call; waits for that at most a few seconds.
  // From any thread but the executor's.
  void stop();
  // After a reload: the keys the services now have, and the new configuration hash.
  void reconfigure(std::set<std::string> known, std::string config_hash);

  ClusterStatus status() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

// The hash nodes compare to see a skewed configuration: of "services" (the health
// keys and how answers are made from them), 16 hex digits. Checks may differ per
// node (each node probes from where it stands, e.g. a path naming the node).
std::string config_hash(const nlohmann::json& config_root);

}  // namespace meridian::cluster
