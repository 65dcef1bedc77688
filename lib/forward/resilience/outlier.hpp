// Outlier detection (passive health). A backend that fails `consecutive_failures`
// times in a row (connect failures, 5xx, timeouts) is marked failing and ejected for
// base_ejection * 2^(previous ejections), at most max_ejection; never more than
// max_ejection_percent of a region's backends are ejected at once (a failing backend
// over that share stays in rotation but is still reported down). A success clears
// the failing mark.
#pragma once
#include <cstddef>
#include <cstdint>

#include "forward/resilience/clock.hpp"
#include "forward/settings.hpp"

namespace meridian::forward {

struct OutlierState {
  unsigned consecutive = 0;
  unsigned ejections = 0;     // multiplier: ejections in a row
  uint64_t ejected_total = 0;
  bool failing = false;
  Time ejected_until{};
  Time last_ejection_end{};
  Time last_failure{};
  bool ejected(Time now) const { return now < ejected_until; }
};

struct OutlierVerdict {
  bool became_failing = false;
  bool ejected = false;
};

class OutlierDetector {
 public:
  explicit OutlierDetector(const OutlierSettings& s = {}) : s_(s) {}
  // ejected_now: backends of the region ejected right now; total: backends in the region.
  OutlierVerdict on_failure(OutlierState& b, std::size_t ejected_now, std::size_t total, Time now) const;
  // True when the backend was failing and is not any more.
  bool on_success(OutlierState& b, Time now) const;
  const OutlierSettings& settings() const { return s_; }

 private:
  OutlierSettings s_;
};

}  // namespace meridian::forward
