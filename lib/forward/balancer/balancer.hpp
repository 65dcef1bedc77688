// One pure interface for every balancing algorithm. A balancer is built for a fixed,
// ordered list of backends (ids and weights); each pick sees which of them may take
// traffic now and their load (connections or requests in flight).
// Balancers are not thread-safe: each listener uses its own from its io thread.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "forward/settings.hpp"

namespace meridian::forward {

struct Candidate {
  uint32_t weight = 1;
  uint32_t load = 0;
  bool eligible = true;
};

class Balancer {
 public:
  virtual ~Balancer() = default;
  // Index of the chosen candidate, or -1 when none is eligible. key: the request's hash
  // key (client IP, header or cookie), used by the hashing algorithms only.
  virtual int pick(std::span<const Candidate> candidates, uint64_t key) = 0;
  virtual Algorithm algorithm() const = 0;
};

// ids: stable backend identities ("127.0.0.1:9001"), used by consistent_hash.
std::unique_ptr<Balancer> make_balancer(const BalanceSettings& settings, const std::vector<std::string>& ids,
                                        const std::vector<uint32_t>& weights);

// 64-bit hash of bytes (FNV-1a with a strong finaliser).
uint64_t hash_bytes(std::string_view bytes, uint64_t seed = 0);
uint64_t mix64(uint64_t x);

}  // namespace meridian::forward
