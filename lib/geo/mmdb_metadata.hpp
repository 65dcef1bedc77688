// The metadata section that ends every .mmdb file: a start marker, then one
// map in the data format (without pointers) that readers use to find their
// way around the search tree and data section.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meridian::geo {

// Readers search the end of the file for the last copy of this marker.
inline constexpr std::string_view kMetadataStartMarker = "\xAB\xCD\xEF" "MaxMind.com";

struct MmdbMetadata {
  uint32_t node_count = 0;
  uint16_t record_size = 28;
  uint16_t ip_version = 6;
  std::string database_type;
  std::vector<std::string> languages;
  std::vector<std::pair<std::string, std::string>> description;  // language -> text
  uint64_t build_epoch = 0;  // seconds since 1970, UTC; from the caller, for reproducible files
};

// Marker plus map, binary format 2.0. libmaxminddb insists on the exact
// integer types used here (uint32 node_count, uint64 build_epoch, ...).
std::string encode_metadata(const MmdbMetadata& metadata);

}  // namespace meridian::geo
