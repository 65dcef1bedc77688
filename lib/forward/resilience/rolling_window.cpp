#include "forward/resilience/rolling_window.hpp"

#include <algorithm>

namespace meridian::forward {

RollingWindow::RollingWindow(Ms window, unsigned buckets)
    : width_ns_(std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::nanoseconds>(window).count() /
                                         std::max(1u, buckets))),
      buckets_(std::max(1u, buckets)) {}

int64_t RollingWindow::index_of(Time now) const { return now.time_since_epoch().count() / width_ns_; }

RollingWindow::Bucket& RollingWindow::at(Time now) {
  const int64_t i = index_of(now);
  Bucket& b = buckets_[static_cast<std::size_t>(((i % int64_t(buckets_.size())) + int64_t(buckets_.size())) %
                                                int64_t(buckets_.size()))];
  if (b.index != i) b = Bucket{i, 0, 0};
  return b;
}

void RollingWindow::add(Time now, uint64_t a, uint64_t b) {
  Bucket& bucket = at(now);
  bucket.a += a;
  bucket.b += b;
}

void RollingWindow::sums(Time now, uint64_t& a, uint64_t& b) {
  const int64_t i = index_of(now);
  a = b = 0;
  for (const Bucket& bucket : buckets_) {
    if (bucket.index > i - int64_t(buckets_.size()) && bucket.index <= i) {
      a += bucket.a;
      b += bucket.b;
    }
  }
}

void RollingWindow::reset() {
  for (Bucket& b : buckets_) b = Bucket{};
}

}  // namespace meridian::forward
