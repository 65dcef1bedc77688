// Slow start: a region that comes back up takes its first-choice clients
// gradually, its share growing from 0 to 1 over its slow_start. This remembers
// which regions were up in the last routing table and when each recovering one
// came back, keyed by the region's health identity.
#pragma once
#include <chrono>
#include <map>
#include <vector>

#include "health/health_key.hpp"
#include "routing/routing_table.hpp"
#include "routing/service_set.hpp"

namespace meridian::routing {

class SlowStart {
 public:
  using Clock = std::chrono::steady_clock;
  struct Started {
    health::HealthKey region;
    std::chrono::milliseconds over;
  };

  // Looks at which regions are up in table (built without ramps); a region that
  // was down and is up again starts ramping at now. Returns the ones that started.
  std::vector<Started> observe(const RoutingTable& table, Clock::time_point now);
  // The shares at now of the regions still ramping; forgets the ones done.
  RampShares shares(const ServiceSet& services, Clock::time_point now);
  bool ramping() const { return !started_.empty(); }

 private:
  std::map<health::HealthKey, Clock::time_point> started_;
  std::map<health::HealthKey, bool> was_up_;
};

}  // namespace meridian::routing
