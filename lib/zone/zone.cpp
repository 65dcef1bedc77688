#include "zone/zone.hpp"

#include <algorithm>

#include "dns/constants.hpp"
#include "dns/name.hpp"

namespace meridian::zone {

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
  }
  const RRset* soa = apex_->find(dns::type::SOA);
  if (!soa || soa->rdata.size() != 1) return "the zone needs exactly one SOA record at its apex";
  if (!apex_->find(dns::type::NS)) return "the zone needs NS records at its apex";
  compile();
  soa_ = apex_->find(dns::type::SOA);
  const std::string& w = soa_->rdata.front().wire;
  const uint32_t minimum = dns::read_u32(reinterpret_cast<const uint8_t*>(w.data()) + w.size() - 4);
  negative_ttl_ = std::min(soa_->ttl, minimum);
  return {};
}

namespace {

std::string answer_image_of(const RRset& rrset) {
  std::string image;
  for (const auto& rd : rrset.rdata) {
    if (rd.compressible_count != 0 || rd.wire.size() > 0xFFFF) return {};
    uint8_t head[12];
    dns::write_u16(head, 0xC000 | dns::kHeaderSize);  // the question name
    dns::write_u16(head + 2, rrset.type);
    dns::write_u16(head + 4, dns::klass::IN);
    dns::write_u32(head + 6, rrset.ttl);
    dns::write_u16(head + 10, static_cast<uint16_t>(rd.wire.size()));
    image.append(reinterpret_cast<const char*>(head), sizeof head);
    image.append(rd.wire);
  }
  return image;
}

}  // namespace

void Zone::compile() {
  for (auto& [name, node] : nodes_)
    for (auto& rrset : node.rrsets) rrset.answer_image = answer_image_of(rrset);
  compiled_.reserve(nodes_.size());
  for (const auto& [name, node] : nodes_) {
    compiled_.push_back(node);  // a deep copy: its allocations come out in sequence
    lookup_.insert(&compiled_.back());  // reserve() above keeps these addresses stable
    if (name == origin_) apex_ = &compiled_.back();
  }
  for (auto& node : compiled_) {
    for (auto& rrset : node.rrsets) {
      for (auto& rd : rrset.rdata) {
        if (!rd.has_target) continue;
        rd.target_node = lookup_.find(dns::fold_wire_name(rd.target()));
      }
    }
  }
  nodes_.clear();
}

bool ZoneSet::add(std::unique_ptr<Zone> zone) {
  const unsigned labels = zone->origin_labels();
  zone->set_index(static_cast<unsigned>(zones_.size()));
  const auto [it, inserted] = zones_.try_emplace(zone->origin(), std::move(zone));
  if (!inserted) return false;
  lookup_.insert(it->second.get());
  min_labels_ = std::min(min_labels_, labels);
  max_labels_ = std::max(max_labels_, labels);
  return true;
}

const Zone* ZoneSet::find_zone(std::string_view name, const uint8_t* label_offsets, unsigned labels) const {
  if (zones_.empty() || labels < min_labels_) return nullptr;
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
  return lookup_.find(origin);
}

}  // namespace meridian::zone
