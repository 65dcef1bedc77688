// RiseFall alone, on a clock the test sets: flips after rise/fall results in a
// row, streaks reset by the other result, hold-down measured from the last flip,
// and the progress it hands to check_stability.
#include <doctest/doctest.h>

#include "health/checks/rise_fall.hpp"

using namespace meridian;
using namespace std::chrono_literals;
using Clock = health::RiseFall::Clock;

namespace {
const Clock::time_point kT0 = Clock::time_point{} + 1000h;  // an arbitrary "now", far from the clock's epoch

health::CheckConfig settings(unsigned rise, unsigned fall, bool initial_up, std::chrono::milliseconds hold_down = 0ms) {
  health::CheckConfig c;
  c.rise = rise;
  c.fall = fall;
  c.initial_up = initial_up;
  c.hold_down = hold_down;
  return c;
}
}  // namespace

TEST_CASE("rise/fall: fall failures in a row take it down, rise successes bring it up") {
  health::RiseFall s(settings(2, 3, true));
  CHECK(s.up());
  CHECK_FALSE(s.record(false, kT0));
  CHECK_FALSE(s.record(false, kT0));
  CHECK_FALSE(s.record(true, kT0));  // the streak starts over
  CHECK_FALSE(s.record(false, kT0));
  CHECK_FALSE(s.record(false, kT0));
  CHECK(s.record(false, kT0));
  CHECK_FALSE(s.up());
  CHECK_FALSE(s.record(false, kT0));  // already down
  CHECK_FALSE(s.record(true, kT0));
  CHECK(s.record(true, kT0));
  CHECK(s.up());
}

TEST_CASE("rise/fall: hold_down keeps a new state; a streak long enough flips on the first result after it") {
  health::RiseFall s(settings(1, 1, true, 10s));
  CHECK(s.record(false, kT0));
  CHECK_FALSE(s.record(true, kT0 + 1s));
  CHECK_FALSE(s.record(true, kT0 + 9999ms));
  CHECK(s.progress(kT0 + 11s).hold_until == kT0 + 10s);
  CHECK(s.record(true, kT0 + 10s));
  CHECK(s.up());
  CHECK_FALSE(s.record(false, kT0 + 19s));  // measured from the latest flip
  CHECK(s.record(false, kT0 + 20s));
}

TEST_CASE("rise/fall: progress counts the streak and has no hold-down before a flip") {
  health::RiseFall s(settings(3, 2, false, 5s));
  s.record(true, kT0);
  s.record(true, kT0);
  const health::CheckProgress p = s.progress(kT0 + 2s);
  CHECK_FALSE(p.up);
  CHECK(p.successes == 2);
  CHECK(p.failures == 0);
  CHECK(p.next_check == kT0 + 2s);
  CHECK(p.hold_until == Clock::time_point{});
}

// The steady clock starts near the host's boot: on a host up for less than
// hold_down, the first flip must not be held as if a flip had happened at 0.
TEST_CASE("rise/fall: hold_down does not hold the first flip, however close to the clock's epoch") {
  health::RiseFall s(settings(1, 1, true, 600s));
  const Clock::time_point soon_after_boot = Clock::time_point{} + 5s;
  CHECK(s.record(false, soon_after_boot));
  CHECK_FALSE(s.up());
  CHECK(s.progress(soon_after_boot + 1s).hold_until == soon_after_boot + 600s);
  CHECK_FALSE(s.record(true, soon_after_boot + 1s));  // held from the first flip on
}
