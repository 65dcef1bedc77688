// Per-backend circuit breaker.
//   closed    -> open       when, over the sliding window, at least min_requests results
//                           were seen and the failure share reaches failure_rate
//   open      -> half_open  once open_timeout has passed (on the next dispatch)
//   half_open -> closed     after half_open_probes successful probes
//   half_open -> open       on any failed probe
// Only half_open_probes requests are in flight while half-open.
#pragma once
#include <cstdint>

#include "forward/resilience/clock.hpp"
#include "forward/resilience/rolling_window.hpp"
#include "forward/settings.hpp"

namespace meridian::forward {

enum class CircuitState : uint8_t { closed, open, half_open };
const char* circuit_state_name(CircuitState s);

class CircuitBreaker {
 public:
  explicit CircuitBreaker(const CircuitSettings& s = {});
  void configure(const CircuitSettings& s);  // keeps the state

  // May a request be sent now? Does not change anything.
  bool available(Time now) const;
  // A request is being sent (after available() said yes).
  void on_dispatch(Time now);
  void on_success(Time now);
  void on_failure(Time now);
  // A dispatched request ended without telling anything about the backend (cancelled).
  void on_abandon();

  CircuitState state() const { return state_; }
  uint64_t opened() const { return opened_count_; }
  uint64_t transitions() const { return transitions_; }

 private:
  void go(CircuitState s, Time now);
  CircuitSettings s_;
  CircuitState state_ = CircuitState::closed;
  Time opened_at_{};
  unsigned probes_in_flight_ = 0;
  unsigned probe_successes_ = 0;
  RollingWindow window_;  // a: successes, b: failures
  uint64_t opened_count_ = 0;
  uint64_t transitions_ = 0;
};

}  // namespace meridian::forward
