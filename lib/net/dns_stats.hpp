// Per-thread DNS counters: each thread writes only its own slot (relaxed atomics,
// no sharing of cache lines), readers sum the slots for metrics.
#pragma once
#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>

#include "query/responder.hpp"
#include "rrl/rrl.hpp"

namespace meridian::net {

// Fixed-size counter tables, so recording never allocates: zones, services and
// regions past these limits are counted in the last slot ("other").
inline constexpr unsigned kCountedZones = 64;
inline constexpr unsigned kCountedServices = 32;
inline constexpr unsigned kCountedRegions = 16;
inline constexpr uint16_t kCountedQtypes[] = {1, 2, 5, 6, 12, 15, 16, 28, 33, 35, 43, 48, 65, 255};
inline constexpr unsigned kQtypeSlots = sizeof(kCountedQtypes) / sizeof(kCountedQtypes[0]) + 1;

// A table lookup rather than a search: it runs for every query.
inline constexpr auto kQtypeSlotTable = [] {
  std::array<uint8_t, 256> table{};
  table.fill(kQtypeSlots - 1);
  for (unsigned i = 0; i + 1 < kQtypeSlots; ++i) table[kCountedQtypes[i]] = static_cast<uint8_t>(i);
  return table;
}();
inline unsigned qtype_slot(uint16_t qtype) { return qtype < 256 ? kQtypeSlotTable[qtype] : kQtypeSlots - 1; }

struct alignas(64) DnsCounters {
  // A slot written by several threads (the TCP pool) needs atomic increments.
  bool shared = false;
  std::atomic<uint64_t> queries[2] = {};            // by transport
  std::atomic<uint64_t> rcodes[24] = {};            // rcode 0..23 (BADVERS = 16)
  std::atomic<uint64_t> truncated = 0;
  std::atomic<uint64_t> dropped = 0;
  std::atomic<uint64_t> zone_queries[kCountedZones + 1] = {};  // last: no zone (refused)
  std::atomic<uint64_t> qtypes[kQtypeSlots] = {};
  std::atomic<uint64_t> answers[kCountedServices][kCountedRegions] = {};
  std::atomic<uint64_t> failovers[kCountedServices] = {};
  std::atomic<uint64_t> cookies[4] = {};  // by cookies::CookieState (none is not counted)
  std::atomic<uint64_t> rrl[3] = {};      // UDP responses over the rate: dropped, slipped, sent (log_only)

  // A response rate limiting did not send as it was (rrl::Action drop, slip or log_only).
  void record_rate_limited(rrl::Action action) { bump(rrl[static_cast<unsigned>(action) - 1]); }
  // A query whose response rate limiting dropped: counted as received, not as answered.
  void record_unanswered(query::Transport t) { bump(queries[static_cast<int>(t)]); }

  void record(query::Transport t, const query::AnswerInfo& info) {
    bump(queries[static_cast<int>(t)]);
    if (info.dropped) {
      bump(dropped);
      return;
    }
    bump(rcodes[info.rcode < 24 ? info.rcode : 23]);
    if (info.cookie != cookies::CookieState::none) [[unlikely]] bump(cookies[static_cast<unsigned>(info.cookie)]);
    if (info.truncated) bump(truncated);
    bump(zone_queries[info.zone ? (info.zone->index() < kCountedZones ? info.zone->index() : kCountedZones - 1) : kCountedZones]);
    bump(qtypes[qtype_slot(info.qtype)]);
    if (info.service >= 0 && info.region >= 0) {
      const unsigned s = static_cast<unsigned>(info.service) < kCountedServices ? static_cast<unsigned>(info.service) : kCountedServices - 1;
      const unsigned r = static_cast<unsigned>(info.region) < kCountedRegions ? static_cast<unsigned>(info.region) : kCountedRegions - 1;
      bump(answers[s][r]);
      if (info.failover) bump(failovers[s]);
    }
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
    uint64_t zone_queries[kCountedZones + 1] = {};
    uint64_t qtypes[kQtypeSlots] = {};
    uint64_t answers[kCountedServices][kCountedRegions] = {};
    uint64_t failovers[kCountedServices] = {};
    uint64_t cookies[4] = {};
    uint64_t rrl[3] = {};  // dropped, slipped, log_only
  };
  Totals totals() const {
    std::lock_guard lock(mutex_);
    Totals t;
    for (const auto& s : slots_) {
      for (int i = 0; i < 2; ++i) t.queries[i] += s.queries[i].load(std::memory_order_relaxed);
      for (int i = 0; i < 24; ++i) t.rcodes[i] += s.rcodes[i].load(std::memory_order_relaxed);
      t.truncated += s.truncated.load(std::memory_order_relaxed);
      t.dropped += s.dropped.load(std::memory_order_relaxed);
      for (int i = 0; i < 4; ++i) t.cookies[i] += s.cookies[i].load(std::memory_order_relaxed);
      for (int i = 0; i < 3; ++i) t.rrl[i] += s.rrl[i].load(std::memory_order_relaxed);
      for (unsigned i = 0; i <= kCountedZones; ++i) t.zone_queries[i] += s.zone_queries[i].load(std::memory_order_relaxed);
      for (unsigned i = 0; i < kQtypeSlots; ++i) t.qtypes[i] += s.qtypes[i].load(std::memory_order_relaxed);
      for (unsigned i = 0; i < kCountedServices; ++i) {
        t.failovers[i] += s.failovers[i].load(std::memory_order_relaxed);
        for (unsigned j = 0; j < kCountedRegions; ++j) t.answers[i][j] += s.answers[i][j].load(std::memory_order_relaxed);
      }
    }
    return t;
  }

 private:
  mutable std::mutex mutex_;
  std::deque<DnsCounters> slots_;
};

}  // namespace meridian::net
