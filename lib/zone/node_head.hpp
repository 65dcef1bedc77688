// A compiled zone name, laid out in one run of the zone's arena: flags, the name
// itself (the index compares it), one entry per RRset, each RRset's precompiled
// image (what a positive answer copies) and its records in wire form (for what the
// image cannot do: another TTL, compression against the whole message, additional-
// section targets, explain, transfers). Nothing else is kept per name: no heap
// object, no string. Built by Zone::compile(); immutable afterwards but for
// service_index (linked by the loader). Every reference inside a zone's arena is
// an offset, so a copy of the arena is a working copy of the zone.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "zone/wire_image.hpp"

namespace meridian::zone {

struct NodeHead;

// One record of an RRset as it is stored: rdata in wire form, uncompressed.
struct RecordView {
  std::string_view wire;
  // Embedded names that may be compressed (RFC 3597 section 4: only the RFC 1035
  // types NS, CNAME, SOA, PTR, MX ...); offsets into wire.
  uint8_t compressible_count = 0;
  uint16_t compressible_at[2] = {0, 0};
  // NS/MX/SRV target for additional-section processing, and the in-zone name it
  // names (null when outside the zone).
  bool has_target = false;
  uint16_t target_at = 0;
  const NodeHead* target_head = nullptr;

  std::string_view target() const;
};

// The records of one RRset, in the order they were loaded.
class RecordList {
 public:
  class iterator {
   public:
    using value_type = RecordView;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    iterator(const NodeHead* head, const std::byte* at) : head_(head), at_(at) {}
    RecordView operator*() const;
    iterator& operator++();
    iterator operator++(int) {
      iterator before = *this;
      ++*this;
      return before;
    }
    bool operator==(const iterator& other) const { return at_ == other.at_; }

   private:
    const NodeHead* head_ = nullptr;
    const std::byte* at_ = nullptr;
  };

  RecordList() = default;
  RecordList(const NodeHead* head, const std::byte* first, std::size_t count) : head_(head), first_(first), count_(count) {}
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  iterator begin() const { return {head_, first_}; }
  iterator end() const;
  RecordView front() const { return *begin(); }
  RecordView operator[](std::size_t i) const {
    iterator it = begin();
    while (i--) ++it;
    return *it;
  }

 private:
  const NodeHead* head_ = nullptr;
  const std::byte* first_ = nullptr;
  std::size_t count_ = 0;
};

// An RRset of a compiled name.
struct RRsetView {
  uint16_t type = 0;
  uint32_t ttl = 0;
  RecordList rdata;
  WireImage image;  // with this TTL; empty when the RRset has none
};

struct NodeHead {
  static constexpr uint8_t kDelegation = 1;  // NS below the apex: a zone cut
  static constexpr uint8_t kDname = 2;       // names below are redirected (RFC 6672)
  static constexpr uint8_t kCname = 4;
  static constexpr uint8_t kService = 8;     // dynamic A/AAAA from a service (service_name)

  // One RRset, in the node's type order.
  struct Entry {
    uint16_t type;
    uint16_t records;
    // The RRset's image (see WireImage): image_size 0 when it has none.
    uint16_t image_size;
    uint16_t patch_count;
    uint16_t name_count;
    bool needs_origin;
    uint8_t unused;
    uint32_t image_at;    // bytes from the head's start
    uint32_t ttl;
    uint32_t records_at;  // bytes from the head's start: the first StoredRecord
  };
  static_assert(sizeof(Entry) == 24);

  // A record in the arena: this, then the rdata (length bytes), padded to 4.
  struct StoredRecord {
    uint16_t length;
    uint8_t compressible_count;
    uint8_t target_flags;  // kHasTarget, kTargetInZone
    uint16_t compressible_at[2];
    uint16_t target_at;
    uint16_t unused;
    int32_t target_delta;  // the target's head, from this head, in 8-byte steps (kTargetInZone)
    static constexpr uint8_t kHasTarget = 1, kTargetInZone = 2;
    std::size_t footprint() const { return sizeof(StoredRecord) + ((length + 3u) & ~3u); }
  };
  static_assert(sizeof(StoredRecord) == 16);

  uint16_t entry_count;
  uint8_t name_length;
  uint8_t flags;
  int32_t service_index;  // the service's slot in the routing table; -1: none (or not linked)
  uint32_t size;          // bytes of this head with everything that follows it, a multiple of 8
  uint16_t service_name;  // 1 + the index of the service's name in the zone; 0: none
  uint16_t unused;
  // Followed by: the name (lower-case wire form), padded to 4 bytes; the entries;
  // the images; the records.

  static constexpr std::size_t name_space(std::size_t name_length) { return (name_length + 3) & ~std::size_t{3}; }

  std::string_view name() const { return {reinterpret_cast<const char*>(this + 1), name_length}; }
  std::string_view index_name() const { return name(); }
  const Entry* entries() const {
    return reinterpret_cast<const Entry*>(reinterpret_cast<const char*>(this + 1) + name_space(name_length));
  }
  const Entry* find(uint16_t type) const {
    const Entry* e = entries();
    for (unsigned i = 0; i < entry_count; ++i)
      if (e[i].type == type) return &e[i];
    return nullptr;
  }
  WireImage image(const Entry& e) const {
    return {reinterpret_cast<const uint8_t*>(this) + e.image_at, e.image_size, e.patch_count, e.name_count,
            e.needs_origin};
  }
  // The entry's RRset with its records (read off the common path).
  RRsetView rrset(const Entry& e) const {
    const auto* base = reinterpret_cast<const std::byte*>(this);
    return {e.type, e.ttl, RecordList(this, base + e.records_at, e.records), image(e)};
  }
  // The RRset of this type, if the name has one (type = 0: none).
  RRsetView find_rrset(uint16_t type) const {
    const Entry* e = find(type);
    return e ? rrset(*e) : RRsetView{};
  }
  const NodeHead* next() const {
    return reinterpret_cast<const NodeHead*>(reinterpret_cast<const std::byte*>(this) + size);
  }

  bool is_delegation() const { return flags & kDelegation; }
  bool has_dname() const { return flags & kDname; }
  bool has_cname() const { return flags & kCname; }
  bool has_service() const { return flags & kService; }
  // No records and no service: an empty non-terminal.
  bool empty() const { return entry_count == 0 && !has_service(); }
};
static_assert(sizeof(NodeHead) == 16);

inline RecordView RecordList::iterator::operator*() const {
  const auto* r = reinterpret_cast<const NodeHead::StoredRecord*>(at_);
  RecordView v;
  v.wire = {reinterpret_cast<const char*>(r + 1), r->length};
  v.compressible_count = r->compressible_count;
  v.compressible_at[0] = r->compressible_at[0];
  v.compressible_at[1] = r->compressible_at[1];
  v.has_target = r->target_flags & NodeHead::StoredRecord::kHasTarget;
  v.target_at = r->target_at;
  if (r->target_flags & NodeHead::StoredRecord::kTargetInZone)
    v.target_head = reinterpret_cast<const NodeHead*>(reinterpret_cast<const std::byte*>(head_) +
                                                      static_cast<std::ptrdiff_t>(r->target_delta) * 8);
  return v;
}

inline RecordList::iterator& RecordList::iterator::operator++() {
  at_ += reinterpret_cast<const NodeHead::StoredRecord*>(at_)->footprint();
  return *this;
}

inline RecordList::iterator RecordList::end() const {
  iterator it = begin();
  for (std::size_t i = 0; i < count_; ++i) ++it;
  return it;
}

}  // namespace meridian::zone
