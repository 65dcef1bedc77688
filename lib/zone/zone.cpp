#include "zone/zone.hpp"

#include <algorithm>
#include <cstring>
#include <new>

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

// owner: the name the records are always written under, when names in rdata may
// point to it (not for a wildcard, whose records take each query's name).
BuiltImage image_of(const RRset& rrset, uint32_t ttl, uint8_t owner_target, std::string_view origin,
                   unsigned origin_labels, std::string_view owner) {
  const bool below_owner = owner.size() > origin.size();  // else the origin is as long a suffix
  const unsigned owner_labels = below_owner ? dns::wire_name_labels(owner) : 0;
  WireImage image;
  auto fail = [] { return BuiltImage{}; };
  std::string b;  // the records
  std::string patches, names;  // packed entries, appended after the records
  auto patch_here = [&](uint8_t target) {
    dns::put_image_entry(patches, static_cast<uint16_t>(b.size()), target);
    ++image.patch_count;
    if (target == WireImage::kOrigin) image.needs_origin = true;
    b.append(2, '\0');
  };
  for (const auto& rd : rrset.rdata) {
    if (rd.wire.size() > 0xFFFF) return fail();
    patch_here(owner_target);
    uint8_t head[10];
    dns::write_u16(head, rrset.type);
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
  return {image, b + patches + names};
}

}  // namespace

std::string_view Rdata::target() const {
  if (!has_target) return {};
  const std::string_view rest = std::string_view(wire).substr(target_at);
  return rest.substr(0, dns::wire_name_length(reinterpret_cast<const uint8_t*>(rest.data()), rest.size()));
}

Zone::Zone(std::string origin, std::string source)
    : origin_(dns::fold_wire_name(origin)),
      origin_labels_(dns::wire_name_labels(origin_)),
      source_(std::move(source)) {
  apex_ = &nodes_[origin_];
  apex_->name = origin_;
}

uint32_t Zone::serial() const {
  const std::string& w = soa_->rdata.front().wire;
  // SERIAL follows the two names in SOA rdata.
  const auto* p = reinterpret_cast<const uint8_t*>(w.data());
  std::size_t off = dns::wire_name_length(p, w.size());
  off += dns::wire_name_length(p + off, w.size() - off);
  return dns::read_u32(p + off);
}

std::unique_ptr<Zone> Zone::clone() const {
  auto copy = std::make_unique<Zone>(origin_, source_);
  for_each_node([&](const Node& node) {
    Node& mine = copy->nodes_[node.name];  // the apex entry exists already (apex_ points at it)
    mine = node;
    // What points into this zone is set again by compile().
    for (auto& rrset : mine.rrsets) {
      rrset.image = {};
      for (auto& rd : rrset.rdata) rd.target_head = nullptr;
    }
  });
  if (!copy->finalize().empty()) return nullptr;  // cannot happen: this zone was finalized
  return copy;
}

Node& Zone::node_for(const std::string& lower_wire_name) {
  auto [it, inserted] = nodes_.try_emplace(lower_wire_name);
  if (inserted) {
    it->second.name = lower_wire_name;
    // Ancestors up to the apex exist as empty non-terminals (RFC 4592 2.2.2).
    std::string_view parent = dns::parent_name(lower_wire_name);
    while (parent.size() > origin_.size()) {
      auto [pit, pinserted] = nodes_.try_emplace(std::string(parent));
      if (!pinserted) break;
      pit->second.name = std::string(parent);
      parent = dns::parent_name(parent);
    }
  }
  return it->second;
}

std::string Zone::finalize() {
  if (finalized()) return {};
  for (auto& [name, node] : nodes_) {
    std::sort(node.rrsets.begin(), node.rrsets.end(),
              [](const RRset& a, const RRset& b) { return a.type < b.type; });
    node.is_delegation = &node != apex_ && node.find(dns::type::NS) != nullptr;
    node.has_dname = node.find(dns::type::DNAME) != nullptr;
  }
  const RRset* soa = apex_->find(dns::type::SOA);
  if (!soa || soa->rdata.size() != 1) return "the zone needs exactly one SOA record at its apex";
  if (!apex_->find(dns::type::NS)) return "the zone needs NS records at its apex";
  compile();
  soa_ = apex_->find(dns::type::SOA);
  const std::string& w = soa_->rdata.front().wire;
  const uint32_t minimum = dns::read_u32(reinterpret_cast<const uint8_t*>(w.data()) + w.size() - 4);
  negative_ttl_ = std::min(soa_->ttl, minimum);
  BuiltImage negative = image_of(*soa_, negative_ttl_, WireImage::kOrigin, origin_, origin_labels_, origin_);
  negative_soa_bytes_ = std::move(negative.bytes);
  negative_soa_image_ = negative.meta;
  negative_soa_image_.data = reinterpret_cast<const uint8_t*>(negative_soa_bytes_.data());
  return {};
}

