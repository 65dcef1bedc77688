// The part of a zone node that answering reads, laid out in one run of memory
// (two cache lines for a typical name): flags, the name itself (the index compares
// it) and each RRset's precompiled image. A positive answer then touches its index
// slot and this block, not the chain of the node's separate allocations (name
// string, RRset array, image) that cost one cache miss each.
// Built by Zone::compile() into a room of the zone's name index (heads of up to
// 128 bytes) or into the zone's arena; immutable afterwards.
#pragma once
#include <cstdint>
#include <string_view>

#include "zone/wire_image.hpp"

namespace meridian::zone {

struct Node;
struct RRset;

struct NodeHead {
  static constexpr uint8_t kDelegation = 1;  // NS below the apex: a zone cut
  static constexpr uint8_t kDname = 2;       // names below are redirected (RFC 6672)
  static constexpr uint8_t kCname = 4;
  static constexpr uint8_t kService = 8;     // dynamic A/AAAA (Node::service)

  // One RRset, in the node's type order; 16 bytes, so that a name with A and AAAA
  // fits one index room (two cache lines) with its images.
  struct Entry {
    uint16_t type;
    uint16_t records;
    // The RRset's image (see WireImage): image_size 0 when it has none.
    uint16_t image_size;
    uint16_t patch_count;
    uint16_t name_count;
    bool needs_origin;
    uint32_t image_at;  // bytes from the head's start
  };

  static_assert(sizeof(Entry) == 16);

  const Node* node;       // everything else about the name
  uint16_t entry_count;
  uint8_t name_length;
  uint8_t flags;
  int32_t service_index;  // Node::service_index, kept in step by Zone
  // Followed by: the name (lower-case wire form), padded to 4 bytes; the entries;
  // the images.

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
  // The entry's RRset itself (in the node: another cache line), for what the image
  // cannot do: another TTL, no image, additional-section targets.
  const RRset& rrset(const Entry& e) const;

  bool is_delegation() const { return flags & kDelegation; }
  bool has_dname() const { return flags & kDname; }
  bool has_cname() const { return flags & kCname; }
};

}  // namespace meridian::zone
