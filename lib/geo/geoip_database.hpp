// A MaxMind DB (GeoIP2/GeoLite2 City, Country or ASN, or meridian's own) read with
// libmaxminddb: point lookups for explain, a walk over every network, and the
// search tree's nodes and data records one by one so routing can compile its own
// compact tries at load time in one pass (routing/geo_trie_builder.hpp).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/diagnostics.hpp"

struct MMDB_s;

namespace meridian::geo {

// The fields routing keys on, from one database record.
struct GeoRecord {
  std::string continent;    // "EU"
  std::string country;      // "IE"
  std::string subdivision;  // "L" (first subdivision's ISO code)
  std::string city;         // English name, for explain only
  uint32_t asn = 0;         // autonomous_system_number, 0 when absent
  bool has_location = false;
  double latitude = 0;
  double longitude = 0;
};

// One record of a search-tree node: another node, a data record, or no data.
struct SearchRecord {
  enum Kind : uint8_t { node, data, empty } kind = empty;
  uint32_t value = 0;  // node: its number; data: the record's data-section offset (shared records share it)
};
struct SearchNode {
  SearchRecord child[2];  // address bit 0, bit 1
};

struct GeoLookup {
  bool found = false;
  unsigned prefix_len = 0;  // the database network's prefix (IPv4: 0-32)
  GeoRecord record;
};

class GeoipDatabase {
 public:
  // Throws config::LoadError naming the file when it cannot be opened.
  static std::shared_ptr<const GeoipDatabase> open(const std::string& path);
  ~GeoipDatabase();
  GeoipDatabase(const GeoipDatabase&) = delete;
  GeoipDatabase& operator=(const GeoipDatabase&) = delete;

  const std::string& path() const { return path_; }
  std::string database_type() const;
  bool has_ipv6() const;

  // family 4 (4 address bytes) or 6 (16 bytes).
  GeoLookup lookup(int family, const uint8_t* address) const;

  // Calls visit(address bytes, prefix_len, record) for every network holding data,
  // IPv4 networks (family 4, prefix 0-32) and IPv6 networks (family 6) separately.
  using Visitor = std::function<void(const uint8_t* address, unsigned prefix_len, const GeoRecord& record)>;
  void walk(int family, const Visitor& visit) const;

  // The search tree, for builders that read it node by node.
  uint32_t node_count() const;
  // Node `number` (< node_count()); false when it cannot be read.
  bool read_node(uint32_t number, SearchNode& out) const;
  // What holds the family's whole address space: the root (IPv6 in an IPv6 tree,
  // IPv4 in an IPv4 tree), or for IPv4 in an IPv6 tree what ::/96 leads to.
  // Empty for IPv6 in an IPv4 tree.
  SearchRecord family_root(int family) const;
  // The routing fields of the data record at a data-section offset (a
  // SearchRecord::data value); the English city name only when asked (explain).
  GeoRecord record_at(uint32_t data_offset, bool with_city_name = false) const;
  // Lets the kernel drop the file's pages from this process after a full read
  // (a compile): later lookups fault in the few they touch from the page cache.
  void release_pages() const;

 private:
  explicit GeoipDatabase(std::string path);
  std::string path_;
  std::unique_ptr<MMDB_s> mmdb_;
};

}  // namespace meridian::geo
