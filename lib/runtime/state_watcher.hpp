// Keeps the served state current, on a thread of its own (the one thread that
// reloads: SIGHUP and POST /reload hand their reloads to it): republishes health as
// soon as the health table changes (and regularly while a slow start ramps), and
// looks for edited files (meridian.json, zones, latency tables, health overrides)
// as soon as inotify reports a change in their folders. A slow poll stays as a
// fallback for changes inotify cannot see (network filesystems); without inotify
// it polls twice a second.
#pragma once
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "health/health_table.hpp"
#include "runtime/inotify_watch.hpp"
#include "runtime/server_state.hpp"

namespace meridian::runtime {

struct WatchTiming {
  std::chrono::milliseconds poll_with_inotify{2000};
  std::chrono::milliseconds poll_without_inotify{500};
  std::chrono::milliseconds settle{50};       // after an event, wait for the writer to finish
  std::chrono::milliseconds ramp_refresh{500};  // slow start advances this often
};

class StateWatcher {
 public:
  explicit StateWatcher(ServerState& state, WatchTiming timing = {});
  ~StateWatcher();
  StateWatcher(const StateWatcher&) = delete;
  StateWatcher& operator=(const StateWatcher&) = delete;

  // From any thread: the health table changed.
  void health_changed();
  // From any thread: a full reload on the watcher's thread, started after this
  // call; done (may be empty) is called there with its outcome. Requests that
  // wait while a reload runs share the next one. A watcher that stops first
  // drops done uncalled.
  using ReloadDone = std::function<void(const ReloadOutcome&)>;
  void request_reload(std::string trigger, ReloadDone done);
  // True while inotify watches every file and folder (else polling is faster).
  bool watching() const { return watching_.load(); }

 private:
  void run();
  void wake();
  bool run_requested_reloads();  // true when one ran

  struct ReloadRequest {
    std::string trigger;
    ReloadDone done;
  };

  ServerState& state_;
  const WatchTiming timing_;
  InotifyWatch inotify_;
  int wake_fd_ = -1;  // eventfd: health changes and stop
  std::atomic<bool> health_dirty_{false};
  std::atomic<bool> stop_{false};
  std::atomic<bool> watching_{false};
  std::mutex requests_mutex_;
  std::deque<ReloadRequest> requests_;
  std::thread thread_;
};

// The DNS side of the health table: a changed entry means a new snapshot (the
// overrides come with one already: ServerState publishes them).
class RepublishOnHealthChange : public health::HealthListener {
 public:
  explicit RepublishOnHealthChange(StateWatcher& watcher) : watcher_(watcher) {}
  void on_status_changed(const std::string&, const health::Status&) override { watcher_.health_changed(); }
  void on_cluster_changed() override { watcher_.health_changed(); }

 private:
  StateWatcher& watcher_;
};

}  // namespace meridian::runtime
