// The MaxMind DB data section: values in the spec's binary encoding. Repeated
// values (a whole record, a country map, a string such as "names") are written
// once and referenced by pointers afterwards, as MaxMind's own writers do, so
// a map of millions of networks stays small.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>

#include "geo/mmdb_value.hpp"

namespace meridian::geo {

class DataSectionWriter {
 public:
  // Offset of value within the section (what a search-tree record points at);
  // appends the value unless an equal one is already there. Throws
  // std::length_error past the format's 4 GiB / 16 MiB-per-value limits.
  uint32_t add(const DataValue& value);
  const std::string& bytes() const { return out_; }

 private:
  void write(const DataValue& value);  // inline, or as a pointer to an earlier copy
  void write_inline(const DataValue& value);
  uint32_t current_offset() const;

  std::string out_;
  // Plain encoding of a value -> offset of a copy written inline.
  std::unordered_map<std::string, uint32_t> inline_copies_;
};

// The plain encoding of value, without pointers: the form of the metadata
// section, and the identity the data section deduplicates by.
std::string encode_value(const DataValue& value);

}  // namespace meridian::geo
