#include "routing/answer_ttl.hpp"

#include <algorithm>

namespace meridian::routing {

AnswerTtl answer_ttl(const Service& s, bool failover, const health::Stability& stability,
                     health::Stability::Clock::time_point now) {
  AnswerTtl t;
  t.configured = failover ? s.failover_ttl : s.ttl;
  t.ttl = t.configured;
  if (!s.ttl_follows_health || !stability.expires()) return t;
  const auto left = std::chrono::duration_cast<std::chrono::seconds>(stability.remaining(now)).count();
  t.seconds_to_change = left;
  if (left >= static_cast<int64_t>(t.configured)) return t;
  const uint32_t floor = std::min(s.ttl_min, t.configured);
  if (left <= static_cast<int64_t>(floor)) {
    t.ttl = floor;
    t.why = floor == t.configured ? AnswerTtl::Why::configured : AnswerTtl::Why::ttl_min;
    return t;
  }
  t.ttl = static_cast<uint32_t>(left);
  t.why = AnswerTtl::Why::health_cap;
  return t;
}

}  // namespace meridian::routing
