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
  for (auto& [name, node] : nodes_) {
    std::sort(node.rrsets.begin(), node.rrsets.end(),
              [](const RRset& a, const RRset& b) { return a.type < b.type; });
    node.is_delegation = &node != apex_ && node.find(dns::type::NS) != nullptr;
  }
  for (auto& [name, node] : nodes_) {
    for (auto& rrset : node.rrsets) {
      for (auto& rd : rrset.rdata) {
        if (!rd.has_target) continue;
        const std::string target = dns::fold_wire_name(rd.target());
        const auto it = nodes_.find(target);
        rd.target_node = it == nodes_.end() ? nullptr : &it->second;
      }
    }
  }
  soa_ = apex_->find(dns::type::SOA);
  if (!soa_ || soa_->rdata.size() != 1) return "the zone needs exactly one SOA record at its apex";
  if (!apex_->find(dns::type::NS)) return "the zone needs NS records at its apex";
  const std::string& w = soa_->rdata.front().wire;
  const uint32_t minimum = dns::read_u32(reinterpret_cast<const uint8_t*>(w.data()) + w.size() - 4);
  negative_ttl_ = std::min(soa_->ttl, minimum);
  return {};
}

bool ZoneSet::add(std::unique_ptr<Zone> zone) {
  const unsigned labels = zone->origin_labels();
  zone->set_index(static_cast<unsigned>(zones_.size()));
  const auto [it, inserted] = zones_.try_emplace(zone->origin(), std::move(zone));
  if (!inserted) return false;
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
    const auto it = zones_.find(name.substr(off));
    if (it != zones_.end()) return it->second.get();
  }
  return nullptr;
}

const Zone* ZoneSet::find_exact(std::string_view origin) const {
  const auto it = zones_.find(origin);
  return it == zones_.end() ? nullptr : it->second.get();
}

}  // namespace meridian::zone
