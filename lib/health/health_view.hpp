// What routing needs to know about health: the effective state of every region
// and endpoint, with the reason, as one immutable value built off the query path.
#pragma once
#include <cstdint>
#include <string>

#include "health/health_key.hpp"
#include "health/stability.hpp"

namespace meridian::health {

enum class State : uint8_t { up, down };
// cluster: the nodes' agreed view (lib/cluster); cluster_override: an override set
// in etcd for every node (`meridian cluster override`).
enum class Source : uint8_t { initial, check, override_file, passive, cluster, cluster_override };

inline const char* state_name(State s) { return s == State::up ? "up" : "down"; }
inline const char* source_name(Source s) {
  switch (s) {
    case Source::initial: return "initial";
    case Source::check: return "check";
    case Source::override_file: return "override";
    case Source::passive: return "passive";
    case Source::cluster: return "cluster";
    case Source::cluster_override: return "cluster-override";
  }
  return "initial";
}
// Who decided a state, as /status shows it: an operator ("override", in a file or
// in etcd), the nodes together ("cluster"), or this node alone ("local").
inline const char* decided_by(Source s) {
  switch (s) {
    case Source::override_file:
    case Source::cluster_override: return "override";
    case Source::cluster: return "cluster";
    default: return "local";
  }
}

struct Status {
  State state = State::up;
  Source source = Source::initial;
  std::string reason;
  Stability stability;  // when it can next change (checks only; forever otherwise)
  bool operator==(const Status&) const = default;
};

// Answers for keys "service/region" (region level) and "service/region/address".
class HealthView {
 public:
  virtual ~HealthView() = default;
  // nullopt-like: forced == false when no override applies to the region.
  virtual bool region_forced(const std::string& service, const std::string& region, Status& out) const = 0;
  virtual Status endpoint(const std::string& service, const std::string& region, const std::string& address) const = 0;
  // Any endpoint or backend, same precedence.
  virtual Status status(const HealthKey& key) const = 0;
};

}  // namespace meridian::health
