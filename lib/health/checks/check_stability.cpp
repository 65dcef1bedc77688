#include "health/checks/check_stability.hpp"

namespace meridian::health {

unsigned results_to_flip(const CheckConfig& c, const CheckProgress& p) {
  const unsigned need = p.up ? c.fall : c.rise;
  const unsigned have = p.up ? p.failures : p.successes;
  // A streak already long enough (held back by hold-down) flips on the next result.
  return have >= need ? 1 : need - have;
}

Stability check_stability(const CheckConfig& c, const CheckProgress& p) {
  using Clock = Stability::Clock;
  const auto shortest = std::chrono::duration_cast<Clock::duration>(c.interval * (1.0 - c.jitter));
  const unsigned n = results_to_flip(c, p);
  Stability s;
  s.at_least = shortest * (n - 1);
  s.until = std::max(p.next_check + s.at_least, p.hold_until);
  return s;
}

}  // namespace meridian::health
