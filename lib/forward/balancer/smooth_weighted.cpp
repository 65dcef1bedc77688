#include "forward/balancer/smooth_weighted.hpp"

namespace meridian::forward {

int SmoothWeighted::pick(std::span<const Candidate> c, uint64_t) {
  if (current_.size() != c.size()) current_.assign(c.size(), 0);
  int best = -1;
  int64_t total = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!c[i].eligible || c[i].weight == 0) continue;
    current_[i] += c[i].weight;
    total += c[i].weight;
    if (best < 0 || current_[i] > current_[static_cast<std::size_t>(best)]) best = static_cast<int>(i);
  }
  if (best >= 0) current_[static_cast<std::size_t>(best)] -= total;
  return best;
}

}  // namespace meridian::forward
