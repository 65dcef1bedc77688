// The clock every resilience component takes as an argument, so tests can inject time.
#pragma once
#include <chrono>

namespace meridian::forward {
using Clock = std::chrono::steady_clock;
using Time = Clock::time_point;
}  // namespace meridian::forward
