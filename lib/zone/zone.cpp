#include "zone/zone.hpp"

#include <algorithm>
#include <cstring>
#include <new>
#include <unordered_map>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "dns/constants.hpp"
#include "dns/name.hpp"

namespace meridian::zone {

namespace {

// The length of the labels of name above suffix (a lower-case wire name), or npos when
// name is not at or below it.
std::size_t labels_above(std::string_view name, std::string_view suffix) {
  return dns::is_subdomain(name, suffix) ? name.size() - suffix.size() : std::string_view::npos;
}

bool is_wildcard(std::string_view name) { return name.size() > 1 && name[0] == 1 && name[1] == '*'; }

// An image while the zone is compiled: its bytes, and its description with data
// still unset (the bytes move into the zone's arena).
struct BuiltImage {
  WireImage meta;
  std::string bytes;
};

// Buffers reused from one image to the next (a million names make millions of images).
struct ImageBuffers {
  std::string bytes;  // the image: records, then patches and names
  std::string patches, names;
};

// owner: the name the records are always written under, when names in rdata may
// point to it (not for a wildcard, whose records take each query's name). The
// image's bytes are left in buffers.bytes (empty, with an empty image, when the
// RRset has none).
WireImage image_of(uint16_t type, const std::vector<RdataRef>& records, uint32_t ttl, uint8_t owner_target,
                   std::string_view origin, unsigned origin_labels, std::string_view owner, ImageBuffers& buffers) {
  const bool below_owner = owner.size() > origin.size();  // else the origin is as long a suffix
  const unsigned owner_labels = below_owner ? dns::wire_name_labels(owner) : 0;
  WireImage image;
  std::string& b = buffers.bytes;  // the records
  std::string& patches = buffers.patches;  // packed entries, appended after the records
  std::string& names = buffers.names;
  b.clear();
  patches.clear();
  names.clear();
  auto fail = [&] {
    b.clear();
    return WireImage{};
  };
  auto patch_here = [&](uint8_t target) {
    dns::put_image_entry(patches, static_cast<uint16_t>(b.size()), target);
    ++image.patch_count;
    if (target == WireImage::kOrigin) image.needs_origin = true;
    b.append(2, '\0');
  };
  for (const RdataRef& rd : records) {
    if (rd.wire.size() > 0xFFFF) return fail();
    patch_here(owner_target);
    uint8_t head[10];
    dns::write_u16(head, type);
    dns::write_u16(head + 2, dns::klass::IN);
    dns::write_u32(head + 4, ttl);
    b.append(reinterpret_cast<const char*>(head), 8);
    const std::size_t rdlen_at = b.size();
    b.append(2, '\0');
    std::size_t done = 0;
    const auto* base = reinterpret_cast<const uint8_t*>(rd.wire.data());
    for (unsigned i = 0; i < rd.compressible_count; ++i) {
      const std::size_t at = rd.compressible_at[i];
      const std::size_t len = dns::wire_name_length(base + at, rd.wire.size() - at);
      const std::string_view name(rd.wire.data() + at, len);
      // The longest suffix known to be in the message: the owner, else the origin
      // (the root origin gains nothing from a pointer).
      std::size_t split = below_owner ? labels_above(name, owner) : std::string_view::npos;
      uint8_t target = WireImage::kOwner;
      unsigned suffix_labels = owner_labels;
      if (split == std::string_view::npos) {
        split = origin.size() > 1 ? labels_above(name, origin) : std::string_view::npos;
        target = WireImage::kOrigin;
        suffix_labels = origin_labels;
      }
      if (split == std::string_view::npos) return fail();
      b.append(rd.wire, done, at - done);
      unsigned labels = dns::wire_name_labels(name) - suffix_labels;
      for (std::size_t k = 0; k < split; k += 1 + static_cast<uint8_t>(name[k])) {
        dns::put_image_entry(names, static_cast<uint16_t>(b.size() + k), static_cast<uint8_t>(suffix_labels + labels--));
        ++image.name_count;
      }
      b.append(name.substr(0, split));
      patch_here(target);
      done = at + len;
    }
    b.append(rd.wire, done, std::string::npos);
    const std::size_t rdlen = b.size() - rdlen_at - 2;
    if (b.size() > 0xFFFF) return fail();
    dns::write_u16(reinterpret_cast<uint8_t*>(b.data() + rdlen_at), static_cast<uint16_t>(rdlen));
  }
  if (image.patch_count > 0xFFFF / dns::kImageEntrySize || image.name_count > 0xFFFF / dns::kImageEntrySize) return fail();
  image.size = static_cast<uint16_t>(b.size());
  b += patches;
  b += names;
  return image;
}

BuiltImage image_of(uint16_t type, const std::vector<RdataRef>& records, uint32_t ttl, uint8_t owner_target,
                    std::string_view origin, unsigned origin_labels, std::string_view owner) {
  ImageBuffers buffers;
  const WireImage image = image_of(type, records, ttl, owner_target, origin, origin_labels, owner, buffers);
  return {image, std::move(buffers.bytes)};
}

}  // namespace

std::string_view RecordView::target() const {
  if (!has_target) return {};
  const std::string_view rest = wire.substr(target_at);
  return rest.substr(0, dns::wire_name_length(reinterpret_cast<const uint8_t*>(rest.data()), rest.size()));
}

Zone::Zone(std::string origin, std::string source)
    : origin_(dns::fold_wire_name(origin)),
      origin_labels_(dns::wire_name_labels(origin_)),
      source_(std::move(source)),
      build_(std::make_unique<ZoneBuild>(origin_)) {}

uint32_t Zone::serial() const {
  const std::string_view w = soa().rdata.front().wire;
  // SERIAL follows the two names in SOA rdata.
  const auto* p = reinterpret_cast<const uint8_t*>(w.data());
  std::size_t off = dns::wire_name_length(p, w.size());
  off += dns::wire_name_length(p + off, w.size() - off);
  return dns::read_u32(p + off);
}

std::unique_ptr<Zone> Zone::clone() const {
  auto copy = std::make_unique<Zone>(origin_, source_);
  copy->build_.reset();
  copy->arena_ = arena_;
  copy->service_names_ = service_names_;
  copy->node_count_ = node_count_;
  copy->apex_at_ = apex_at_;
  copy->apex_head_ = reinterpret_cast<const NodeHead*>(copy->arena() + apex_at_);
  copy->index_heads();
  copy->negative_ttl_ = negative_ttl_;
  copy->make_negative_soa();
  copy->transfer_ = transfer_;
  copy->dnssec_ = dnssec_;
  return copy;
}

std::string Zone::check_apex() const {
  constexpr ZoneBuild::NameId apex = 0;
  if (build_->count(apex, dns::type::SOA) != 1) return "the zone needs exactly one SOA record at its apex";
  if (!build_->has(apex, dns::type::NS)) return "the zone needs NS records at its apex";
  if (build_->too_many_services()) return "the zone uses more than 65534 services";
  return {};
}

std::string Zone::finalize() {
  if (finalized()) return {};
  std::string problem = check_apex();
  if (!problem.empty()) return problem;
  problem = compile();
  if (!problem.empty()) return problem;
  const std::string_view w = this->soa().rdata.front().wire;
  const uint32_t minimum = dns::read_u32(reinterpret_cast<const uint8_t*>(w.data()) + w.size() - 4);
  negative_ttl_ = std::min(this->soa().ttl, minimum);
  make_negative_soa();
  return {};
}

void Zone::make_negative_soa() {
  // The SOA RRset in the build form, from the compiled one.
  const RecordView record = soa().rdata.front();
  RdataRef rd;
  rd.wire = record.wire;
  rd.compressible_count = record.compressible_count;
  rd.compressible_at[0] = record.compressible_at[0];
  rd.compressible_at[1] = record.compressible_at[1];
  BuiltImage negative = image_of(dns::type::SOA, {rd}, negative_ttl_, WireImage::kOrigin, origin_, origin_labels_, origin_);
  negative_soa_bytes_ = std::move(negative.bytes);
  negative_soa_image_ = negative.meta;
  negative_soa_image_.data = reinterpret_cast<const uint8_t*>(negative_soa_bytes_.data());
}

namespace {

constexpr std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

}  // namespace

void Zone::index_heads() {
  lookup_.reserve(node_count_);
  for_each_node([&](const NodeHead& head) { lookup_.insert(&head); });
}

std::string Zone::compile() {
  ZoneBuild& build = *build_;
  ImageBuffers buffers;
  std::vector<uint32_t> scratch;
  std::vector<RdataRef> refs;
  // The RRsets of a name, with each one's image left in buffers.bytes:
  // f(type, ttl, records, image).
  auto for_each_rrset = [&](ZoneBuild::NameId id, auto&& f) {
    const std::string_view name = build.name(id);
    const std::string_view owner = is_wildcard(name) ? std::string_view() : name;
    build.for_each_rrset(
        id,
        [&](uint16_t type, uint32_t ttl, const std::vector<RdataRef>& records) {
          f(type, ttl, records, image_of(type, records, ttl, WireImage::kOwner, origin_, origin_labels_, owner, buffers));
        },
        scratch, refs);
  };
  // One pass over the names sizes their heads (the images are made twice rather
  // than all held at once), so the arena is allocated once at its exact size; the
  // second writes the heads.
  std::vector<uint32_t> sizes(build.size());
  std::vector<uint16_t> entry_counts(build.size());
  std::size_t total = 0;
  for (ZoneBuild::NameId id = 0; id < build.size(); ++id) {
    std::size_t size = sizeof(NodeHead) + NodeHead::name_space(build.name(id).size());
    std::size_t entries = 0;
    for_each_rrset(id, [&](uint16_t, uint32_t, const std::vector<RdataRef>& records, const WireImage&) {
      ++entries;
      size += sizeof(NodeHead::Entry) + round_up(buffers.bytes.size(), 4);
      for (const RdataRef& rd : records) size += sizeof(NodeHead::StoredRecord) + round_up(rd.wire.size(), 4);
    });
    size = round_up(size, 8);
    if (size > 0xFFFFFFFFu) return "a name holds more than 4 GB of records";
    entry_counts[id] = static_cast<uint16_t>(entries);  // at most one per type
    sizes[id] = static_cast<uint32_t>(size);
    total += size;
    if (total / 8 >= 0xFFFFFFFFu) return "the zone is too large (more than 32 GB compiled)";
  }
  build.release_index();  // names are read by id from here on
  build.begin_release();
  arena_.resize(total / 8);  // no page touched yet (UninitialisedAllocator)
  auto* base = reinterpret_cast<std::byte*>(arena_.data());
  std::size_t at = 0;
  for (ZoneBuild::NameId id = 0; id < build.size(); ++id) {
    // Every few thousand names, the build form of those placed goes back.
    if (id % 4096 == 0) build.release_before(id);
    const std::string_view name = build.name(id);
    const std::size_t size = sizes[id];
    std::memset(base + at, 0, size);  // padding included: a head's bytes are all defined
    auto* head = new (base + at) NodeHead{};
    const std::size_t entry_count = entry_counts[id];
    head->entry_count = static_cast<uint16_t>(entry_count);
    head->name_length = static_cast<uint8_t>(name.size());
    head->flags = build.service_number(id) != 0 ? NodeHead::kService : 0;  // the types' flags as they are written
    head->service_index = -1;
    head->size = static_cast<uint32_t>(size);
    head->service_name = build.service_number(id);
    auto* p = reinterpret_cast<std::byte*>(head + 1);
    std::memcpy(p, name.data(), name.size());
    p += NodeHead::name_space(name.size());
    auto* entries = reinterpret_cast<NodeHead::Entry*>(p);
    p += entry_count * sizeof(NodeHead::Entry);
    auto offset = [&](const std::byte* q) { return static_cast<uint32_t>(q - reinterpret_cast<std::byte*>(head)); };
    // Images first, then the records of every RRset (the layout node_head.hpp reads).
    std::size_t k = 0;
    for_each_rrset(id, [&](uint16_t type, uint32_t ttl, const std::vector<RdataRef>& records, const WireImage& m) {
      if (type == dns::type::NS && id != 0) head->flags |= NodeHead::kDelegation;  // NS below the apex: a cut
      if (type == dns::type::DNAME) head->flags |= NodeHead::kDname;
      if (type == dns::type::CNAME) head->flags |= NodeHead::kCname;
      new (&entries[k++]) NodeHead::Entry{type, static_cast<uint16_t>(std::min<std::size_t>(records.size(), 0xFFFF)),
                                          m.size, m.patch_count, m.name_count, m.needs_origin, 0,
                                          m.empty() ? 0u : offset(p), ttl, 0};
      std::memcpy(p, buffers.bytes.data(), buffers.bytes.size());
      p += round_up(buffers.bytes.size(), 4);
    });
    k = 0;
    build.for_each_rrset(
        id,
        [&](uint16_t, uint32_t, const std::vector<RdataRef>& records) {
          entries[k++].records_at = offset(p);
          for (const RdataRef& rd : records) {
            auto* stored = new (p) NodeHead::StoredRecord{};
            stored->length = static_cast<uint16_t>(rd.wire.size());
            stored->compressible_count = rd.compressible_count;
            stored->compressible_at[0] = rd.compressible_at[0];
            stored->compressible_at[1] = rd.compressible_at[1];
            stored->target_flags = rd.has_target ? NodeHead::StoredRecord::kHasTarget : 0;
            stored->target_at = rd.target_at;
            std::memcpy(stored + 1, rd.wire.data(), rd.wire.size());
            p += stored->footprint();
          }
        },
        scratch, refs);
    if (id == 0) {
      apex_at_ = at;
      apex_head_ = head;
    }
    at += size;
  }
  service_names_ = build.service_names();
  node_count_ = build.size();
  build_.reset();  // the build form, freed
  index_heads();
  // Additional-section targets: the heads their names lead to, now that all are placed.
  auto* head = reinterpret_cast<NodeHead*>(base);
  for (std::size_t i = 0; i < node_count_; ++i, head = const_cast<NodeHead*>(head->next())) {
    for (unsigned k = 0; k < head->entry_count; ++k) {
      const NodeHead::Entry& entry = head->entries()[k];
      auto* p = reinterpret_cast<std::byte*>(head) + entry.records_at;
      for (unsigned r = 0; r < entry.records; ++r) {
        auto* stored = reinterpret_cast<NodeHead::StoredRecord*>(p);
        p += stored->footprint();
        if (!(stored->target_flags & NodeHead::StoredRecord::kHasTarget)) continue;
        const std::string_view wire(reinterpret_cast<const char*>(stored + 1), stored->length);
        const std::string_view rest = wire.substr(stored->target_at);
        const std::string_view name =
            rest.substr(0, dns::wire_name_length(reinterpret_cast<const uint8_t*>(rest.data()), rest.size()));
        const NodeHead* target = find(dns::fold_wire_name(name));
        if (!target) continue;
        stored->target_flags |= NodeHead::StoredRecord::kTargetInZone;
        stored->target_delta = static_cast<int32_t>((reinterpret_cast<const std::byte*>(target) -
                                                      reinterpret_cast<const std::byte*>(head)) / 8);
      }
    }
  }
#ifdef __GLIBC__
  // The build form was many small blocks; give their pages back, so that the
  // process holds the compiled zone and not the peak of building it.
  malloc_trim(0);
#endif
  return {};
}

unsigned ZoneSet::free_slot() const {
  unsigned i = 0;
  while (i < slot_used_.size() && slot_used_[i]) ++i;
  return i;
}

bool ZoneSet::insert(std::shared_ptr<const Zone> zone) {
  if (lookup_.find(zone->origin())) return false;  // served already, or a stand-in holds the origin
  const unsigned slot = zone->index();
  if (slot < slot_used_.size() && slot_used_[slot]) return false;
  const unsigned labels = zone->origin_labels();
  const auto [it, inserted] = zones_.try_emplace(zone->origin(), std::move(zone));
  if (!inserted) return false;
  if (slot >= slot_used_.size()) slot_used_.resize(slot + 1, false);
  slot_used_[slot] = true;
  lookup_.insert(it->second.get());
  min_labels_ = std::min(min_labels_, labels);
  max_labels_ = std::max(max_labels_, labels);
  return true;
}

bool ZoneSet::add(std::unique_ptr<Zone> zone) {
  zone->set_index(free_slot());
  return insert(std::move(zone));
}

bool ZoneSet::add_shared(std::shared_ptr<const Zone> zone) { return insert(std::move(zone)); }

bool ZoneSet::add_unavailable(const std::string& origin, const std::string& source) {
  if (lookup_.find(origin)) return false;
  auto zone = std::make_unique<Zone>(origin, source);
  zone->available_ = false;
  const unsigned slot = free_slot();
  zone->set_index(slot);
  if (slot >= slot_used_.size()) slot_used_.resize(slot + 1, false);
  slot_used_[slot] = true;
  const unsigned labels = zone->origin_labels();
  lookup_.insert(zone.get());
  min_labels_ = std::min(min_labels_, labels);
  max_labels_ = std::max(max_labels_, labels);
  unavailable_.push_back(std::move(zone));
  return true;
}

const Zone* ZoneSet::find_zone(std::string_view name, const uint8_t* label_offsets, unsigned labels) const {
  if ((zones_.empty() && unavailable_.empty()) || labels < min_labels_) return nullptr;
  // Try suffixes from the longest an origin can be, down to the shortest.
  const unsigned first = labels > max_labels_ ? labels - max_labels_ : 0;
  const unsigned last = labels - min_labels_;
  for (unsigned i = first; i <= last; ++i) {
    const std::size_t off = i < labels ? label_offsets[i] : name.size() - 1;
    if (const Zone* zone = lookup_.find(name.substr(off))) return zone;
  }
  return nullptr;
}

const Zone* ZoneSet::find_exact(std::string_view origin) const {
  const Zone* zone = lookup_.find(origin);
  return zone && zone->available() ? zone : nullptr;
}

std::shared_ptr<const Zone> ZoneSet::share_exact(std::string_view origin) const {
  const auto it = zones_.find(origin);
  return it == zones_.end() ? nullptr : it->second;
}

}  // namespace meridian::zone
