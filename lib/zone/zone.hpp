// The in-memory zone. Loaders fill its build form (zone_build.hpp: names and
// records in a few pools, rdata already in wire form); finalize() compiles it
// into one arena of node heads (node_head.hpp: each name with its precompiled
// images and records) and an index of the heads, and drops the build form: a
// compiled zone holds no per-name heap object or string. Immutable once compiled (but for the service links); a reload builds a
// new ZoneSet and swaps it in whole.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "zone/dnssec_settings.hpp"
#include "zone/name_index.hpp"
#include "zone/node_head.hpp"
#include "zone/transfer_settings.hpp"
#include "zone/wire_image.hpp"
#include "zone/zone_build.hpp"

namespace meridian::zone {

// A dynamic name as for_each_dynamic_name() hands it to a loader, which sets
// service_index (the service's slot in the routing table).
struct DynamicName {
  std::string_view name;     // lower-case wire form
  std::string_view service;
  int service_index = -1;
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
  std::size_t node_count() const { return finalized() ? node_count_ : build_->size(); }
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
  // Loading only: lets the loader link each dynamic name of a compiled zone to
  // its service slot: f(DynamicName&), whose service_index is kept.
  template <typename F> void for_each_dynamic_name(F&& f) {
    auto* head = reinterpret_cast<NodeHead*>(arena_.data());
    for (std::size_t i = 0; i < node_count_; ++i, head = const_cast<NodeHead*>(head->next())) {
      if (!head->service_name) continue;
      DynamicName name{head->name(), service_names_[head->service_name - 1u], head->service_index};
      f(name);
      head->service_index = name.service_index;
    }
  }

  // The zone file's "transfer" settings (not configured: transfers refused).
  const TransferSettings& transfer() const { return transfer_; }
  void set_transfer(TransferSettings settings) { transfer_ = std::move(settings); }
  // The zone file's "dnssec" settings with the keys read at load (not configured: unsigned).
  const DnssecSettings& dnssec() const { return dnssec_; }
  void set_dnssec(DnssecSettings settings) { dnssec_ = std::move(settings); }
  bool signed_zone() const { return dnssec_.configured && dnssec_.keys; }
  // Whether some name takes its A/AAAA from a service.
  bool has_dynamic_names() const { return !service_names_.empty(); }

  // Building (zone loaders only; not after finalize()).
  ZoneBuild& build() { return *build_; }
  const ZoneBuild& build() const { return *build_; }
  // What finalize() requires of the build form (one SOA and NS at the apex);
  // an error message or empty.
  std::string check_apex() const;
  // Checks the apex, then compiles the names into their query-path layout (see
  // compile()) and frees the build form; returns an error message or empty.
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

  // Leaves new elements uninitialised, so that sizing the arena touches no
  // page: compile() writes (and zeroes) each head's bytes as it places it, while
  // the build form is handed back, and the two are never both whole in memory.
  template <typename T> struct UninitialisedAllocator : std::allocator<T> {
    template <typename U> struct rebind { using other = UninitialisedAllocator<U>; };
    template <typename U> void construct(U* p) noexcept { ::new (static_cast<void*>(p)) U; }
    template <typename U, typename... Args> void construct(U* p, Args&&... args) {
      ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
  };
  std::unique_ptr<ZoneBuild> build_;         // while building
  std::vector<uint64_t, UninitialisedAllocator<uint64_t>> arena_;  // the heads, one after the other
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
  TransferSettings transfer_;
  DnssecSettings dnssec_;
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
