// Publishes the current query snapshot to the DNS threads without a lock on the
// query path. Two kinds of readers:
// - SnapshotReader caches a reference and compares one atomic generation number
//   per use, taking the mutex only when a reload has published something new
//   (TCP connections: an idle one keeps its snapshot until its next query or its
//   idle timeout);
// - BatchReader is for threads that block between batches (UDP workers): it
//   holds no reference while parked, so a publish frees the snapshot it replaces
//   at once when every such thread is parked, else when the last one that used
//   it parks. No syscall, lock or allocation per batch: one seq_cst store and
//   one load when a batch starts, a store and a load when it ends.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "query/snapshot.hpp"

namespace meridian::net {

class BatchReader;

class SnapshotHolder {
 public:
  void publish(std::shared_ptr<const query::Snapshot> snapshot);
  std::shared_ptr<const query::Snapshot> get() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // Replaced snapshots the holder still keeps because a batch reader may be using
  // them (0 once every batch reader has parked since the last publish).
  std::size_t retired_snapshots() const;

 private:
  friend class BatchReader;
  // One per batch reader. parked: between batches (holds nothing); seen: the
  // generation of the snapshot it uses (written and read under mutex_).
  struct ReaderSlot {
    alignas(64) std::atomic<bool> parked{true};
    uint64_t seen = 0;
  };
  struct Retired {
    uint64_t generation;  // the generation it was current in
    std::shared_ptr<const query::Snapshot> snapshot;
  };
  // Moves the retired snapshots no batch reader can be using into `freed` (to be
  // destroyed after the mutex is released: a large snapshot takes a while).
  void reclaim_locked(std::vector<std::shared_ptr<const query::Snapshot>>& freed);
  void reclaim();

  mutable std::mutex mutex_;
  std::shared_ptr<const query::Snapshot> current_;
  std::atomic<uint64_t> generation_{0};
  std::vector<ReaderSlot*> readers_;
  std::vector<Retired> retired_;
  std::atomic<bool> retired_pending_{false};
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

// The view of one thread that answers in batches and blocks between them: enter()
// when a batch starts, park() before blocking again. Starts parked.
class BatchReader {
 public:
  explicit BatchReader(SnapshotHolder& holder);
  ~BatchReader();
  BatchReader(const BatchReader&) = delete;
  BatchReader& operator=(const BatchReader&) = delete;

  // The current snapshot (null before the first publish), valid until park().
  const query::Snapshot* enter() {
    // Dekker with publish(): either this load sees the new generation, or the
    // publisher sees this reader unparked and keeps what it may still use.
    slot_.parked.store(false, std::memory_order_seq_cst);
    if (holder_.generation_.load(std::memory_order_seq_cst) != seen_) refresh();
    return snapshot_;
  }
  void park() {
    // Dekker with reclaim_locked(), which raises retired_pending_ before it reads
    // the parked flags: either the reclaim sees this reader parked, or this load
    // sees what the reclaim had to keep (what this reader was using) and frees it.
    slot_.parked.store(true, std::memory_order_seq_cst);
    if (holder_.retired_pending_.load(std::memory_order_seq_cst)) holder_.reclaim();
  }

 private:
  void refresh();
  SnapshotHolder& holder_;
  SnapshotHolder::ReaderSlot slot_;
  const query::Snapshot* snapshot_ = nullptr;
  uint64_t seen_ = 0;
};

}  // namespace meridian::net
