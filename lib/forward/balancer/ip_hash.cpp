#include "forward/balancer/ip_hash.hpp"

namespace meridian::forward {

int IpHash::pick(std::span<const Candidate> c, uint64_t key) {
  const std::size_t n = c.size();
  if (n == 0) return -1;
  uint64_t h = key;
  for (int attempt = 0; attempt < 20; ++attempt) {
    const std::size_t i = static_cast<std::size_t>(h % n);
    if (c[i].eligible && c[i].weight > 0) return static_cast<int>(i);
    h = mix64(h + 0x9e3779b97f4a7c15ull);
  }
  const std::size_t first = static_cast<std::size_t>(key % n);
  for (std::size_t k = 0; k < n; ++k) {
    const std::size_t i = (first + k) % n;
    if (c[i].eligible && c[i].weight > 0) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace meridian::forward
