#include "forward/resilience/backoff.hpp"

#include <algorithm>

namespace meridian::forward {

Ms backoff_ceiling(unsigned attempt, Ms base, Ms cap) {
  if (base.count() <= 0) return Ms(0);
  const unsigned shift = std::min(attempt, 40u);
  const int64_t b = base.count();
  if (b > (cap.count() >> shift)) return cap;
  return std::min(cap, Ms(b << shift));
}

Ms full_jitter(unsigned attempt, Ms base, Ms cap, uint64_t random) {
  const int64_t ceiling = backoff_ceiling(attempt, base, cap).count();
  if (ceiling <= 0) return Ms(0);
  return Ms(static_cast<int64_t>(random % uint64_t(ceiling + 1)));
}

}  // namespace meridian::forward
