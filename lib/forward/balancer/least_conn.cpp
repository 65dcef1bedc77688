#include "forward/balancer/least_conn.hpp"

namespace meridian::forward {

int LeastConn::pick(std::span<const Candidate> c, uint64_t) {
  const std::size_t n = c.size();
  int best = -1;
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (start_ + k) % n;
    if (!c[i].eligible || c[i].weight == 0) continue;
    if (best < 0) {
      best = static_cast<int>(i);
      continue;
    }
    const Candidate& b = c[static_cast<std::size_t>(best)];
    const bool better = weighted_
                            ? uint64_t(c[i].load) * b.weight < uint64_t(b.load) * c[i].weight
                            : c[i].load < b.load;
    if (better) best = static_cast<int>(i);
  }
  if (n) start_ = (start_ + 1) % n;
  return best;
}

}  // namespace meridian::forward
