// IP hash: the client's address picks a backend (hash modulo the backend count); when
// that one may not take traffic, the key is rehashed a few times, then the next
// eligible backend in order takes it.
#pragma once
#include "forward/balancer/balancer.hpp"

namespace meridian::forward {

class IpHash final : public Balancer {
 public:
  int pick(std::span<const Candidate> c, uint64_t key) override;
  Algorithm algorithm() const override { return Algorithm::ip_hash; }
};

}  // namespace meridian::forward
