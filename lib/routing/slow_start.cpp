#include "routing/slow_start.hpp"

namespace meridian::routing {

std::vector<SlowStart::Started> SlowStart::observe(const RoutingTable& table, Clock::time_point now) {
  std::vector<Started> started;
  const auto& services = table.services().services;
  for (std::size_t i = 0; i < services.size(); ++i) {
    for (std::size_t r = 0; r < services[i].regions.size(); ++r) {
      const Region& region = services[i].regions[r];
      health::HealthKey key = region.key(services[i].name);
      const bool up = table.compiled(static_cast<int>(i)).regions[r].up;
      const auto was = was_up_.find(key);
      if (up && was != was_up_.end() && !was->second && region.slow_start.count() > 0) {
        started_[key] = now;
        started.push_back({key, region.slow_start});
      }
      if (!up) started_.erase(key);
      was_up_[std::move(key)] = up;
    }
  }
  return started;
}

RampShares SlowStart::shares(const ServiceSet& services, Clock::time_point now) {
  RampShares shares;
  for (auto it = started_.begin(); it != started_.end();) {
    std::chrono::milliseconds length{0};
    if (const int s = services.find(it->first.service()); s >= 0) {
      const Service& svc = services.services[static_cast<std::size_t>(s)];
      if (const int r = svc.region_index(it->first.region_name()); r >= 0)
        length = svc.regions[static_cast<std::size_t>(r)].slow_start;
    }
    const double share = length.count() > 0 ? std::chrono::duration<double>(now - it->second) / length : 1.0;
    if (share >= 1.0) {
      it = started_.erase(it);  // done: full share from now on
      continue;
    }
    shares[it->first.to_string()] = share;
    ++it;
  }
  return shares;
}

}  // namespace meridian::routing
