// Smooth weighted round robin (nginx's algorithm): every pick adds each eligible
// backend's weight to its running score, takes the highest, and subtracts the total
// from the winner. Spreads a backend's turns evenly instead of in bursts.
#pragma once
#include <vector>

#include "forward/balancer/balancer.hpp"

namespace meridian::forward {

class SmoothWeighted final : public Balancer {
 public:
  explicit SmoothWeighted(std::size_t n) : current_(n, 0) {}
  int pick(std::span<const Candidate> c, uint64_t key) override;
  Algorithm algorithm() const override { return Algorithm::weighted_round_robin; }

 private:
  std::vector<int64_t> current_;
};

}  // namespace meridian::forward
