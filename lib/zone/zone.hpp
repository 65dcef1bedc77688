// The in-memory zone: nodes keyed by lower-case wire name, each holding its RRsets
// with rdata already in wire form, so answers are assembled by copying. Immutable
// once built; a reload builds a new ZoneSet and swaps it in whole.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/writer.hpp"
#include "zone/name_index.hpp"

namespace meridian::zone {

struct Node;

struct Rdata {
  std::string wire;  // uncompressed rdata as it goes on the wire
  // Embedded names that may be compressed (RFC 3597 section 4: only the RFC 1035
  // types NS, CNAME, SOA, PTR, MX ...); offsets into wire.
  uint8_t compressible_count = 0;
  uint16_t compressible_at[2] = {0, 0};
  // NS/MX/SRV target for additional-section processing, and the in-zone node it
  // names (resolved once the zone is complete).
  uint16_t target_at = 0;
  bool has_target = false;
  const Node* target_node = nullptr;

  std::string_view target() const;
};

// Records as they go into a message, built once at load so that the common answer
// is one copy (MessageWriter::put_image): the owner of each record is a pointer to
// the owner name already in the message (target kOwner), and each compressible name
// in rdata that lies in the zone is written as its labels above the longest suffix
// sure to be in the message plus a pointer to it: the owner (kOwner) when the name
// is below the owner (never for a wildcard: its records take each query's name),
// else the origin (kOrigin; a query name in the zone always holds it).
// Empty when a compressible name lies outside the zone: those records take the
// general path, which compresses against the whole message.
struct WireImage {
  static constexpr uint8_t kOwner = 0, kOrigin = 1;
  // One allocation, so that answering touches one run of memory: the records
  // (size bytes), then patch_count patches and name_count names (dns::kImageEntrySize each).
  std::string blob;
  uint16_t size = 0;
  uint16_t patch_count = 0;
  uint16_t name_count = 0;
  bool needs_origin = false;  // some patch points to the origin
  bool empty() const { return size == 0; }
  const uint8_t* bytes() const { return reinterpret_cast<const uint8_t*>(blob.data()); }
  const uint8_t* patches() const { return bytes() + size; }
  const uint8_t* names() const { return patches() + patch_count * dns::kImageEntrySize; }
};

struct RRset {
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::vector<Rdata> rdata;
  WireImage image;  // with this TTL; built by Zone::finalize()
};

struct alignas(64) Node {  // name, RRset list and flags share the first cache line (fewer misses per lookup)
  std::string name;              // lower-case wire form
  std::vector<RRset> rrsets;     // sorted by type
  bool is_delegation = false;    // NS at a name below the apex: a zone cut
  bool has_dname = false;        // names below are redirected (RFC 6672)
  std::string service;           // dynamic A/AAAA from this service; empty for static names
  int service_index = -1;        // the service's slot in the server's routing table

  const RRset* find(uint16_t type) const {
    for (const auto& r : rrsets)
      if (r.type == type) return &r;
    return nullptr;
  }
  bool empty() const { return rrsets.empty() && service.empty(); }
  std::string_view index_name() const { return name; }
};

struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct NameEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

class Zone {
 public:
  Zone(std::string origin, std::string source);

  const std::string& origin() const { return origin_; }
  unsigned origin_labels() const { return origin_labels_; }
  const std::string& source() const { return source_; }
  // Position in its ZoneSet, for per-zone counters.
  unsigned index() const { return index_; }
  void set_index(unsigned i) { index_ = i; }
  const Node& apex() const { return *apex_; }
  const RRset& soa() const { return *soa_; }
  uint32_t serial() const;
  // Negative-answer TTL: min(SOA TTL, SOA MINIMUM) (RFC 2308 section 5).
  uint32_t negative_ttl() const { return negative_ttl_; }
  // The SOA as a negative answer carries it: owner = origin, negative TTL.
  const WireImage& negative_soa_image() const { return negative_soa_image_; }

  const Node* find(std::string_view lower_wire_name) const {
    if (lookup_.built()) return lookup_.find(lower_wire_name);
    const auto it = nodes_.find(lower_wire_name);  // still building
    return it == nodes_.end() ? nullptr : &it->second;
  }
  bool finalized() const { return lookup_.built(); }
  std::string_view index_name() const { return origin_; }
  std::size_t node_count() const { return finalized() ? compiled_.size() : nodes_.size(); }
  template <typename F> void for_each_node(F&& f) const {
    if (finalized()) {
      for (const auto& node : compiled_) f(node);
    } else {
      for (const auto& [name, node] : nodes_) f(node);
    }
  }
  // Loading only: lets the loader link service names to service slots.
  template <typename F> void for_each_node_mutable(F&& f) {
    if (finalized()) {
      for (auto& node : compiled_) f(node);
    } else {
      for (auto& [name, node] : nodes_) f(node);
    }
  }

  // Building (zone loaders only; not after finalize()).
  Node& node_for(const std::string& lower_wire_name);  // creates empty non-terminals up to the apex
  // Sorts RRsets, marks delegations, checks the SOA/apex NS, then compiles the
  // nodes into their query-path layout (see compile()); returns an error message or empty.
  std::string finalize();

 private:
  std::string origin_;
  unsigned origin_labels_;
  std::string source_;
  // Copies every node into one array, each node's own strings and vectors allocated
  // one after another, so that answering touches a few adjacent cache lines instead
  // of a chain of scattered allocations; links additional-section targets; indexes names.
  void compile();

  std::unordered_map<std::string, Node, NameHash, NameEqual> nodes_;  // while building
  std::vector<Node> compiled_;  // after finalize(): what queries read
  NameIndex<Node> lookup_;      // names -> compiled_
  Node* apex_ = nullptr;
  const RRset* soa_ = nullptr;
  uint32_t negative_ttl_ = 0;
  WireImage negative_soa_image_;
  unsigned index_ = 0;
};

// Every zone the server answers for; a query goes to the longest matching origin.
class ZoneSet {
 public:
  // False when a zone with this origin is already present.
  bool add(std::unique_ptr<Zone> zone);
  // Longest-match zone for a lower-case wire name given by its label offsets.
  const Zone* find_zone(std::string_view name, const uint8_t* label_offsets, unsigned labels) const;
  const Zone* find_exact(std::string_view origin) const;
  std::size_t size() const { return zones_.size(); }
  template <typename F> void for_each_zone(F&& f) const {
    for (const auto& [origin, zone] : zones_) f(*zone);
  }
  template <typename F> void for_each_zone_mutable(F&& f) {
    for (auto& [origin, zone] : zones_) f(*zone);
  }

 private:
  std::unordered_map<std::string, std::unique_ptr<Zone>, NameHash, NameEqual> zones_;
  NameIndex<Zone> lookup_;  // rebuilt by add()
  unsigned min_labels_ = 255;
  unsigned max_labels_ = 0;
};

}  // namespace meridian::zone
