// Writes MaxMind DB (.mmdb) files that libmaxminddb and every other MaxMind
// reader open: an IPv6 search tree (IPv4 under ::/96, aliased from
// ::ffff:0:0/96, 2001::/32 and 2002::/16), a deduplicated data section and
// the metadata (format 2.0). Spec: https://maxmind.github.io/MaxMind-DB/
//
// We carry our own writer so operators can build large custom network maps
// (`meridian geodata build`) without Perl or network access. Output depends
// only on the inserts (in order) and the options: the same input gives the
// same bytes, which is why the build epoch comes from the caller.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "geo/mmdb_network.hpp"
#include "geo/mmdb_search_tree.hpp"
#include "geo/mmdb_value.hpp"

namespace meridian::geo {

struct MmdbOptions {
  std::string database_type = "Meridian-City";
  std::vector<std::string> languages = {"en"};
  std::vector<std::pair<std::string, std::string>> description;  // language -> text
  // Seconds since 1970 (UTC). Must be set: libmaxminddb rejects 0.
  uint64_t build_epoch = 0;
  // Bits per search-tree record: 24, 28 (MaxMind's default, ~268M nodes plus
  // data bytes) or 32. serialize() fails when the database does not fit.
  unsigned record_size = 28;
  bool alias_ipv4 = true;  // ::ffff:0:0/96, 2001::/32, 2002::/16 -> ::/96
};

class MmdbWriter {
 public:
  using InsertStatus = SearchTree::InsertStatus;

  explicit MmdbWriter(MmdbOptions options);

  // Maps every address in network to value, replacing what earlier inserts
  // stored there. Equal values are stored once.
  InsertStatus insert(const IpNetwork& network, const DataValue& value);

  // The complete file. nullopt with *error set when an option is invalid or
  // the database exceeds the record size or the format's limits.
  std::optional<std::string> serialize(std::string* error) const;

 private:
  MmdbOptions options_;
  SearchTree tree_;
  std::vector<DataValue> values_;                         // by value id
  std::unordered_map<std::string, uint32_t> value_ids_;  // plain encoding -> id
};

}  // namespace meridian::geo
