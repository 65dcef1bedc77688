// The signatures of a signed zone (README "DNSSEC"), made off the query path when
// a snapshot is built and kept until they need refreshing: every authoritative
// RRset's RRSIGs, and for every name a compact-denial NSEC (RFC 9824: next name =
// the name's immediate successor, the bitmap of its types) with its RRSIGs, for
// NODATA answers and referrals without DS. A query with the DO bit copies them
// from here; the compiled zone itself is not touched, so an unsigned answer costs
// what it did. RRSIGs are found by the address of their RRset in the zone they
// were made from (the very Zone object: a snapshot pairs each zone with its own).
#pragma once
#include <bit>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "zone/name_index.hpp"
#include "zone/zone.hpp"

namespace meridian::zone {

// The signed records of one RRset, ready to copy into a message: each RRSIG as a
// whole record, and for an NSEC made here the NSEC record itself first, so that a
// DO answer copies them in one go and fills in the owner pointers (and the TTL
// when it serves another one, as a negative SOA or a lowered dynamic TTL does).
struct SignedRRset {
  // A record in `wire`: owner (a compression pointer, 0xC000 until filled in),
  // type, class, TTL, rdlength, then the rdata.
  static constexpr std::size_t kRecordHeader = 12;
  std::string key;   // owner (lower-case wire form) + type (2 bytes, big-endian)
  uint32_t ttl = 0;  // the TTL of the records in wire
  std::string wire;
  uint16_t nsec_size = 0;  // bytes of the NSEC record at the start of wire (NSECs made here), else 0
  uint16_t rrsig_count = 0;
  std::string_view index_name() const { return key; }
  unsigned record_count() const { return rrsig_count + (nsec_size ? 1u : 0u); }
  // The NSEC's rdata (type NSEC only).
  std::string_view nsec() const {
    return nsec_size ? std::string_view(wire).substr(kRecordHeader, nsec_size - kRecordHeader) : std::string_view();
  }
  // f(std::string_view rdata) for each RRSIG.
  template <typename F> void for_each_rrsig(F&& f) const {
    std::size_t at = nsec_size;
    for (unsigned i = 0; i < rrsig_count; ++i) {
      const auto* record = reinterpret_cast<const uint8_t*>(wire.data()) + at;
      const std::size_t length = static_cast<std::size_t>(record[10] << 8 | record[11]);
      f(std::string_view(wire).substr(at + kRecordHeader, length));
      at += kRecordHeader + length;
    }
  }
  // Building: the NSEC record (before any RRSIG), then each RRSIG, with TTL ttl.
  void set_nsec(std::string_view rdata);
  void add_rrsig(std::string_view rdata);
};

// Read-only open addressing from an address in a compiled zone (an RRset's
// NodeHead::Entry, or a node head for its NSECs) to its signatures: the query path
// finds an RRset's RRSIGs with a multiply and a probe, without hashing a name.
class AddressIndex {
 public:
  // Sized once, for `count` keys, before they are inserted.
  void reserve(std::size_t count);
  void insert(const void* key, const SignedRRset* set);
  const SignedRRset* find(const void* key) const noexcept {
    if (slots_.empty()) return nullptr;
    const auto k = reinterpret_cast<uintptr_t>(key);
    for (std::size_t i = slot_of(k);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == k) return s.set;
      if (s.key == 0) return nullptr;
    }
  }
  std::size_t bytes() const { return slots_.size() * sizeof(Slot); }

 private:
  struct Slot {
    uintptr_t key = 0;
    const SignedRRset* set = nullptr;
  };
  // Fibonacci hashing: the high bits of the product.
  std::size_t slot_of(uintptr_t k) const noexcept {
    return static_cast<std::size_t>((static_cast<uint64_t>(k) * 0x9E3779B97F4A7C15ull) >> shift_);
  }
  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  unsigned shift_ = 63;
};

class ZoneSignatures {
 public:
  // Signs every authoritative RRset of zone (which must be signed_zone()) with a
  // window from now - 1h to now + signature_validity. Null with error set when a
  // signature cannot be made or does not verify.
  // service_types(service_index) says which of A and AAAA a dynamic name can
  // answer (bit 1: A, bit 2: AAAA), for its NSEC's bitmap; without it, both.
  static std::shared_ptr<const ZoneSignatures> sign(const Zone& zone, uint32_t now, std::string& error,
                                                    const std::function<unsigned(int)>& service_types = {});

  // The RRSIGs of an RRset of the zone signed (entry: one of its heads' entries);
  // nullptr when there are none. No allocation.
  const SignedRRset* find(const NodeHead::Entry& entry) const { return index_.find(&entry); }
  // A name's own NSEC (`A NSEC \000.A`) with its RRSIGs, or one of its variants
  // (kNsecWithoutA, kNsecWithoutAAAA); nullptr below a cut. No allocation.
  const SignedRRset* find_nsec(const NodeHead& head, uint16_t kind = dns_type_nsec) const {
    return index_.find(reinterpret_cast<const char*>(&head) + nsec_variant(kind));
  }
  // The apex SOA's RRSIGs (a negative answer's SOA).
  const SignedRRset* soa() const { return soa_; }

  // The NSEC that covers a name that does not exist (for NXDOMAIN and the
  // wildcard proofs): "\000.A -> B" for the existing names A < name < B in
  // canonical order (RFC 4034 6.1), signed at load. No allocation.
  // lower_name lies in the zone (at or below its origin).
  const SignedRRset* covering_nsec(std::string_view lower_name) const {
    char key[kMaxCanonicalKey];
    const std::size_t low = gaps_after(std::string_view(key, canonical_key(lower_name, key)));
    if (gaps_.empty()) return nullptr;
    return gaps_[low == 0 ? gaps_.size() - 1 : low - 1].nsec;  // the last gap whose start is <= name
  }

