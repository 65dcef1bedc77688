// How long a health state is certain to hold: it cannot change before
// max(until - now, at_least). `until` is a moment (the next check plus the
// checks still needed for a flip), `at_least` a floor that stays true however old
// the value is (the checks needed, at the shortest interval), so a snapshot built
// earlier still gives a safe bound. Overrides and unchecked targets never expire.
#pragma once
#include <algorithm>
#include <chrono>

namespace meridian::health {

struct Stability {
  using Clock = std::chrono::steady_clock;

  Clock::time_point until = Clock::time_point::max();
  Clock::duration at_least = Clock::duration::max();

  static Stability forever() { return {}; }
  // Both parts finite; either one infinite means the state holds for good.
  bool expires() const { return until != Clock::time_point::max() && at_least != Clock::duration::max(); }

  // Time left at `now`; Clock::duration::max() when it never expires.
  Clock::duration remaining(Clock::time_point now) const {
    if (!expires()) return Clock::duration::max();
    return std::max(until > now ? until - now : Clock::duration::zero(), at_least);
  }

  // A bound that holds for both (the earlier change).
  static Stability earliest(const Stability& a, const Stability& b) {
    return {std::min(a.until, b.until), std::min(a.at_least, b.at_least)};
  }

  bool operator==(const Stability&) const = default;
};

}  // namespace meridian::health
