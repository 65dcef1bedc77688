#include "runtime/state_watcher.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>

#include "util/log.hpp"

namespace meridian::runtime {

using Clock = std::chrono::steady_clock;

StateWatcher::StateWatcher(ServerState& state, WatchTiming timing)
    : state_(state), timing_(timing), wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
  watching_ = inotify_.watch(state_.watched_paths());
  if (!watching_)
    util::log(util::LogLevel::warn, "file_watch_degraded",
              {{"reason", inotify_.ok() ? "some files cannot be watched with inotify" : "inotify is unavailable"},
               {"poll_ms", std::to_string(timing_.poll_without_inotify.count())}});
  thread_ = std::thread([this] { run(); });
}

StateWatcher::~StateWatcher() {
  stop_ = true;
  wake();
  thread_.join();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void StateWatcher::health_changed() {
  health_dirty_ = true;
  wake();
}

void StateWatcher::request_reload(std::string trigger, ReloadDone done) {
  {
    std::lock_guard lock(requests_mutex_);
    requests_.push_back({std::move(trigger), std::move(done)});
  }
  wake();
}

bool StateWatcher::run_requested_reloads() {
  std::deque<ReloadRequest> batch;
  {
    std::lock_guard lock(requests_mutex_);
    batch.swap(requests_);
  }
  if (batch.empty()) return false;
  std::string trigger = batch.front().trigger;
  for (std::size_t i = 1; i < batch.size(); ++i)
    if (trigger.find(batch[i].trigger) == std::string::npos) trigger += "," + batch[i].trigger;
  const ReloadOutcome outcome = state_.reload(trigger);
  for (auto& r : batch)
    if (r.done) r.done(outcome);
  return true;
}

void StateWatcher::wake() {
  const uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
}

void StateWatcher::run() {
  auto next_poll = Clock::now();
  auto next_ramp = Clock::now();
  constexpr auto kNotSettling = Clock::time_point::max();
  Clock::time_point settle_until = kNotSettling;  // files changed: look once they settle
  while (!stop_) {
    auto wake_at = std::min(next_poll, settle_until);
    if (state_.ramping()) wake_at = std::min(wake_at, next_ramp);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - Clock::now());
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {inotify_.fd(), POLLIN, 0}};
    // Without a wake fd (no eventfd), wake up often enough to notice health changes.
    const int timeout = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, wake_fd_ >= 0 ? 60000 : 100));
    ::poll(fds, inotify_.ok() ? 2 : 1, timeout);
    if (stop_) break;
    if (fds[0].revents & POLLIN) {
      uint64_t count = 0;
      (void)!::read(wake_fd_, &count, sizeof count);
    }
    // A reload may name other files.
    if (run_requested_reloads()) watching_ = inotify_.watch(state_.watched_paths());
    // Always drain the events (poll is level-triggered); the first relevant one starts the wait.
    if ((fds[1].revents & POLLIN) && inotify_.changed() && settle_until == kNotSettling)
      settle_until = Clock::now() + timing_.settle;

    const auto now = Clock::now();
    const bool ramp_due = state_.ramping() && now >= next_ramp;
    if (health_dirty_.exchange(false) || ramp_due) {
      state_.refresh_health();
      next_ramp = now + timing_.ramp_refresh;
    }
    if (now >= next_poll || now >= settle_until) {
      settle_until = kNotSettling;
      state_.poll();
      // A reload may name other files, and a folder may have appeared or gone.
      watching_ = inotify_.watch(state_.watched_paths());
      next_poll = Clock::now() + (watching_ ? timing_.poll_with_inotify : timing_.poll_without_inotify);
    }
  }
}

}  // namespace meridian::runtime
