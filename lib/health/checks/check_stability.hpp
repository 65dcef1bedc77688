// When a checked target's state can next change: after the results still needed
// for a flip (`fall` failures while up, `rise` successes while down, fewer once a
// streak has begun), the first at the next check, the others one shortest
// interval apart (jitter included), and not inside a hold-down.
#pragma once
#include "health/checks/check_config.hpp"
#include "health/stability.hpp"

namespace meridian::health {

struct CheckProgress {
  bool up = true;
  unsigned successes = 0;  // consecutive, including the latest result
  unsigned failures = 0;
  Stability::Clock::time_point next_check{};
  Stability::Clock::time_point hold_until{};  // no change before this (hold_down)
};

// The number of further results that could flip the state (at least 1).
unsigned results_to_flip(const CheckConfig& config, const CheckProgress& progress);

Stability check_stability(const CheckConfig& config, const CheckProgress& progress);

}  // namespace meridian::health
