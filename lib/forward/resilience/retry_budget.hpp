// Retry budget: retries may be at most `ratio` of the requests seen over a sliding
// window (plus min_retries per window, so a quiet listener can still retry). Past
// it, requests fail fast instead of multiplying load on failing backends.
#pragma once
#include <cstdint>

#include "forward/resilience/rolling_window.hpp"
#include "forward/settings.hpp"

namespace meridian::forward {

class RetryBudget {
 public:
  RetryBudget(double ratio, Ms window, unsigned min_retries);
  void on_request(Time now);
  // True (and counted) when one more retry fits the budget.
  bool try_retry(Time now);
  uint64_t denied() const { return denied_; }

 private:
  double ratio_;
  unsigned min_retries_;
  RollingWindow window_;  // a: requests, b: retries
  uint64_t denied_ = 0;
};

}  // namespace meridian::forward
