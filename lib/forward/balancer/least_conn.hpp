// Least connections: the eligible backend with the fewest connections (or requests)
// in flight; weighted: the fewest per unit of weight. Ties rotate so equal backends
// share the traffic.
#pragma once
#include "forward/balancer/balancer.hpp"

namespace meridian::forward {

class LeastConn final : public Balancer {
 public:
  explicit LeastConn(bool weighted) : weighted_(weighted) {}
  int pick(std::span<const Candidate> c, uint64_t key) override;
  Algorithm algorithm() const override {
    return weighted_ ? Algorithm::weighted_least_conn : Algorithm::least_conn;
  }

 private:
  bool weighted_;
  std::size_t start_ = 0;
};

}  // namespace meridian::forward
