#include "forward/resilience/circuit_breaker.hpp"

namespace meridian::forward {

const char* circuit_state_name(CircuitState s) {
  switch (s) {
    case CircuitState::closed: return "closed";
    case CircuitState::open: return "open";
    case CircuitState::half_open: return "half_open";
  }
  return "closed";
}

CircuitBreaker::CircuitBreaker(const CircuitSettings& s) : s_(s), window_(s.window, s.buckets) {}

void CircuitBreaker::configure(const CircuitSettings& s) {
  const bool reshape = s.window != s_.window || s.buckets != s_.buckets;
  s_ = s;
  if (reshape) window_ = RollingWindow(s.window, s.buckets);
  if (!s_.enabled) {
    state_ = CircuitState::closed;
    probes_in_flight_ = probe_successes_ = 0;
  }
}

bool CircuitBreaker::available(Time now) const {
  if (!s_.enabled) return true;
  switch (state_) {
    case CircuitState::closed: return true;
    case CircuitState::open: return now - opened_at_ >= s_.open_timeout;
    case CircuitState::half_open: return probes_in_flight_ < s_.half_open_probes;
  }
  return true;
}

void CircuitBreaker::go(CircuitState s, Time now) {
  if (s == state_) return;
  state_ = s;
  ++transitions_;
  probes_in_flight_ = probe_successes_ = 0;
  if (s == CircuitState::open) {
    opened_at_ = now;
    ++opened_count_;
  }
  if (s == CircuitState::closed) window_.reset();
}

void CircuitBreaker::on_dispatch(Time now) {
  if (!s_.enabled) return;
  if (state_ == CircuitState::open && now - opened_at_ >= s_.open_timeout) go(CircuitState::half_open, now);
  if (state_ == CircuitState::half_open) ++probes_in_flight_;
}

void CircuitBreaker::on_abandon() {
  if (state_ == CircuitState::half_open && probes_in_flight_ > 0) --probes_in_flight_;
}

void CircuitBreaker::on_success(Time now) {
  if (!s_.enabled) return;
  switch (state_) {
    case CircuitState::closed: window_.add(now, 1, 0); break;
    case CircuitState::open: break;  // a late answer to a request sent before opening
    case CircuitState::half_open:
      if (probes_in_flight_ > 0) --probes_in_flight_;
      if (++probe_successes_ >= s_.half_open_probes) go(CircuitState::closed, now);
      break;
  }
}

void CircuitBreaker::on_failure(Time now) {
  if (!s_.enabled) return;
  switch (state_) {
    case CircuitState::closed: {
      window_.add(now, 0, 1);
      uint64_t ok = 0, failed = 0;
      window_.sums(now, ok, failed);
      const uint64_t total = ok + failed;
      if (total >= s_.min_requests && double(failed) >= s_.failure_rate * double(total)) go(CircuitState::open, now);
      break;
    }
    case CircuitState::open: break;
    case CircuitState::half_open: go(CircuitState::open, now); break;
  }
}

}  // namespace meridian::forward
