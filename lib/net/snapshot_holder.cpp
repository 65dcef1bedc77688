#include "net/snapshot_holder.hpp"

#include <algorithm>

namespace meridian::net {

void SnapshotHolder::publish(std::shared_ptr<const query::Snapshot> snapshot) {
  std::vector<std::shared_ptr<const query::Snapshot>> freed;
  {
    std::lock_guard lock(mutex_);
    const uint64_t replaced = generation_.load(std::memory_order_relaxed);
    if (current_) retired_.push_back(Retired{replaced, std::move(current_)});
    current_ = std::move(snapshot);
    generation_.store(replaced + 1, std::memory_order_seq_cst);
    reclaim_locked(freed);
  }
  // freed goes out of scope here, outside the lock (the caller's thread, not a query thread)
}

std::size_t SnapshotHolder::retired_snapshots() const {
  std::lock_guard lock(mutex_);
  return retired_.size();
}

void SnapshotHolder::reclaim_locked(std::vector<std::shared_ptr<const query::Snapshot>>& freed) {
  if (retired_.empty()) return;
  // Raised before the parked flags are read (BatchReader::park reads it after
  // parking), so that a reader parking meanwhile reclaims what is kept for it.
  retired_pending_.store(true, std::memory_order_seq_cst);
  auto in_use = [&](const Retired& r) {
    for (const ReaderSlot* reader : readers_)
      if (!reader->parked.load(std::memory_order_seq_cst) && reader->seen <= r.generation) return true;
    return false;
  };
  for (Retired& r : retired_)
    if (!in_use(r)) freed.push_back(std::move(r.snapshot));
  retired_.erase(std::remove_if(retired_.begin(), retired_.end(), [](const Retired& r) { return !r.snapshot; }),
                 retired_.end());
  if (retired_.empty()) retired_pending_.store(false, std::memory_order_seq_cst);
}

void SnapshotHolder::reclaim() {
  std::vector<std::shared_ptr<const query::Snapshot>> freed;
  std::lock_guard lock(mutex_);
  reclaim_locked(freed);
  // freed is destroyed after the lock is released (declared first)
}

BatchReader::BatchReader(SnapshotHolder& holder) : holder_(holder) {
  std::lock_guard lock(holder_.mutex_);
  holder_.readers_.push_back(&slot_);
}

BatchReader::~BatchReader() {
  std::vector<std::shared_ptr<const query::Snapshot>> freed;
  std::lock_guard lock(holder_.mutex_);
  auto& readers = holder_.readers_;
  readers.erase(std::remove(readers.begin(), readers.end(), &slot_), readers.end());
  holder_.reclaim_locked(freed);
}

void BatchReader::refresh() {
  std::vector<std::shared_ptr<const query::Snapshot>> freed;
  std::lock_guard lock(holder_.mutex_);
  seen_ = holder_.generation_.load(std::memory_order_relaxed);  // written under the mutex only
  slot_.seen = seen_;
  snapshot_ = holder_.current_.get();
  // What this reader used until now may have been the last thing keeping a snapshot.
  holder_.reclaim_locked(freed);
}

}  // namespace meridian::net
