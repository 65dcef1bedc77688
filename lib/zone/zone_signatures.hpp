// The signatures of a signed zone (README "DNSSEC"), made off the query path when
// a snapshot is built and kept until they need refreshing: every authoritative
// RRset's RRSIGs, and for every name a compact-denial NSEC (RFC 9824: next name =
// the name's immediate successor, the bitmap of its types) with its RRSIGs, for
// NODATA answers and referrals without DS. A query with the DO bit copies them
// from here; the compiled zone itself is not touched, so an unsigned answer costs
// what it did.
#pragma once
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

// The RRSIGs of one RRset (and, for an NSEC made here, its rdata).
struct SignedRRset {
  std::string key;   // owner (lower-case wire form) + type (2 bytes, big-endian)
  uint32_t ttl = 0;  // the TTL the records are served with
  std::string nsec;  // the NSEC's rdata (type NSEC only)
  // Each RRSIG's rdata, as [2-byte length][rdata] one after the other.
  std::string rrsigs;
  uint16_t rrsig_count = 0;
  std::string_view index_name() const { return key; }
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

  // The RRSIGs of owner's RRset of this type; nullptr when there are none. No allocation.
  const SignedRRset* find(std::string_view owner, uint16_t type) const {
    char key[dns_max_name + 2];
    if (owner.size() > dns_max_name) return nullptr;
    __builtin_memcpy(key, owner.data(), owner.size());
    key[owner.size()] = static_cast<char>(type >> 8);
    key[owner.size() + 1] = static_cast<char>(type & 0xFF);
    return index_.find({key, owner.size() + 2});
  }

  // The NSEC that covers a name that does not exist (for NXDOMAIN and the
  // wildcard proofs): "\000.A -> B" for the existing names A < name < B in
  // canonical order (RFC 4034 6.1), signed at load. No allocation.
  const SignedRRset* covering_nsec(std::string_view lower_name) const {
    char key[kMaxCanonicalKey];
    const std::size_t length = canonical_key(lower_name, key);
    const std::string_view k(key, length);
    std::size_t low = 0, high = gaps_.size();  // the last gap whose start is <= name
    while (low < high) {
      const std::size_t mid = (low + high) / 2;
      if (std::string_view(gaps_[mid].start) <= k) low = mid + 1;
      else high = mid;
    }
    if (gaps_.empty()) return nullptr;
    return gaps_[low == 0 ? gaps_.size() - 1 : low - 1].nsec;
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
  std::deque<SignedRRset> sets_;  // stable addresses for the index
  struct Gap {
    std::string start;  // canonical_key() of the existing name A
    const SignedRRset* nsec;
  };
  std::vector<Gap> gaps_;  // sorted by start
  uint64_t serial_ = 0;
  std::size_t gap_index(std::string_view lower_name, bool& at_start) const {
    char key[kMaxCanonicalKey];
    const std::string_view k(key, canonical_key(lower_name, key));
    std::size_t low = 0, high = gaps_.size();
    while (low < high) {
      const std::size_t mid = (low + high) / 2;
      if (std::string_view(gaps_[mid].start) <= k) low = mid + 1;
      else high = mid;
    }
    at_start = low > 0 && std::string_view(gaps_[low - 1].start) == k;
    return low;
  }
  NameIndex<SignedRRset> index_;
  uint32_t inception_ = 0, expiration_ = 0, refresh_at_ = 0;
  std::size_t signatures_ = 0;
};

// The NSEC type bitmap (RFC 4034 4.1.2) of a set of types, in any order.
std::string nsec_type_bitmap(std::vector<uint16_t> types);

}  // namespace meridian::zone
