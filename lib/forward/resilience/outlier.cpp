#include "forward/resilience/outlier.hpp"

#include <algorithm>

namespace meridian::forward {

OutlierVerdict OutlierDetector::on_failure(OutlierState& b, std::size_t ejected_now, std::size_t total,
                                           Time now) const {
  OutlierVerdict v;
  b.last_failure = now;
  if (s_.consecutive_failures == 0) return v;
  if (++b.consecutive < s_.consecutive_failures) return v;
  if (!b.failing) {
    b.failing = true;
    v.became_failing = true;
  }
  if (b.ejected(now)) return v;
  if ((ejected_now + 1) * 100 > std::size_t(s_.max_ejection_percent) * total) return v;
  const unsigned shift = std::min(b.ejections, 20u);
  const Ms time = std::min<Ms>(s_.max_ejection, Ms(s_.base_ejection.count() << shift));
  b.ejected_until = now + time;
  b.last_ejection_end = b.ejected_until;
  ++b.ejections;
  ++b.ejected_total;
  b.consecutive = 0;
  v.ejected = true;
  return v;
}

bool OutlierDetector::on_success(OutlierState& b, Time now) const {
  b.consecutive = 0;
  // the ejection multiplier decays once the backend has behaved for a base ejection time
  if (b.ejections > 0 && now - b.last_ejection_end > s_.base_ejection) b.ejections = 0;
  if (!b.failing) return false;
  b.failing = false;
  return true;
}

}  // namespace meridian::forward
