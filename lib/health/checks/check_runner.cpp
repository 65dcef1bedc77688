#include "health/checks/check_runner.hpp"

#include <random>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "health/checks/check_stability.hpp"
#include "health/checks/rise_fall.hpp"
#include "util/log.hpp"

namespace meridian::health {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {
bool same_settings(const CheckTarget& a, const CheckTarget& b) {
  const CheckConfig& x = a.config;
  const CheckConfig& y = b.config;
  return a.endpoint == b.endpoint && x.kind == y.kind && x.interval == y.interval && x.timeout == y.timeout &&
         x.rise == y.rise && x.fall == y.fall && x.initial_up == y.initial_up && x.port == y.port && x.path == y.path &&
         x.host == y.host && x.expect == y.expect && x.body_contains == y.body_contains && x.hold_down == y.hold_down &&
         x.jitter == y.jitter && x.tls == y.tls && x.tls_settings == y.tls_settings && x.qname == y.qname &&
         x.qtype == y.qtype && x.expect_rcode == y.expect_rcode && x.expect_answer == y.expect_answer &&
         x.dns_tcp == y.dns_tcp;
}

double random_unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

const char* state_name(bool up) { return up ? "up" : "down"; }
}  // namespace

// One target: when to probe next; its results go through RiseFall to the table.
class CheckRunner::Monitor : public std::enable_shared_from_this<Monitor> {
 public:
  Monitor(asio::io_context& io, HealthTable& table, CheckTarget target, const ProbeMaker& make)
      : table_(table), target_(std::move(target)), timer_(io), probe_(make(io.get_executor(), target_.config)),
        state_(target_.config),
        // A random offset within one interval keeps checks from firing together.
        first_delay_(static_cast<int64_t>(random_unit() * static_cast<double>(target_.config.interval.count()))) {}

  // Reported synchronously by apply(), so a snapshot built right after sees it.
  void report_initial() {
    table_.report(target_.key, Source::check, state_.up() ? State::up : State::down,
                  std::string("initial state (") + state_name(state_.up()) + "): waiting for the first check",
                  stability(Clock::now() + first_delay_));
  }

  void start() { schedule(first_delay_); }

  void stop() {
    stopped_ = true;
    timer_.cancel();
    probe_->cancel();
  }

  const CheckTarget& target() const { return target_; }

  CheckStats stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }

 private:
  void schedule(std::chrono::milliseconds delay) {
    if (stopped_) return;
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec && !self->stopped_) self->probe();
    });
  }

  void probe() {
    const Clock::time_point started = Clock::now();
    probe_->start(target_.endpoint, started + target_.config.timeout, [self = shared_from_this(), started](ProbeResult r) {
      self->count(std::chrono::duration<double>(Clock::now() - started).count(), r.ok);
      if (!self->stopped_) self->judge(r);
    });
  }

  void count(double seconds, bool ok) {
    std::lock_guard lock(stats_mutex_);
    ++stats_.runs;
    if (!ok) ++stats_.failures;
    stats_.last_duration_seconds = seconds;
    stats_.has_result = true;
  }

  void judge(const ProbeResult& result) {
    const auto now = Clock::now();
    if (state_.record(result.ok, now))
      util::log(util::LogLevel::info, "health_change",
                {{"key", target_.key}, {"state", state_name(state_.up())}, {"source", "check"}, {"reason", result.reason}});
    // The reason is refreshed on every result so /status shows the latest error.
    const std::chrono::milliseconds delay = next_interval();
    table_.report(target_.key, Source::check, state_.up() ? State::up : State::down, result.reason, stability(now + delay));
    schedule(delay);
  }

  std::chrono::milliseconds next_interval() const {
    const double j = target_.config.jitter;
    const double factor = 1.0 + j * (2.0 * random_unit() - 1.0);
    return std::chrono::milliseconds(static_cast<int64_t>(target_.config.interval.count() * factor));
  }

  Stability stability(Clock::time_point next_check) const {
    return check_stability(target_.config, state_.progress(next_check));
  }

  HealthTable& table_;
  const CheckTarget target_;
  asio::steady_timer timer_;
  const std::unique_ptr<Probe> probe_;
  RiseFall state_;
  const std::chrono::milliseconds first_delay_;
  std::atomic<bool> stopped_{false};
  mutable std::mutex stats_mutex_;
  CheckStats stats_;
};

CheckRunner::CheckRunner(HealthTable& table) : CheckRunner(table, make_probe) {}

CheckRunner::CheckRunner(HealthTable& table, ProbeMaker probes)
    : table_(table), make_probe_(std::move(probes)),
      work_(std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(io_.get_executor())),
      thread_([this] { io_.run(); }) {}

CheckRunner::~CheckRunner() { stop(); }

void CheckRunner::apply(std::vector<CheckTarget> targets) {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::shared_ptr<Monitor>> next;
  for (auto& t : targets) {
    const auto it = monitors_.find(t.key);
    if (it != monitors_.end() && same_settings(it->second->target(), t)) {
      next[t.key] = it->second;
      continue;
    }
    auto m = std::make_shared<Monitor>(io_, table_, std::move(t), make_probe_);
    m->report_initial();
    next[m->target().key] = m;
    asio::post(io_, [m] { m->start(); });
  }
  for (auto& [key, m] : monitors_) {
    if (next.count(key) && next[key] == m) continue;
    asio::post(io_, [m = m] { m->stop(); });
    if (!next.count(key)) table_.forget(key, Source::check);
  }
  monitors_ = std::move(next);
}

void CheckRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, m] : monitors_) asio::post(io_, [m = m] { m->stop(); });
    monitors_.clear();
  }
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

bool CheckRunner::all_have_results() const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, m] : monitors_)
    if (!m->stats().has_result) return false;
  return true;
}

std::map<std::string, CheckStats> CheckRunner::stats() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, CheckStats> out;
  for (const auto& [key, m] : monitors_) out[key] = m->stats();
  return out;
}

}  // namespace meridian::health
