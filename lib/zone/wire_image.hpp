// Records as they go into a message, built once at load so that the common answer
// is one copy (MessageWriter::put_image): the owner of each record is a pointer to
// the owner name already in the message (target kOwner), and each compressible name
// in rdata that lies in the zone is written as its labels above the longest suffix
// sure to be in the message plus a pointer to it: the owner (kOwner) when the name
// is below the owner (never for a wildcard: its records take each query's name),
// else the origin (kOrigin; a query name in the zone always holds it).
// Empty when a compressible name lies outside the zone: those records take the
// general path, which compresses against the whole message.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dns/writer.hpp"

namespace meridian::zone {

// A view: the bytes belong to the zone (its node blocks, see node_head.hpp).
struct WireImage {
  static constexpr uint8_t kOwner = 0, kOrigin = 1;
  // The records (size bytes), then patch_count patches and name_count names
  // (dns::kImageEntrySize each), in one run of memory.
  const uint8_t* data = nullptr;
  uint16_t size = 0;
  uint16_t patch_count = 0;
  uint16_t name_count = 0;
  bool needs_origin = false;  // some patch points to the origin
  bool empty() const { return size == 0; }
  const uint8_t* bytes() const { return data; }
  const uint8_t* patches() const { return data + size; }
  const uint8_t* names() const { return patches() + patch_count * dns::kImageEntrySize; }
  // Bytes from data to the end of the names.
  std::size_t footprint() const { return size + (patch_count + name_count) * dns::kImageEntrySize; }
};

}  // namespace meridian::zone
