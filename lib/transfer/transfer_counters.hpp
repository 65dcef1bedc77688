// Process-wide counts of zone transfer work, for /metrics: transfers by request type
// and outcome, TSIG failures (transfers and signed queries alike), NOTIFY messages.
// Relaxed atomics, touched only off the query fast path (transfers, signed queries,
// the NOTIFY thread).
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace meridian::transfer {

enum class TransferOutcome : uint8_t {
  served,             // the whole zone (AXFR, or IXFR answered AXFR-style)
  up_to_date,         // IXFR of a secondary that has our serial: the SOA alone
  refused,            // source or key not allowed, or `dynamic: refuse`
  not_authoritative,  // not one of our zones
  tsig_failed,        // BADKEY, BADSIG or BADTIME
  formerr,            // malformed request or TSIG record
  busy,               // dns.tcp.max_transfers reached
};
inline constexpr std::size_t kTransferOutcomes = 7;
inline constexpr const char* kTransferOutcomeNames[kTransferOutcomes] = {
    "served", "up_to_date", "refused", "not_authoritative", "tsig_failed", "formerr", "busy"};
inline constexpr const char* kTsigErrorNames[3] = {"BADKEY", "BADSIG", "BADTIME"};

struct TransferCounters {
  std::atomic<uint64_t> transfers[2][kTransferOutcomes] = {};  // [0] AXFR, [1] IXFR
  std::atomic<uint64_t> tsig_failures[3] = {};                 // BADKEY, BADSIG, BADTIME
  std::atomic<uint64_t> notify_sent{0};                        // NOTIFY messages sent, resends included
  std::atomic<uint64_t> notify_acknowledged{0};                // NOTIFYs a target answered
  std::atomic<uint64_t> notify_abandoned{0};                   // NOTIFYs given up on unanswered

  void count_transfer(uint16_t qtype, TransferOutcome outcome) {
    transfers[qtype == 251 ? 1 : 0][static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  }
  // error: tsig_error::BADKEY (17), BADSIG (16) or BADTIME (18).
  void count_tsig_failure(uint16_t error) {
    const std::size_t slot = error == 17 ? 0 : error == 16 ? 1 : 2;
    tsig_failures[slot].fetch_add(1, std::memory_order_relaxed);
  }
};

TransferCounters& counters();

}  // namespace meridian::transfer