void Zone::compile() {
  compiled_.reserve(nodes_.size());  // keeps node addresses stable for the heads
  std::vector<std::vector<BuiltImage>> images;
  images.reserve(nodes_.size());
  std::vector<std::size_t> head_size, head_at;  // bytes; offset in the arena when not in a room
  head_size.reserve(nodes_.size());
  head_at.reserve(nodes_.size());
  std::size_t total = 0;
  for (const auto& [name, node] : nodes_) {
    compiled_.push_back(node);  // a deep copy: its allocations come out in sequence
    auto& built = images.emplace_back();
    std::size_t size = sizeof(NodeHead) + NodeHead::name_space(name.size()) + node.rrsets.size() * sizeof(NodeHead::Entry);
    for (const auto& rrset : node.rrsets) {
      built.push_back(image_of(rrset, rrset.ttl, WireImage::kOwner, origin_, origin_labels_,
                               is_wildcard(name) ? std::string_view() : std::string_view(name)));
      size += built.back().bytes.size();
    }
    head_size.push_back(size);
    head_at.push_back(total);
    if (size > lookup_.room_size()) total += (size + sizeof(CacheLine) - 1) / sizeof(CacheLine) * sizeof(CacheLine);
  }
  arena_.resize(total / sizeof(CacheLine));
  auto* base = reinterpret_cast<std::byte*>(arena_.data());
  lookup_.reserve(compiled_.size());
  heads_.reserve(compiled_.size());
  for (std::size_t i = 0; i < compiled_.size(); ++i) {
    Node& node = compiled_[i];
    void* where = head_size[i] <= lookup_.room_size() ? lookup_.room_for(node.name) : base + head_at[i];
    auto* head = new (where) NodeHead{};
    head->node = &node;
    head->entry_count = static_cast<uint16_t>(node.rrsets.size());
    head->name_length = static_cast<uint8_t>(node.name.size());
    head->flags = static_cast<uint8_t>((node.is_delegation ? NodeHead::kDelegation : 0) |
                                       (node.has_dname ? NodeHead::kDname : 0) |
                                       (node.find(dns::type::CNAME) ? NodeHead::kCname : 0) |
                                       (node.service.empty() ? 0 : NodeHead::kService));
    head->service_index = node.service_index;
    auto* at = reinterpret_cast<std::byte*>(head + 1);
    std::memcpy(at, node.name.data(), node.name.size());
    at += NodeHead::name_space(node.name.size());
    auto* entries = reinterpret_cast<NodeHead::Entry*>(at);
    at += node.rrsets.size() * sizeof(NodeHead::Entry);
    for (std::size_t k = 0; k < node.rrsets.size(); ++k) {
      RRset& rrset = node.rrsets[k];
      BuiltImage& built = images[i][k];
      std::memcpy(at, built.bytes.data(), built.bytes.size());
      if (!built.meta.empty()) built.meta.data = reinterpret_cast<const uint8_t*>(at);
      at += built.bytes.size();
      rrset.image = built.meta;
      const WireImage& m = built.meta;
      new (&entries[k]) NodeHead::Entry{rrset.type, static_cast<uint16_t>(std::min<std::size_t>(rrset.rdata.size(), 0xFFFF)),
                                        m.size, m.patch_count, m.name_count, m.needs_origin,
                                        m.empty() ? 0u
                                                  : static_cast<uint32_t>(reinterpret_cast<const std::byte*>(m.data) -
                                                                          reinterpret_cast<const std::byte*>(head))};
    }
    heads_.push_back(head);
    lookup_.insert(head);
    if (node.name == origin_) {
      apex_ = &node;
      apex_head_ = head;
    }
  }
  for (auto& node : compiled_) {
    for (auto& rrset : node.rrsets) {
      for (auto& rd : rrset.rdata) {
        if (!rd.has_target) continue;
        rd.target_head = lookup_.find(dns::fold_wire_name(rd.target()));
      }
    }
  }
  nodes_.clear();
}

void Zone::sync_heads() {
  for (std::size_t i = 0; i < compiled_.size(); ++i) heads_[i]->service_index = compiled_[i].service_index;
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
