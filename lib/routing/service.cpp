#include "routing/service.hpp"

namespace meridian::routing {

unsigned MinHealthy::required(std::size_t backends) const {
  if (percent < 0) return count;
  const double need = percent / 100.0 * static_cast<double>(backends);
  const auto n = static_cast<unsigned>(need);
  return static_cast<double>(n) < need ? n + 1 : n;  // round up: 50% of 3 needs 2
}

bool operator==(const Tier& a, const Tier& b) { return a.regions == b.regions; }
bool Preference::operator==(const Preference& o) const { return tiers == o.tiers; }

int Service::region_index(const std::string& n) const {
  for (std::size_t i = 0; i < regions.size(); ++i)
    if (regions[i].name == n) return static_cast<int>(i);
  return -1;
}

}  // namespace meridian::routing
