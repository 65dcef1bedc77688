// The live state of a running server and the ways it changes: full reloads
// (SIGHUP or an edited config/zone/latency file) and health override edits.
// Every change is built and validated off the query path, then published as a
// new snapshot; a rejected change keeps the previous state serving.
#pragma once
#include <array>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "health/checks/check_runner.hpp"
#include "health/health_table.hpp"
#include "net/snapshot_holder.hpp"
#include "routing/slow_start.hpp"
#include "runtime/zone_signing.hpp"
#include "runtime/state_loader.hpp"

namespace meridian::runtime {

// Upper bounds (seconds) of meridian_reload_duration_seconds's buckets.
inline constexpr std::array<double, 12> kReloadDurationBounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                                 0.25,  0.5,   1,    2.5,   10,   60};

struct ReloadStatus {
  uint64_t reloads = 0;
  uint64_t failures = 0;
  bool last_ok = true;
  std::string last_error;
  // The last reload that was published: how long it took and what it built.
  double last_seconds = 0;
  BuildCounts last_built;
  // Wall clock (Unix seconds) of the last load that was published: the first one at
  // start, then every accepted reload.
  double last_success_unix_seconds = 0;
  // Every reload attempt's duration, accepted or rejected: counts per bucket of
  // kReloadDurationBounds (the last slot: above the last bound), their sum.
  std::array<uint64_t, kReloadDurationBounds.size() + 1> duration_buckets{};
  double duration_sum = 0;
  // Since start (the first load included): parts built anew and taken over.
  BuildCounts total_built;
};

// What one reload did, for whoever asked for it (POST /reload, systemd's STATUS=).
struct ReloadOutcome {
  bool ok = false;                  // false: rejected, the previous state keeps serving
  std::string trigger;              // "SIGHUP", "file change", "admin"
  double seconds = 0;
  BuildCounts built;                // what a published reload built anew and took over
  // Why it was rejected, each "file:line:column: message".
  std::vector<std::string> errors;
  // Zone files that do not load (served without them, or with their last good
  // version): they do not reject the reload, but still need fixing.
  std::vector<std::string> zone_errors;
  std::size_t zones = 0;            // served after the reload
  std::size_t services = 0;
  std::size_t zone_failures = 0;
};

// Sees every full reload start and finish (systemd notification).
class ReloadObserver {
 public:
  virtual ~ReloadObserver() = default;
  virtual void reload_started(const std::string& trigger) = 0;
  virtual void reload_finished(const ReloadOutcome& outcome) = 0;
};

// Takes part in a reload: sees the new state before it is published; throwing
// rejects the reload (e.g. a forwarder cannot bind its new address).
class ReloadParticipant {
 public:
  virtual ~ReloadParticipant() = default;
  virtual void prepare(const LoadedState& next) = 0;
};

class ServerState {
 public:
  // checks may be null (no active checks, e.g. in tests).
  ServerState(std::string config_path, LoadedState initial, net::SnapshotHolder& holder, health::HealthTable& table,
              health::CheckRunner* checks);
  ~ServerState();
  ServerState(const ServerState&) = delete;
  ServerState& operator=(const ServerState&) = delete;

  // Prepares every reload before it is published (null: none); it must outlive this.
  void set_reload_participant(ReloadParticipant* participant) { participant_ = participant; }
  // Told of every full reload (null: nobody); it must outlive this.
  void set_reload_observer(ReloadObserver* observer);

  // Rebuilds everything from the files; not ok when they are invalid.
  ReloadOutcome reload(const std::string& trigger);
  // Checks the watched files; reloads what changed (StateWatcher calls it when
  // inotify reports a change, and every few seconds).
  void poll();
  // Every file and folder poll() looks at: meridian.json, zones, latency tables,
  // the health override folder.
  std::vector<std::string> watched_paths() const;
  // Re-reads the health table into a new snapshot (after checks or the
  // forwarding tier changed an entry).
  void refresh_health();
  // True while a region is in its slow start (the snapshot must be rebuilt as it ramps).
  bool ramping() const;

  ReloadStatus reload_status() const;
  LoadedState current() const;

 private:
  // mutex_ held through `lock`, released while new zones are signed.
  ReloadOutcome reload_locked(const std::string& trigger, std::unique_lock<std::mutex>& lock);
  bool reload_health();
  // New snapshot from state_ and the table; mutex_ held. True when it kept the
  // routing table served until now. presigned: the table presign() returned for
  // state_, whose compiled services a new table takes over where health agrees.
  bool publish_locked(const routing::RoutingTable* presigned = nullptr);
  // Before next is published, with mutex_ not held: its new or changed signed zones
  // and their dynamic answers (for a routing table built on next's services and
  // the health observed now, returned), so that the publish signs nothing new
  // unless health changes meanwhile. Null when next has no signed zone.
  std::shared_ptr<const routing::RoutingTable> presign(const LoadedState& next);
  std::vector<std::string> config_paths() const;
  std::vector<std::string> health_paths() const;

  const std::string config_path_;
  net::SnapshotHolder& holder_;
  health::HealthTable& table_;
  health::CheckRunner* checks_;
  std::mutex reload_mutex_;  // one reload at a time (each releases mutex_ while it signs zones)
  mutable std::mutex mutex_;
  LoadedState state_;
  ReloadStatus status_;

  ReloadParticipant* participant_ = nullptr;
  ReloadObserver* observer_ = nullptr;
  routing::SlowStart slow_start_;
  ZoneSigning signing_;  // DNSSEC signatures kept across snapshots
  // The served snapshot's routing table and the health it was built from.
  std::shared_ptr<const routing::RoutingTable> routing_table_;
  std::shared_ptr<const health::HealthSnapshot> routing_health_;
  bool routing_ramped_ = false;  // built with slow-start shares: never reused
  std::string config_fingerprint_;
  std::string health_fingerprint_;
  uint64_t health_loads_ = 0;  // override files read by reload_health()

  // DNSSEC signature refresh, on a thread of its own so that neither the state
  // mutex nor the watcher thread (health changes, reloads) waits on it: poll()
  // wakes it when signatures are due; it signs, then publishes.
  void run_refresher();
  void wake_refresher();
  std::mutex refresher_mutex_;
  std::condition_variable refresher_wake_;
  bool refresher_due_ = false;
  bool refresher_stop_ = false;
  std::thread refresher_;  // last: started once everything above exists
};

}  // namespace meridian::runtime
