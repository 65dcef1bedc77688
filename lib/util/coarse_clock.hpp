// The monotonic clock at timer-tick precision (a few milliseconds behind), read without a
// hardware counter: rdtsc through the vDSO is slow under some hypervisors, and the callers
// (dynamic TTLs in whole seconds, idle timeouts in milliseconds) need no more precision.
// Same epoch as std::chrono::steady_clock, so the two compare directly.
#pragma once
#include <chrono>
#include <cstdint>
#include <ctime>

namespace meridian::util {

inline std::chrono::steady_clock::time_point coarse_now() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

// Unix time in whole seconds at the same precision (DNS cookie timestamps, which
// every node of an anycast set must read alike); also a vDSO read, no system call.
inline uint32_t coarse_unix_seconds() {
  timespec ts;
  ::clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<uint32_t>(ts.tv_sec);
}

}  // namespace meridian::util
