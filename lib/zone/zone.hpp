// The in-memory zone: nodes keyed by lower-case wire name, each holding its RRsets
// with rdata already in wire form, so answers are assembled by copying. Immutable
// once built; a reload builds a new ZoneSet and swaps it in whole.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "zone/name_index.hpp"
#include "zone/node_head.hpp"
#include "zone/wire_image.hpp"

namespace meridian::zone {

struct Rdata {
  std::string wire;  // uncompressed rdata as it goes on the wire
  // Embedded names that may be compressed (RFC 3597 section 4: only the RFC 1035
  // types NS, CNAME, SOA, PTR, MX ...); offsets into wire.
  uint8_t compressible_count = 0;
  uint16_t compressible_at[2] = {0, 0};
  // NS/MX/SRV target for additional-section processing, and the in-zone node it
  // names (resolved once the zone is compiled).
  uint16_t target_at = 0;
  bool has_target = false;
  const NodeHead* target_head = nullptr;

  std::string_view target() const;
};

struct RRset {
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::vector<Rdata> rdata;
  WireImage image;  // with this TTL; built by Zone::finalize(), the same as in the node's head
};

struct Node {
  std::string name;              // lower-case wire form
  std::vector<RRset> rrsets;     // sorted by type
  bool is_delegation = false;    // NS at a name below the apex: a zone cut
  bool has_dname = false;        // names below are redirected (RFC 6672)
  std::string service;           // dynamic A/AAAA from this service; empty for static names
  int service_index = -1;        // the service's slot in the server's routing table
  // Loading only: the reader's last record of this name (json_zone.cpp).
  static constexpr uint32_t kNoPosition = 0xFFFFFFFF;
  uint32_t last_position = kNoPosition;

  const RRset* find(uint16_t type) const {
    for (const auto& r : rrsets)
      if (r.type == type) return &r;
    return nullptr;
  }
  bool empty() const { return rrsets.empty() && service.empty(); }
};

inline const RRset& NodeHead::rrset(const Entry& e) const { return node->rrsets[static_cast<std::size_t>(&e - entries())]; }

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
  Zone(const Zone&) = delete;  // the heads point into the zone's own arena and nodes
  Zone& operator=(const Zone&) = delete;

  // A new zone with the same data, compiled anew into its own arena and index
  // (no parse; the rules were checked when this one was built). Service slots are
  // copied as they are: a loader links them again for its own services. For
  // serving a zone's last good version in a new snapshot without sharing it.
  std::unique_ptr<Zone> clone() const;

  const std::string& origin() const { return origin_; }
  unsigned origin_labels() const { return origin_labels_; }
  // False for the stand-in of a configured zone whose file did not load: its
  // names are answered SERVFAIL (as Knot does), not REFUSED or from a parent zone.
  bool available() const { return available_; }
  const std::string& source() const { return source_; }
  // Position in its ZoneSet, for per-zone counters.
  unsigned index() const { return index_; }
  void set_index(unsigned i) { index_ = i; }
  const Node& apex() const { return *apex_; }
  const NodeHead& apex_head() const { return *apex_head_; }
  const RRset& soa() const { return *soa_; }
  uint32_t serial() const;
  // Negative-answer TTL: min(SOA TTL, SOA MINIMUM) (RFC 2308 section 5).
  uint32_t negative_ttl() const { return negative_ttl_; }
  // The SOA as a negative answer carries it: owner = origin, negative TTL.
  const WireImage& negative_soa_image() const { return negative_soa_image_; }

  const Node* find(std::string_view lower_wire_name) const {
    if (lookup_.built()) {
      const NodeHead* head = lookup_.find(lower_wire_name);
      return head ? head->node : nullptr;
    }
    const auto it = nodes_.find(lower_wire_name);  // still building
    return it == nodes_.end() ? nullptr : &it->second;
  }
  // The query path's view of a name (compiled zones only).
  const NodeHead* find_head(std::string_view lower_wire_name) const { return lookup_.find(lower_wire_name); }
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
      sync_heads();
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
  // Copies every node into one array, lays out each node's head (node_head.hpp)
  // with its RRsets' images in the arena, indexes the heads by name and links
  // additional-section targets.
  void compile();
  void sync_heads();  // copies what loading may change after compile() into the heads

  // A node head starts a cache line.
  struct alignas(64) CacheLine {
    std::byte bytes[64];
  };
  // Heads up to this size live in the index's rooms (most names: two lines).
  static constexpr std::size_t kHeadRoom = 128;

  std::unordered_map<std::string, Node, NameHash, NameEqual> nodes_;  // while building
  std::vector<Node> compiled_;     // after finalize()
  std::vector<CacheLine> arena_;   // heads too big for a room, with their images
  std::vector<NodeHead*> heads_;   // heads_[i] is compiled_[i]'s
  NameIndex<NodeHead, kHeadRoom> lookup_;  // names -> heads, in its rooms or the arena
  bool available_ = true;
  friend class ZoneSet;  // marks stand-ins
  Node* apex_ = nullptr;
  const NodeHead* apex_head_ = nullptr;
  const RRset* soa_ = nullptr;
  uint32_t negative_ttl_ = 0;
  std::string negative_soa_bytes_;
  WireImage negative_soa_image_;  // into negative_soa_bytes_
  unsigned index_ = 0;
};

// Every zone the server answers for; a query goes to the longest matching origin.
class ZoneSet {
 public:
  // False when a zone with this origin is already present.
  bool add(std::unique_ptr<Zone> zone);
  // A configured zone whose file did not load: find_zone() gives its stand-in
  // (available() false) for its names; for_each_zone() and size() leave it out.
  // False when a zone with this origin is present. Called after every add(), so
  // the zones served keep the indexes 0..size()-1 (per-zone counters).
  bool add_unavailable(const std::string& origin, const std::string& source);
  // Longest-match zone for a lower-case wire name given by its label offsets.
  const Zone* find_zone(std::string_view name, const uint8_t* label_offsets, unsigned labels) const;
  // The zone served with this origin (never a stand-in).
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
  std::vector<std::unique_ptr<Zone>> unavailable_;
  NameIndex<Zone> lookup_;  // rebuilt by add()
  unsigned min_labels_ = 255;
  unsigned max_labels_ = 0;
};

}  // namespace meridian::zone
