// Publishes the current query snapshot to the DNS threads without a lock on the
// query path: readers compare one atomic generation number per batch and take
// the mutex only when a reload has published something new.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>

#include "query/snapshot.hpp"

namespace meridian::net {

class SnapshotHolder {
 public:
  void publish(std::shared_ptr<const query::Snapshot> snapshot) {
    std::lock_guard lock(mutex_);
    current_ = std::move(snapshot);
    generation_.fetch_add(1, std::memory_order_release);
  }
  std::shared_ptr<const query::Snapshot> get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const query::Snapshot> current_;
  std::atomic<uint64_t> generation_{0};
};

// A thread's cached view of the holder.
class SnapshotReader {
 public:
  explicit SnapshotReader(const SnapshotHolder& holder) : holder_(holder) { refresh(); }
  // Cheap when nothing changed: one atomic load.
  const query::Snapshot& current() {
    if (holder_.generation() != generation_) refresh();
    return *snapshot_;
  }

 private:
  void refresh() {
    generation_ = holder_.generation();
    snapshot_ = holder_.get();
  }
  const SnapshotHolder& holder_;
  std::shared_ptr<const query::Snapshot> snapshot_;
  uint64_t generation_ = 0;
};

}  // namespace meridian::net
