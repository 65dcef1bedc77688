// Turns one target's results into up/down: `fall` failures in a row take it
// down, `rise` successes in a row bring it up, and no flip comes within
// `hold_down` of the previous one. No clock or I/O of its own.
#pragma once
#include <chrono>
#include <optional>

#include "health/checks/check_config.hpp"
#include "health/checks/check_stability.hpp"

namespace meridian::health {

class RiseFall {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RiseFall(const CheckConfig& config);

  // Records one result observed at `now`; true when the state flipped.
  bool record(bool ok, Clock::time_point now);
  bool up() const { return up_; }
  // How far from a flip, for check_stability().
  CheckProgress progress(Clock::time_point next_check) const;

 private:
  unsigned rise_;
  unsigned fall_;
  std::chrono::milliseconds hold_down_;
  bool up_;
  unsigned successes_ = 0;  // in a row, including the latest result
  unsigned failures_ = 0;
  // None before the first flip: the steady clock's epoch is the host's boot, so
  // a default time would hold the first flip on a host up for less than hold_down.
  std::optional<Clock::time_point> last_change_;
};

}  // namespace meridian::health
