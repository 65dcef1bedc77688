// The one mutable health table: observations from active checks and from the
// forwarding tier (passive), per key (HealthKey text: an endpoint DNS hands out,
// or a backend behind the region's forwarders). An entry's effective state is
// resolve_health (effective_state.hpp) over its observations; operator overrides
// are applied on top by the readers (HealthSnapshot for DNS, HealthMirror for the
// forwarding tier). Listeners hear about every change of an entry's effective
// state, and of how many checks it is from a flip (the stability floor: answer
// TTLs follow it), and about new overrides, off the query path:
//   runtime::RepublishOnHealthChange  -> a new DNS snapshot (StateWatcher)
//   forward::HealthMirror             -> the proxies' per-backend verdicts
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "health/cluster_inputs.hpp"
#include "health/health_view.hpp"
#include "health/overrides.hpp"

namespace meridian::health {

struct Observation {
  State state = State::up;
  std::string reason;
  std::chrono::system_clock::time_point since{};
  Stability stability;
};

struct Entry {
  Status effective;                         // what routing uses
  std::chrono::system_clock::time_point since{};
  std::map<Source, Observation> by_source;  // latest word from each source

  // What one source last said, as a status of that source.
  std::optional<Status> observation(Source source) const;
};

// Hears about changes of the table, off the query path, without its lock held.
class HealthListener {
 public:
  virtual ~HealthListener() = default;
  // An entry's effective state (or its stability floor) changed; key: HealthKey text.
  virtual void on_status_changed(const std::string& key, const Status& status) = 0;
  // The operator overrides in force changed.
  virtual void on_overrides_changed() {}
  // What the cluster contributes (its overrides, the agreed view) changed.
  virtual void on_cluster_changed() {}
};

class HealthTable {
 public:
  using Subscriber = std::function<void(const std::string& key, const Status& status)>;

  // Records what a source observed; returns true when the effective state changed.
  bool report(const std::string& key, Source source, State state, const std::string& reason,
              const Stability& stability = Stability::forever());
  // Drops what a source said about a key (e.g. its check was removed).
  void forget(const std::string& key, Source source);
  // Keeps only keys for which keep(key) is true (after a reload removed things).
  void retain(const std::function<bool(const std::string&)>& keep);

  std::map<std::string, Status> effective() const;
  std::map<std::string, Entry> entries() const;
  bool is_up(const std::string& key) const;  // unknown keys are up
  uint64_t generation() const;

  // Listeners are held weakly: one that is gone is no longer called.
  void add_listener(std::weak_ptr<HealthListener> listener);
  // A function called on every status change (tests; code uses named listeners).
  void subscribe(Subscriber s);

  // The operator overrides (health/*.json) in force. They are not folded into the
  // entries: DNS applies them on its snapshot (HealthSnapshot), the forwarding tier
  // reads them from here, both with the same precedence. Setting a map that differs
  // from the current one tells the listeners (without the lock held).
  void set_overrides(OverrideMap overrides);
  OverrideMap overrides() const;

  // The cluster's overrides and agreed view (lib/cluster sets them; empty without
  // "cluster"). A value that differs from the current one tells the listeners.
  void set_cluster(ClusterInputs cluster);
  ClusterInputs cluster() const;

 private:
  static Status combine(const Entry& e);
  std::vector<std::shared_ptr<HealthListener>> live_listeners_locked();  // mutex_ held
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::vector<std::weak_ptr<HealthListener>> listeners_;
  std::vector<std::shared_ptr<HealthListener>> owned_;  // subscribe()'s adapters
  OverrideMap overrides_;
  ClusterInputs cluster_;
  uint64_t generation_ = 0;
};

}  // namespace meridian::health
