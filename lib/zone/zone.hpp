// The in-memory zone. Loaders build it from Node/RRset/Rdata (rdata already in
// wire form); finalize() compiles it into one arena of node heads (node_head.hpp:
// each name with its precompiled images and records) and an index of the
// heads, and drops the build form: a compiled zone holds no per-name heap object or
// string. Immutable once compiled (but for the service links); a reload builds a
// new ZoneSet and swaps it in whole.
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

// Loading only: one record as the loaders make it.
struct Rdata {
  std::string wire;  // uncompressed rdata as it goes on the wire
  // Embedded names that may be compressed (RFC 3597 section 4: only the RFC 1035
  // types NS, CNAME, SOA, PTR, MX ...); offsets into wire.
  uint8_t compressible_count = 0;
  uint16_t compressible_at[2] = {0, 0};
  // NS/MX/SRV target for additional-section processing.
  uint16_t target_at = 0;
  bool has_target = false;

  std::string_view target() const;
};

// Loading only.
struct RRset {
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::vector<Rdata> rdata;
};

// Loading only: a name while the zone is built. After finalize() a zone has
// NodeHeads; for_each_node_mutable() still hands out a Node (name, service and
// service_index) for each dynamic name, so that a loader can link it.
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
  bool rules_checked = false;  // loading only (json_zone.cpp)

  const RRset* find(uint16_t type) const {
    for (const auto& r : rrsets)
      if (r.type == type) return &r;
    return nullptr;
  }
  bool empty() const { return rrsets.empty() && service.empty(); }
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
  Zone(const Zone&) = delete;  // clone() says when a copy is wanted
  Zone& operator=(const Zone&) = delete;

  // A copy of a compiled zone in memory of its own (the arena copied, as every
  // reference in it is an offset; the index built again). Service slots are copied as they are:
  // a loader links them again for its own services. For serving a zone's last
  // good version in a new snapshot.
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
  const NodeHead& apex() const { return apex_head(); }
  const NodeHead& apex_head() const { return *apex_head_; }
  RRsetView soa() const { return apex_head().find_rrset(dns_type_soa); }
  uint32_t serial() const;
  // Negative-answer TTL: min(SOA TTL, SOA MINIMUM) (RFC 2308 section 5).
  uint32_t negative_ttl() const { return negative_ttl_; }
  // The SOA as a negative answer carries it: owner = origin, negative TTL.
  const WireImage& negative_soa_image() const { return negative_soa_image_; }

  // A compiled name (nullptr when the zone has no such name).
  const NodeHead* find(std::string_view lower_wire_name) const { return lookup_.find(lower_wire_name); }
  const NodeHead* find_head(std::string_view lower_wire_name) const { return find(lower_wire_name); }
  bool finalized() const { return lookup_.built(); }
  std::string_view index_name() const { return origin_; }
  std::size_t node_count() const { return finalized() ? node_count_ : nodes_.size(); }
  // The service a dynamic name takes its A/AAAA from (empty for a static name).
  std::string_view service_name(const NodeHead& head) const {
    return head.service_name ? std::string_view(service_names_[head.service_name - 1u]) : std::string_view();
  }
  // Bytes of the compiled form (arena and index).
  std::size_t compiled_bytes() const { return arena_.size() * sizeof(uint64_t) + lookup_.bytes(); }
  // Every compiled name (in no particular order), e.g. to list or transfer the
  // zone: f(const NodeHead&); its RRsets are head.rrset(entry) for each entry.
  template <typename F> void for_each_node(F&& f) const {
    const auto* head = reinterpret_cast<const NodeHead*>(arena());
    for (std::size_t i = 0; i < node_count_; ++i, head = head->next()) f(*head);
  }
  // Loading only: lets the loader link service names to service slots. Before
  // finalize() every node; after it, each dynamic name as a Node with its name,
  // service and service_index, of which service_index is kept.
  template <typename F> void for_each_node_mutable(F&& f) {
    if (!finalized()) {
      for (auto& [name, node] : nodes_) f(node);
      return;
    }
    auto* head = reinterpret_cast<NodeHead*>(arena_.data());
    for (std::size_t i = 0; i < node_count_; ++i, head = const_cast<NodeHead*>(head->next())) {
      if (!head->service_name) continue;
      Node node;
      node.name = head->name();
      node.service = service_names_[head->service_name - 1u];
      node.service_index = head->service_index;
      f(node);
      head->service_index = node.service_index;
    }
  }

  // Building (zone loaders only; not after finalize()).
  void reserve(std::size_t names) { nodes_.reserve(names); }
  Node& node_for(const std::string& lower_wire_name);  // creates empty non-terminals up to the apex
  const Node* find_node(std::string_view lower_wire_name) const {
    const auto it = nodes_.find(lower_wire_name);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  // Sorts RRsets, marks delegations, checks the SOA/apex NS, then compiles the
  // nodes into their query-path layout (see compile()); returns an error message or empty.
  std::string finalize();

 private:
  static constexpr uint16_t dns_type_soa = 6;
  std::string origin_;
  unsigned origin_labels_;
  std::string source_;
  const std::byte* arena() const { return reinterpret_cast<const std::byte*>(arena_.data()); }
  // Lays out each node's head (node_head.hpp) with its images and records in the
  // arena, indexes the heads by name, links additional-section targets, and
  // drops the build form.
  std::string compile();
  void make_negative_soa();

  std::unordered_map<std::string, Node, NameHash, NameEqual> nodes_;  // while building
  std::vector<uint64_t> arena_;              // the heads, one after the other
  NameIndex<NodeHead> lookup_;               // names -> heads (built again by clone())
  void index_heads();
  std::vector<std::string> service_names_;   // NodeHead::service_name - 1 indexes this
  std::size_t node_count_ = 0;
  std::size_t apex_at_ = 0;                  // bytes into the arena
  const NodeHead* apex_head_ = nullptr;      // there (set again by clone())
  bool available_ = true;
  friend class ZoneSet;  // marks stand-ins
  uint32_t negative_ttl_ = 0;
  std::string negative_soa_bytes_;
  WireImage negative_soa_image_;  // into negative_soa_bytes_
  unsigned index_ = 0;
};

