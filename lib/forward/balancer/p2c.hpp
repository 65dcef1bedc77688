// Power of two choices: two distinct eligible backends at random, the one with the
// lower load per unit of weight wins.
#pragma once
#include <vector>

#include "forward/balancer/balancer.hpp"

namespace meridian::forward {

class PowerOfTwo final : public Balancer {
 public:
  explicit PowerOfTwo(uint64_t seed = 0x853c49e6748fea9bull) : state_(seed) {}
  int pick(std::span<const Candidate> c, uint64_t key) override;
  Algorithm algorithm() const override { return Algorithm::p2c; }

 private:
  uint64_t next();
  uint64_t state_;
  std::vector<uint32_t> eligible_;
};

}  // namespace meridian::forward