  // Whether `inner` lies strictly inside the same gap between existing names as
  // `name` (neither is an existing name, no existing name between them): an NSEC
  // owned by inner then denies nothing that exists. No allocation.
  bool same_gap_strictly(std::string_view lower_inner, std::string_view lower_name) const {
    bool inner_exists = false, name_exists = false;
    const std::size_t a = gap_index(lower_inner, inner_exists), b = gap_index(lower_name, name_exists);
    return !gaps_.empty() && a == b && !inner_exists && !name_exists;
  }

  // Set by every sign() (process-wide, never reused): tells a cache of signatures
  // made with this window apart from those of a ZoneSignatures freed before.
  uint64_t serial() const { return serial_; }

  // A name's labels from the root down, each lower-cased with bytes 0 and 1 escaped
  // and ended by 0: byte order of keys is the canonical order of names.
  static constexpr std::size_t kMaxCanonicalKey = 2 * 255 + 2;
  static std::size_t canonical_key(std::string_view wire, char* out) {
    uint8_t starts[128];
    unsigned labels = 0;
    for (std::size_t i = 0; i < wire.size() && wire[i] != 0 && labels < 128; i += 1u + static_cast<uint8_t>(wire[i]))
      starts[labels++] = static_cast<uint8_t>(i);
    std::size_t at = 0;
    while (labels-- > 0) {
      const std::size_t from = starts[labels];
      const std::size_t length = static_cast<uint8_t>(wire[from]);
      for (std::size_t j = from + 1; j <= from + length; ++j) {
        auto c = static_cast<uint8_t>(wire[j]);
        if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c + 32);
        if (c <= 1) {
          out[at++] = 1;
          out[at++] = static_cast<char>(c + 1);
        } else {
          out[at++] = static_cast<char>(c);
        }
      }
      out[at++] = 0;
    }
    return at;
  }

  // A dynamic name's NSEC without A (or AAAA) in its bitmap, for the NODATA of a
  // client whose region has no address of that family (found with these in
  // place of type NSEC; written as an NSEC).
  static constexpr uint16_t kNsecWithoutA = 0xFF01, kNsecWithoutAAAA = 0xFF02;

  uint32_t inception() const { return inception_; }
  uint32_t expiration() const { return expiration_; }
  // When these should be replaced (expiration - refresh), seconds since the epoch.
  uint32_t refresh_at() const { return refresh_at_; }
  std::size_t rrsets() const { return sets_.size(); }
  std::size_t signatures() const { return signatures_; }

 private:
  static constexpr std::size_t dns_max_name = 255;
  static constexpr uint16_t dns_type_nsec = 47;
  // A head's NSECs are keyed by its address plus this (heads are 8-aligned and
  // entries lie past them, so no key is another's).
  static constexpr std::size_t nsec_variant(uint16_t kind) {
    return kind == kNsecWithoutA ? 1 : kind == kNsecWithoutAAAA ? 2 : 0;
  }
  std::deque<SignedRRset> sets_;  // stable addresses for the index
  struct Gap {
    uint64_t prefix;    // key_prefix(start)
    std::string start;  // canonical_key() of the existing name A
    const SignedRRset* nsec;
  };
  std::vector<Gap> gaps_;  // sorted by start
  // Every key in the zone starts with the origin's (common_ bytes): the 8 bytes after
  // it, big-endian and zero-padded, order keys as the keys do wherever they differ
  // (a key never holds two zero bytes in a row), so the search compares integers and
  // reads a key only where those are equal.
  std::size_t common_ = 0;
  uint64_t key_prefix(std::string_view key) const {
    if (common_ + 8 <= key.size()) {
      const uint64_t v = load_u64(key.data() + common_);
      if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
      else return v;
    }
    uint64_t p = 0;
    for (std::size_t i = 0; i < 8; ++i)
      p = p << 8 | (common_ + i < key.size() ? static_cast<uint8_t>(key[common_ + i]) : 0u);
    return p;
  }
  // The first gap whose start is after key.
  std::size_t gaps_after(std::string_view key) const {
    const uint64_t p = key_prefix(key);
    std::size_t low = 0, high = gaps_.size();
    while (low < high) {
      const std::size_t mid = (low + high) / 2;
      const Gap& gap = gaps_[mid];
      if (gap.prefix < p || (gap.prefix == p && std::string_view(gap.start) <= key)) low = mid + 1;
      else high = mid;
    }
    return low;
  }
  uint64_t serial_ = 0;
  std::size_t gap_index(std::string_view lower_name, bool& at_start) const {
    char key[kMaxCanonicalKey];
    const std::string_view k(key, canonical_key(lower_name, key));
    const std::size_t low = gaps_after(k);
    at_start = low > 0 && std::string_view(gaps_[low - 1].start) == k;
    return low;
  }
  AddressIndex index_;
  const SignedRRset* soa_ = nullptr;
  uint32_t inception_ = 0, expiration_ = 0, refresh_at_ = 0;
  std::size_t signatures_ = 0;
};

// The NSEC type bitmap (RFC 4034 4.1.2) of a set of types, in any order.
std::string nsec_type_bitmap(std::vector<uint16_t> types);

}  // namespace meridian::zone
