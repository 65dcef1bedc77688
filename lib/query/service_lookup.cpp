#include "query/service_lookup.hpp"

#include "dns/constants.hpp"
#include "dns/name.hpp"

namespace meridian::query {

namespace {
const zone::NodeHead* find_node(const zone::Zone& zone, std::string_view name) {
  if (const zone::NodeHead* n = zone.find(name)) return n;
  // Closest encloser, then its wildcard.
  for (std::string_view up = dns::parent_name(name); up.size() >= zone.origin().size(); up = dns::parent_name(up)) {
    if (zone.find(up)) {
      std::string wild("\x01*", 2);
      wild.append(up);
      return zone.find(wild);
    }
    if (up.size() == zone.origin().size()) break;
  }
  return nullptr;
}
}  // namespace

ServiceLookup find_service(const zone::ZoneSet& zones, std::string_view lower_wire_name) {
  ServiceLookup out;
  std::string name(lower_wire_name);
  for (int hop = 0; hop < 12; ++hop) {
    dns::NameBuffer buf;
    std::size_t pos = 0;
    if (dns::read_name(reinterpret_cast<const uint8_t*>(name.data()), name.size(), pos, buf, true) != dns::NameStatus::ok) {
      out.error = "bad name";
      return out;
    }
    const zone::Zone* zone = zones.find_zone(buf.view(), buf.label_offsets, buf.labels);
    if (!zone) {
      out.error = dns::name_to_text(name) + " is not in any zone served here";
      return out;
    }
    if (!zone->available()) {
      out.error = dns::name_to_text(name) + " is in zone " + dns::name_to_text(zone->origin()) +
                  ", whose file did not load";
      return out;
    }
    const zone::NodeHead* node = find_node(*zone, buf.view());
    if (!node) {
      out.error = dns::name_to_text(name) + " does not exist";
      return out;
    }
    if (node->service_index >= 0) {
      out.service = node->service_index;
      out.name = name;
      return out;
    }
    const zone::NodeHead::Entry* cname = node->find(dns::type::CNAME);
    if (!cname) {
      out.error = dns::name_to_text(name) + " is a static name (no service)";
      return out;
    }
    name = dns::fold_wire_name(node->rrset(*cname).rdata.front().wire);
  }
  out.error = "CNAME chain too long";
  return out;
}

}  // namespace meridian::query
