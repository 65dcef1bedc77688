#include "forward/balancer/round_robin.hpp"

namespace meridian::forward {

int RoundRobin::pick(std::span<const Candidate> c, uint64_t) {
  const std::size_t n = c.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t at = (next_ + i) % n;
    if (c[at].eligible && c[at].weight > 0) {
      next_ = at + 1;
      return static_cast<int>(at);
    }
  }
  return -1;
}

}  // namespace meridian::forward
