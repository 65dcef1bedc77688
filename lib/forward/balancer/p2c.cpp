#include "forward/balancer/p2c.hpp"

namespace meridian::forward {

uint64_t PowerOfTwo::next() {
  state_ += 0x9e3779b97f4a7c15ull;
  return mix64(state_);
}

int PowerOfTwo::pick(std::span<const Candidate> c, uint64_t) {
  eligible_.clear();
  for (std::size_t i = 0; i < c.size(); ++i)
    if (c[i].eligible && c[i].weight > 0) eligible_.push_back(static_cast<uint32_t>(i));
  const std::size_t n = eligible_.size();
  if (n == 0) return -1;
  if (n == 1) return static_cast<int>(eligible_[0]);
  const std::size_t a = next() % n;
  std::size_t b = next() % (n - 1);
  if (b >= a) ++b;
  const Candidate& x = c[eligible_[a]];
  const Candidate& y = c[eligible_[b]];
  // lower load/weight wins; on a tie the heavier weight, then the first draw
  const uint64_t lx = uint64_t(x.load) * y.weight, ly = uint64_t(y.load) * x.weight;
  if (lx < ly || (lx == ly && x.weight >= y.weight)) return static_cast<int>(eligible_[a]);
  return static_cast<int>(eligible_[b]);
}

}  // namespace meridian::forward
