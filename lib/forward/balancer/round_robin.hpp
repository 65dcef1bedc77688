// Plain round robin over the eligible backends (weights ignored).
#pragma once
#include "forward/balancer/balancer.hpp"

namespace meridian::forward {

class RoundRobin final : public Balancer {
 public:
  int pick(std::span<const Candidate> c, uint64_t key) override;
  Algorithm algorithm() const override { return Algorithm::round_robin; }

 private:
  std::size_t next_ = 0;
};

}  // namespace meridian::forward
