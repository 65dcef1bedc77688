#include "forward/resilience/rate_limiter.hpp"

#include <algorithm>
#include <cmath>

namespace meridian::forward {

void TokenBucket::refill(Time now) {
  if (now > last_) {
    const double secs = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + secs * rate_);
    last_ = now;
  }
}

bool TokenBucket::take(Time now) {
  refill(now);
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return true;
  }
  return false;
}

Ms TokenBucket::wait(Time now) {
  refill(now);
  if (tokens_ >= 1.0 || rate_ <= 0) return Ms(0);
  return Ms(static_cast<int64_t>(std::ceil((1.0 - tokens_) / rate_ * 1000.0)));
}

bool TokenBucket::full(Time now) const {
  const double secs = now > last_ ? std::chrono::duration<double>(now - last_).count() : 0.0;
  return tokens_ + secs * rate_ >= burst_;
}

bool RateLimiter::allow(const std::string& client, Time now, unsigned& retry_after) {
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients_) {
      // forget clients whose bucket has refilled: they lose nothing
      std::erase_if(buckets_, [&](auto& kv) { return kv.second.full(now); });
    }
    if (buckets_.size() >= max_clients_) {  // still full: refuse newcomers rather than grow without bound
      ++refused_;
      retry_after = 1;
      return false;
    }
    it = buckets_.emplace(client, TokenBucket(rate_, burst_, now)).first;
  }
  if (it->second.take(now)) return true;
  ++refused_;
  const Ms w = it->second.wait(now);
  retry_after = static_cast<unsigned>(std::max<int64_t>(1, (w.count() + 999) / 1000));
  return false;
}

}  // namespace meridian::forward
