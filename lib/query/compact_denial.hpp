// RFC 9824 compact denial for names that do not exist: `NAME NSEC \000.NAME` with
// RRSIG NSEC NXNAME in its bitmap needs one signature per query name, which
// cannot be made ahead. Each DNS thread keeps its own bounded cache of such
// signed NSECs (preallocated slots, direct-mapped by owner, no lock, no
// allocation on a hit) and signs a miss itself only within a budget of
// `dns.online_signatures_per_second` (a token bucket with one second of burst).
// Beyond the budget the caller answers from the precomputed NSEC chain, which is
// as valid (RFC 4035 NXDOMAIN) but shows the neighbouring names: a flood of random
// names costs at most the budget's CPU, never an unbounded amount of signing.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "dnssec/online_signer.hpp"
#include "zone/name_index.hpp"
#include "zone/zone.hpp"
#include "zone/zone_signatures.hpp"

namespace meridian::query {

// A signed NSEC ready to copy: rdata, and RRSIG rdatas as [2-byte length][rdata]...
struct SignedNsecView {
  std::string_view nsec;
  const uint8_t* rrsigs = nullptr;
  unsigned rrsig_count = 0;
  uint32_t ttl = 0;
};

// Process-wide counts for /metrics (added to on misses only: a hit touches no
// shared cache line).
struct CompactDenialCounters {
  std::atomic<uint64_t> signed_online{0};     // NSECs signed on a DNS thread
  std::atomic<uint64_t> over_budget{0};       // misses answered from the precomputed chain
  std::atomic<int64_t> cached{0};             // slots filled, over every thread's cache
};
CompactDenialCounters& compact_denial_counters();

class CompactDenialCache {
 public:
  // Per thread: 8,192 entries of 512 bytes (4 MiB), 16-way set-associative with LRU in each
  // set, made at the thread's first compact answer. A set's tags sit in one cache line of
  // their own, so a lookup reads one line of tags and then the one entry whose tag matches.
  // Sixteen ways, not four: a name set asked over and over in the same order (a zone's
  // walkers, the bench's mix) makes LRU miss every name of a set that holds one too many,
  // and with 4 ways about 1 set in 20 overflows at half the cache's size. An entry holds owner,
  // NSEC rdata and RRSIGs together: a random name under a P-256 or Ed25519 key takes about
  // 200 bytes, so a slot is sized for a long name, not for the largest possible entry;
  // those (owner and bitmap near their limits, two keys) live in one spare slot of full size.
  static constexpr std::size_t kWays = 16;
  static constexpr std::size_t kSets = 512;
  static constexpr std::size_t kSlots = kWays * kSets;
  static constexpr std::size_t kSlotBytes = 512;
  static constexpr std::size_t kMaxNsecRdata = 255 + 34;  // next name, bitmap up to window 0 type 255
  static constexpr std::size_t kMaxRrsigs = 2;            // signatures per NSEC kept (ZSKs of the algorithm)

  // This thread's cache (made on first use; one allocation per thread).
  static CompactDenialCache& for_this_thread();
  CompactDenialCache() = default;
  ~CompactDenialCache();
  CompactDenialCache(const CompactDenialCache&) = delete;
  CompactDenialCache& operator=(const CompactDenialCache&) = delete;

  // The signed NSEC `owner NSEC rdata` of zone (whose signatures are sigs), from
  // the cache, or signed now when the budget allows (rate per second, 0: never).
  // false: not cached and over budget (or it cannot be signed): use the chain. The
  // view stays valid until the next call on this cache.
  bool find_or_sign(const zone::Zone& zone, const zone::ZoneSignatures& sigs, std::string_view owner,
                    std::string_view rdata, uint32_t rate, std::chrono::steady_clock::time_point now,
                    SignedNsecView& out);

  std::size_t used_slots() const { return used_; }
  // The set an entry lives in (for tests of the replacement).
  static std::size_t set_of(std::string_view owner, std::string_view rdata) { return hash(owner, rdata) % kSets; }

 private:
  struct Header {
    uint64_t serial = 0;  // ZoneSignatures::serial() of the window it was signed in; 0: empty
    uint32_t ttl = 0;
    uint16_t owner_length = 0, nsec_length = 0;
    uint8_t rrsig_count = 0;
  };
  // A set's tags (part of the hash; 0: an empty way) and when each way was last used.
  struct alignas(64) SetIndex {
    uint32_t tag[kWays] = {};
    uint32_t used_at[kWays] = {};
  };
  static constexpr std::size_t kMaxRrsigBytes = kMaxRrsigs * (2 + dnssec::kMaxRrsigRdata);
  // owner, then NSEC rdata, then the RRSIG rdatas, packed
  template <std::size_t Capacity>
  struct alignas(64) Entry {
    Header h;
    uint8_t data[Capacity];
    const uint8_t* nsec() const { return data + h.owner_length; }
    const uint8_t* rrsigs() const { return data + h.owner_length + h.nsec_length; }
    bool holds(uint64_t serial, std::string_view owner, std::string_view rdata) const;
    bool store(uint64_t serial, uint32_t ttl, std::string_view owner, std::string_view rdata,
               const uint8_t* rrsigs, std::size_t rrsigs_length, unsigned rrsig_count);
  };
  using Slot = Entry<kSlotBytes - sizeof(Header)>;
  using LargeSlot = Entry<255 + kMaxNsecRdata + kMaxRrsigBytes>;
  static_assert(sizeof(Slot) == kSlotBytes);

  static uint64_t hash(std::string_view owner, std::string_view rdata) {
    return zone::hash_name(owner) ^ (zone::hash_name(rdata) * 31);
  }
  bool take_token(uint32_t rate, std::chrono::steady_clock::time_point now);
  template <std::size_t C>
  static void view(const Entry<C>& e, SignedNsecView& out);

  std::unique_ptr<SetIndex[]> sets_ = std::make_unique<SetIndex[]>(kSets);
  std::unique_ptr<Slot[]> slots_ = std::make_unique<Slot[]>(kSlots);
  std::unique_ptr<LargeSlot> large_ = std::make_unique<LargeSlot>();
  uint8_t scratch_[kMaxRrsigBytes];  // a miss signs here first: its size is known after
  uint32_t tick_ = 0;
  std::size_t used_ = 0;
  double tokens_ = -1;  // < 0: not started (a full bucket at the first miss)
  std::chrono::steady_clock::time_point refilled_{};
};

}  // namespace meridian::query