// Every zone the server answers for; a query goes to the longest matching origin.
// Zones are immutable once added and may be shared with other sets: a reload
// takes over the zones whose files did not change.
class ZoneSet {
 public:
  // A zone new to this set: it gets the lowest counter slot (index()) no zone of
  // the set holds. False when a zone with this origin is already present.
  bool add(std::unique_ptr<Zone> zone);
  // A zone taken over from another set, with the counter slot it has there (so
  // its counters follow it); add these before the new ones. False when a zone
  // with this origin, or one in the same slot, is already present.
  bool add_shared(std::shared_ptr<const Zone> zone);
  // A configured zone whose file did not load: find_zone() gives its stand-in
  // (available() false) for its names; for_each_zone() and size() leave it out.
  // False when a zone with this origin is present. Called after every add().
  bool add_unavailable(const std::string& origin, const std::string& source);
  // Longest-match zone for a lower-case wire name given by its label offsets.
  const Zone* find_zone(std::string_view name, const uint8_t* label_offsets, unsigned labels) const;
  // The zone served with this origin (never a stand-in).
  const Zone* find_exact(std::string_view origin) const;
  // The same, shared (for taking it over into the next set).
  std::shared_ptr<const Zone> share_exact(std::string_view origin) const;
  std::size_t size() const { return zones_.size(); }
  template <typename F> void for_each_zone(F&& f) const {
    for (const auto& [origin, zone] : zones_) f(*zone);
  }

 private:
  bool insert(std::shared_ptr<const Zone> zone);
  unsigned free_slot() const;

  std::unordered_map<std::string, std::shared_ptr<const Zone>, NameHash, NameEqual> zones_;
  std::vector<std::unique_ptr<Zone>> unavailable_;
  std::vector<bool> slot_used_;  // by Zone::index()
  NameIndex<Zone> lookup_;
  unsigned min_labels_ = 255;
  unsigned max_labels_ = 0;
};

}  // namespace meridian::zone
