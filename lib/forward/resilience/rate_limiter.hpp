// Token buckets: one per client IP (rate tokens per second, up to burst).
#pragma once
#include <cstddef>
#include <string>
#include <unordered_map>

#include "forward/resilience/clock.hpp"
#include "forward/settings.hpp"

namespace meridian::forward {

class TokenBucket {
 public:
  TokenBucket(double rate, double burst, Time now) : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}
  bool take(Time now);
  // How long until one token is there (0 when one is).
  Ms wait(Time now);
  bool full(Time now) const;

 private:
  void refill(Time now);
  double rate_, burst_, tokens_;
  Time last_;
};

class RateLimiter {
 public:
  RateLimiter(double rate, double burst, std::size_t max_clients)
      : rate_(rate), burst_(burst), max_clients_(max_clients) {}
  // client: the client's address bytes. On refusal, retry_after is set (whole seconds, >= 1).
  bool allow(const std::string& client, Time now, unsigned& retry_after);
  std::size_t clients() const { return buckets_.size(); }
  uint64_t refused() const { return refused_; }

 private:
  double rate_, burst_;
  std::size_t max_clients_;
  std::unordered_map<std::string, TokenBucket> buckets_;
  uint64_t refused_ = 0;
};

}  // namespace meridian::forward
