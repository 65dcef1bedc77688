#include "query/compact_denial.hpp"

#include <algorithm>
#include <cstring>

#include "dns/constants.hpp"

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

template <std::size_t C>
bool CompactDenialCache::Entry<C>::holds(uint64_t serial, std::string_view owner, std::string_view rdata) const {
  return h.serial == serial && h.owner_length == owner.size() && h.nsec_length == rdata.size() &&
         std::memcmp(data, owner.data(), owner.size()) == 0 &&
         std::memcmp(data + owner.size(), rdata.data(), rdata.size()) == 0;
}

template <std::size_t C>
bool CompactDenialCache::Entry<C>::store(uint64_t serial, uint32_t ttl, std::string_view owner, std::string_view rdata,
                                         const uint8_t* rrsigs, std::size_t rrsigs_length, unsigned rrsig_count) {
  if (owner.size() + rdata.size() + rrsigs_length > C) return false;
  h.serial = serial;
  h.ttl = ttl;
  h.owner_length = static_cast<uint16_t>(owner.size());
  h.nsec_length = static_cast<uint16_t>(rdata.size());
  h.rrsig_count = static_cast<uint8_t>(rrsig_count);
  std::memcpy(data, owner.data(), owner.size());
  std::memcpy(data + owner.size(), rdata.data(), rdata.size());
  std::memcpy(data + owner.size() + rdata.size(), rrsigs, rrsigs_length);
  return true;
}

template <std::size_t C>
void CompactDenialCache::view(const Entry<C>& e, SignedNsecView& out) {
  out.nsec = {reinterpret_cast<const char*>(e.nsec()), e.h.nsec_length};
  out.rrsigs = e.rrsigs();
  out.rrsig_count = e.h.rrsig_count;
  out.ttl = e.h.ttl;
}

bool CompactDenialCache::find_or_sign(const zone::Zone& zone, const zone::ZoneSignatures& sigs, std::string_view owner,
                                      std::string_view rdata, uint32_t rate, std::chrono::steady_clock::time_point now,
                                      SignedNsecView& out) {
  if (owner.size() > 255 || rdata.size() > kMaxNsecRdata || !zone.dnssec().keys) return false;
  const uint64_t h = hash(owner, rdata);
  const uint32_t tag = static_cast<uint32_t>(h >> 32) | 1;
  const uint64_t serial = sigs.serial();
  SetIndex& set = sets_[h % kSets];
  Slot* slots = &slots_[(h % kSets) * kWays];
  ++tick_;
  for (std::size_t way = 0; way < kWays; ++way) {
    if (set.tag[way] == tag && slots[way].holds(serial, owner, rdata)) {
      set.used_at[way] = tick_;
      view(slots[way], out);
      return true;
    }
  }
  if (large_->holds(serial, owner, rdata)) {
    view(*large_, out);
    return true;
  }
  if (!take_token(rate, now)) {
    compact_denial_counters().over_budget.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  std::size_t written = 0;
  const unsigned count =
      dnssec::sign_one_record(*zone.dnssec().keys, owner, dns::type::NSEC, zone.negative_ttl(), rdata,
                              {sigs.inception(), sigs.expiration()}, scratch_, sizeof scratch_, &written);
  if (count == 0) return false;
  compact_denial_counters().signed_online.fetch_add(1, std::memory_order_relaxed);
  // An empty way first, else the least recently used (entries of an older signing window
  // are no longer used, so they go first).
  std::size_t victim = 0;
  for (std::size_t way = 0; way < kWays; ++way) {
    if (set.tag[way] == 0) {
      victim = way;
      break;
    }
    if (set.used_at[way] < set.used_at[victim]) victim = way;
  }
  if (slots[victim].store(serial, zone.negative_ttl(), owner, rdata, scratch_, written, count)) {
    if (set.tag[victim] == 0) {
      ++used_;
      compact_denial_counters().cached.fetch_add(1, std::memory_order_relaxed);
    }
    set.tag[victim] = tag;
    set.used_at[victim] = tick_;
    view(slots[victim], out);
    return true;
  }
  large_->store(serial, zone.negative_ttl(), owner, rdata, scratch_, written, count);  // always fits
  view(*large_, out);
  return true;
}

}  // namespace meridian::query
