// The TTL of a dynamic answer: the service's `ttl` (or `failover_ttl` off the
// client's first choice) as the maximum, lowered to the seconds until the health
// that decided the answer can next change, but not below `ttl_min` (itself never
// above that maximum). Allocation-free: used on the query path.
#pragma once
#include <cstdint>

#include "health/stability.hpp"
#include "routing/service.hpp"

namespace meridian::routing {

struct AnswerTtl {
  enum class Why : uint8_t {
    configured,  // nothing that decided it can change on its own (no checks, overrides), or the cap is off
    health_cap,  // lowered to the time until the next possible change
    ttl_min,     // that time is shorter still: held at ttl_min
  };
  uint32_t ttl = 0;
  uint32_t configured = 0;  // ttl or failover_ttl
  Why why = Why::configured;
  int64_t seconds_to_change = -1;  // -1: never (no cap)
};

AnswerTtl answer_ttl(const Service& service, bool failover, const health::Stability& stability,
                     health::Stability::Clock::time_point now);

}  // namespace meridian::routing
