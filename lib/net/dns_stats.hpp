// Per-thread DNS counters: each thread writes only its own slot (relaxed atomics,
// no sharing of cache lines), readers sum the slots for metrics.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>

#include "query/responder.hpp"

namespace meridian::net {

struct alignas(64) DnsCounters {
  // A slot written by several threads (the TCP pool) needs atomic increments.
  bool shared = false;
  std::atomic<uint64_t> queries[2] = {};            // by transport
  std::atomic<uint64_t> rcodes[24] = {};            // rcode 0..23 (BADVERS = 16)
  std::atomic<uint64_t> truncated = 0;
  std::atomic<uint64_t> dropped = 0;

  void record(query::Transport t, const query::AnswerInfo& info) {
    bump(queries[static_cast<int>(t)]);
    if (info.dropped) {
      bump(dropped);
      return;
    }
    bump(rcodes[info.rcode < 24 ? info.rcode : 23]);
    if (info.truncated) bump(truncated);
  }

 private:
  void bump(std::atomic<uint64_t>& c) const {
    if (shared) c.fetch_add(1, std::memory_order_relaxed);
    else c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
};

class DnsStats {
 public:
  // A slot for one thread; lives as long as the DnsStats.
  DnsCounters& slot(bool shared = false) {
    std::lock_guard lock(mutex_);
    DnsCounters& c = slots_.emplace_back();
    c.shared = shared;
    return c;
  }
  struct Totals {
    uint64_t queries[2] = {};
    uint64_t rcodes[24] = {};
    uint64_t truncated = 0;
    uint64_t dropped = 0;
  };
  Totals totals() const {
    std::lock_guard lock(mutex_);
    Totals t;
    for (const auto& s : slots_) {
      for (int i = 0; i < 2; ++i) t.queries[i] += s.queries[i].load(std::memory_order_relaxed);
      for (int i = 0; i < 24; ++i) t.rcodes[i] += s.rcodes[i].load(std::memory_order_relaxed);
      t.truncated += s.truncated.load(std::memory_order_relaxed);
      t.dropped += s.dropped.load(std::memory_order_relaxed);
    }
    return t;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<DnsCounters> slots_;
};

}  // namespace meridian::net
