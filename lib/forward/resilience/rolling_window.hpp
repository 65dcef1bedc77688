// Counts over a sliding time window, kept in fixed buckets (window / buckets each).
#pragma once
#include <cstdint>
#include <vector>

#include "forward/resilience/clock.hpp"
#include "forward/settings.hpp"

namespace meridian::forward {

class RollingWindow {
 public:
  RollingWindow(Ms window, unsigned buckets);
  void add(Time now, uint64_t a, uint64_t b);  // two counters (e.g. successes/failures)
  // Sums over the window ending at now.
  void sums(Time now, uint64_t& a, uint64_t& b);
  void reset();

 private:
  struct Bucket {
    int64_t index = -1;
    uint64_t a = 0, b = 0;
  };
  Bucket& at(Time now);
  int64_t index_of(Time now) const;
  int64_t width_ns_;
  std::vector<Bucket> buckets_;
};

}  // namespace meridian::forward
