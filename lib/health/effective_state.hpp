// The one precedence rule for health, used by DNS (HealthSnapshot, via the table's
// combined observations) and by the forwarding tier (HealthMirror):
//   1. the target's own override (health/*.json: up or down) wins and never expires;
//   2. then an override set in etcd for every node (`meridian cluster override`);
//   3. then the state the cluster's live nodes agree on (given only when etcd is
//      fresh and enough nodes observe the key: lib/cluster/agreement.hpp), timed by
//      this node's own observations (every node runs the same checks);
//   4. otherwise it is down when any observation says down (an active check after
//      rise/fall, or the forwarders' passive report), the check naming the reason
//      first; up otherwise, with the first observation's reason;
//   5. with no observation at all: up (not checked), source "initial".
// The time to change (Status::stability) is the earliest change of any observation.
// The region's own override (the file's, else the cluster's) is passed through for
// the callers that apply it to a whole region (DNS, in routing) or to each backend
// (the forwarding tier).
#pragma once
#include "health/health_view.hpp"
#include "health/overrides.hpp"

namespace meridian::health {

struct HealthInputs {
  const Override* target_override = nullptr;  // the key's own line in health/*.json
  const Override* region_override = nullptr;  // its region's line (endpoints and backends)
  const Status* check = nullptr;              // the active check, after rise/fall
  const Status* passive = nullptr;            // the forwarding tier's passive report
  const Override* cluster_override = nullptr;         // the key's override in etcd
  const Override* cluster_region_override = nullptr;  // its region's override in etcd
  const Status* agreed = nullptr;                     // the cluster's agreed state
};

struct EffectiveState {
  Status status;  // what the target is: state, source, reason, time to change
  Override::Mode region_override = Override::automatic;
  std::string region_override_reason;

  bool forced() const { return status.source == Source::override_file || status.source == Source::cluster_override; }
};

EffectiveState resolve_health(const HealthInputs& in);

// The override of key in overrides (nullptr when there is none).
const Override* find_override(const OverrideMap& overrides, const std::string& key);

}  // namespace meridian::health
