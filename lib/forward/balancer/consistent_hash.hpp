// Consistent hashing on a ring of virtual nodes (vnodes per unit of weight, placed by
// hashing "ID#n"). A key goes to the first eligible backend clockwise from its hash,
// so when a backend leaves only its keys move, and they come back when it returns.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "forward/balancer/balancer.hpp"

namespace meridian::forward {

class ConsistentHash final : public Balancer {
 public:
  ConsistentHash(const std::vector<std::string>& ids, const std::vector<uint32_t>& weights, unsigned vnodes);
  int pick(std::span<const Candidate> c, uint64_t key) override;
  Algorithm algorithm() const override { return Algorithm::consistent_hash; }
  std::size_t ring_size() const { return ring_.size(); }

 private:
  std::vector<std::pair<uint64_t, uint32_t>> ring_;  // point, backend index; sorted
};

}  // namespace meridian::forward
