// A lock-free copy of what the shared health table says about each backend, for the
// per-request path: one atomic flag per backend, set by a table subscriber. The flag
// means "down by a source other than the forwarding tier's own passive reports", so
// that a backend we ejected ourselves can come back when traffic shows it healthy.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "health/health_table.hpp"

namespace meridian::forward {

class HealthMirror : public std::enable_shared_from_this<HealthMirror> {
 public:
  explicit HealthMirror(health::HealthTable& table) : table_(table) {}
  // Subscribes to the table; the subscription holds only a weak reference.
  void attach();
  // The flag for key (shared by every holder), initialised from the table.
  std::shared_ptr<std::atomic<bool>> flag(const std::string& key);
  // Re-reads keys whose effective state could hide a change of another source
  // (down by check and by passive at once: the table reports no change when the
  // check comes back up).
  void refresh_all();
  health::HealthTable& table() { return table_; }

 private:
  static bool down_by_others(const health::Entry& e);
  void on_change(const std::string& key, const health::Status& status);
  health::HealthTable& table_;
  std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<std::atomic<bool>>> flags_;
};

}  // namespace meridian::forward
