#include "forward/balancer/consistent_hash.hpp"

#include <algorithm>

namespace meridian::forward {

ConsistentHash::ConsistentHash(const std::vector<std::string>& ids, const std::vector<uint32_t>& weights,
                               unsigned vnodes) {
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const uint32_t w = i < weights.size() ? weights[i] : 1;
    const uint64_t points = std::min<uint64_t>(uint64_t(vnodes) * std::max<uint32_t>(w, 1), 100000);
    for (uint64_t v = 0; v < points; ++v)
      ring_.emplace_back(hash_bytes(ids[i] + "#" + std::to_string(v)), static_cast<uint32_t>(i));
  }
  std::sort(ring_.begin(), ring_.end());
}

int ConsistentHash::pick(std::span<const Candidate> c, uint64_t key) {
  if (ring_.empty()) return -1;
  const uint64_t h = mix64(key);
  auto it = std::lower_bound(ring_.begin(), ring_.end(), std::make_pair(h, uint32_t{0}));
  for (std::size_t k = 0; k < ring_.size(); ++k, ++it) {
    if (it == ring_.end()) it = ring_.begin();
    const uint32_t i = it->second;
    if (i < c.size() && c[i].eligible && c[i].weight > 0) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace meridian::forward
