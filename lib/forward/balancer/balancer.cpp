#include "forward/balancer/balancer.hpp"

#include "forward/balancer/consistent_hash.hpp"
#include "forward/balancer/ip_hash.hpp"
#include "forward/balancer/least_conn.hpp"
#include "forward/balancer/p2c.hpp"
#include "forward/balancer/round_robin.hpp"
#include "forward/balancer/smooth_weighted.hpp"

namespace meridian::forward {

uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

uint64_t hash_bytes(std::string_view bytes, uint64_t seed) {
  uint64_t h = 0xcbf29ce484222325ull ^ mix64(seed);
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return mix64(h);
}

std::unique_ptr<Balancer> make_balancer(const BalanceSettings& s, const std::vector<std::string>& ids,
                                        const std::vector<uint32_t>& weights) {
  switch (s.algorithm) {
    case Algorithm::round_robin: return std::make_unique<RoundRobin>();
    case Algorithm::weighted_round_robin: return std::make_unique<SmoothWeighted>(weights.size());
    case Algorithm::least_conn: return std::make_unique<LeastConn>(false);
    case Algorithm::weighted_least_conn: return std::make_unique<LeastConn>(true);
    case Algorithm::ip_hash: return std::make_unique<IpHash>();
    case Algorithm::consistent_hash: return std::make_unique<ConsistentHash>(ids, weights, s.vnodes);
    case Algorithm::p2c: return std::make_unique<PowerOfTwo>();
  }
  return std::make_unique<RoundRobin>();
}

}  // namespace meridian::forward
