#include "query/compact_denial.hpp"

#include <algorithm>
#include <cstring>

#include "dns/constants.hpp"
#include "zone/name_index.hpp"

namespace meridian::query {

CompactDenialCounters& compact_denial_counters() {
  static CompactDenialCounters counters;
  return counters;
}

CompactDenialCache& CompactDenialCache::for_this_thread() {
  thread_local std::unique_ptr<CompactDenialCache> cache = std::make_unique<CompactDenialCache>();
  return *cache;
}

CompactDenialCache::~CompactDenialCache() {
  compact_denial_counters().cached.fetch_sub(static_cast<int64_t>(used_), std::memory_order_relaxed);
}

bool CompactDenialCache::take_token(uint32_t rate, std::chrono::steady_clock::time_point now) {
  if (rate == 0) return false;
  if (tokens_ < 0) {
    tokens_ = rate;
    refilled_ = now;
  } else if (now > refilled_) {
    tokens_ += std::chrono::duration<double>(now - refilled_).count() * rate;
    refilled_ = now;
  }
  tokens_ = std::min<double>(rate, tokens_);  // one second of burst, whatever the rate was before
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

bool CompactDenialCache::find_or_sign(const zone::Zone& zone, const zone::ZoneSignatures& sigs, std::string_view owner,
                                      std::string_view rdata, uint32_t rate, std::chrono::steady_clock::time_point now,
                                      SignedNsecView& out) {
  if (owner.size() > sizeof(Slot::owner) || rdata.size() > kMaxNsecRdata || !zone.dnssec().keys) return false;
  const uint64_t h = zone::hash_name(owner) ^ (zone::hash_name(rdata) * 31);
  Slot& slot = slots_[h % kSlots];
  const bool hit = slot.serial == sigs.serial() && slot.owner_length == owner.size() &&
                   slot.nsec_length == rdata.size() && std::memcmp(slot.owner, owner.data(), owner.size()) == 0 &&
                   std::memcmp(slot.nsec, rdata.data(), rdata.size()) == 0;
  if (!hit) {
    if (!take_token(rate, now)) {
      compact_denial_counters().over_budget.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::size_t written = 0;
    const unsigned count =
        dnssec::sign_one_record(*zone.dnssec().keys, owner, dns::type::NSEC, zone.negative_ttl(), rdata,
                                {sigs.inception(), sigs.expiration()}, slot.rrsigs, sizeof slot.rrsigs, &written);
    if (count == 0) {
      // The signing wrote into the slot: whatever it held is gone.
      if (slot.serial != 0) {
        --used_;
        compact_denial_counters().cached.fetch_sub(1, std::memory_order_relaxed);
      }
      slot.serial = 0;
      return false;
    }
    if (slot.serial == 0) {
      ++used_;
      compact_denial_counters().cached.fetch_add(1, std::memory_order_relaxed);
    }
    slot.serial = sigs.serial();
    slot.owner_length = static_cast<uint16_t>(owner.size());
    std::memcpy(slot.owner, owner.data(), owner.size());
    slot.nsec_length = static_cast<uint16_t>(rdata.size());
    std::memcpy(slot.nsec, rdata.data(), rdata.size());
    slot.rrsigs_length = static_cast<uint16_t>(written);
    slot.rrsig_count = static_cast<uint8_t>(count);
    slot.ttl = zone.negative_ttl();
    compact_denial_counters().signed_online.fetch_add(1, std::memory_order_relaxed);
  }
  out.nsec = {reinterpret_cast<const char*>(slot.nsec), slot.nsec_length};
  out.rrsigs = slot.rrsigs;
  out.rrsig_count = slot.rrsig_count;
  out.ttl = slot.ttl;
  return true;
}

}  // namespace meridian::query
