// Exponential backoff with full jitter: attempt n (0-based) waits a uniformly random
// time in [0, min(cap, base * 2^n)].
#pragma once
#include <cstdint>

#include "forward/settings.hpp"

namespace meridian::forward {

Ms backoff_ceiling(unsigned attempt, Ms base, Ms cap);
// random: any 64-bit random value.
Ms full_jitter(unsigned attempt, Ms base, Ms cap, uint64_t random);

}  // namespace meridian::forward
