// A lock-free copy of what the shared health table says about each backend, for the
// per-request path: one atomic verdict per backend, kept current as the table's
// listener. The verdict is health::resolve_health (the precedence DNS uses) over:
//   1. an operator override of the backend (service/region/backend/HOST:PORT: up|down);
//   2. an override of its region (service/region): down forces every backend of the
//      region down; up lets the proxy fail open over all of them when none is healthy
//      (as DNS answers with every endpoint of a region forced up);
//   3. "down by a source other than the forwarding tier's own passive reports", so that a
//      backend we ejected ourselves can come back when traffic shows it healthy.
// With "cluster", etcd's overrides (backend and region) come after the files' and the
// state the nodes agree on replaces this node's check, exactly as for DNS.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "health/health_table.hpp"

namespace meridian::forward {

// Bits of a backend's health verdict.
namespace verdict {
inline constexpr uint8_t down = 1;         // down by an active check (not by our passive report)
inline constexpr uint8_t forced_down = 2;  // an override says down (backend or region): no traffic
inline constexpr uint8_t forced_up = 4;    // an override of the backend says up: checks and ejection ignored
inline constexpr uint8_t region_up = 8;    // its region is forced up: fail open when no backend is eligible
}  // namespace verdict

using HealthFlag = std::atomic<uint8_t>;

class HealthMirror : public health::HealthListener, public std::enable_shared_from_this<HealthMirror> {
 public:
  explicit HealthMirror(health::HealthTable& table) : table_(table) {}
  // Listens to the table (entries and overrides); the table holds only a weak reference.
  void attach();
  // The verdict for key (shared by every holder), initialised from the table.
  std::shared_ptr<HealthFlag> flag(const std::string& key);
  // Re-reads every key (after the overrides changed, and for keys whose effective state
  // could hide a change of another source: down by check and by passive at once, the
  // table reports no change when the check comes back up).
  void refresh_all();
  health::HealthTable& table() { return table_; }

  // The verdict of a backend key from what its active check says and the overrides.
  static uint8_t compute(const std::string& key, bool observed_down, const health::OverrideMap& overrides,
                         const health::ClusterInputs& cluster = {});

  // health::HealthListener
  void on_status_changed(const std::string& key, const health::Status& status) override;
  void on_overrides_changed() override;
  void on_cluster_changed() override;

 private:
  // The table's overrides and cluster inputs, copied together under mutex_.
  struct Inputs {
    health::OverrideMap overrides;
    health::ClusterInputs cluster;
  };
  // check: the backend's active check (our own passive reports are left out).
  static uint8_t verdict_of(const std::string& key, const health::Status* check, const Inputs& inputs);
  static uint8_t verdict_of(const std::string& key, const health::Entry* entry, const Inputs& inputs);
  health::HealthTable& table_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<HealthFlag>> flags_;
  Inputs inputs_;
};

}  // namespace meridian::forward
