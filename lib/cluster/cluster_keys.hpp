// The key layout in etcd (the file contract: README "Several nodes"):
//   /meridian/v1/{cluster}/node/{node}                 the node record, under its lease
//   /meridian/v1/{cluster}/obs/{health key}/{node}     a node's observation, under its lease
//   /meridian/v1/{cluster}/override/{health key}       a cluster-wide override (no lease)
// Health keys are the override-file keys (health/health_key.hpp); node names hold no "/".
#pragma once
#include <optional>
#include <string>

namespace meridian::cluster {

class ClusterKeys {
 public:
  explicit ClusterKeys(std::string cluster) : root_("/meridian/v1/" + std::move(cluster) + "/") {}

  const std::string& root() const { return root_; }  // every key of the cluster
  std::string node(const std::string& node) const { return root_ + "node/" + node; }
  std::string observation(const std::string& health_key, const std::string& node) const {
    return root_ + "obs/" + health_key + "/" + node;
  }
  std::string override_key(const std::string& health_key) const { return root_ + "override/" + health_key; }

  // What a key below root() is.
  struct Parsed {
    enum class Kind { node, observation, override_key } kind;
    std::string health_key;  // observation, override_key
    std::string node;        // node, observation
  };
  std::optional<Parsed> parse(const std::string& key) const;

 private:
  std::string root_;
};

}  // namespace meridian::cluster
