#include "zone/master_import.hpp"

#include <ldns/ldns.h>

#include <cstdio>
#include <map>
#include <memory>
#include <vector>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "zone/rdata_codec.hpp"

namespace meridian::zone {

namespace {

struct RdfDeleter {
  void operator()(ldns_rdf* r) const { ldns_rdf_deep_free(r); }
};
struct ZoneDeleter {
  void operator()(ldns_zone* z) const { ldns_zone_deep_free(z); }
};
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};

std::string rdf_text(const ldns_rdf* rdf) {
  char* s = ldns_rdf2str(rdf);
  std::string out = s ? s : "";
  free(s);
  return out;
}

std::string rdata_text(const ldns_rr* rr) {
  std::string out;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    if (i) out += ' ';
    out += rdf_text(ldns_rr_rdf(rr, i));
  }
  return out;
}

// The rdata as the JSON loader will read it: ldns's presentation form when
// parse_rdata reads that back to the same bytes, else RFC 3597 generic form
// (empty rdata, unknown types, forms ldns prints but cannot read). Sets error
// when the loader would refuse even that (an A record with empty rdata).
std::string loadable_rdata_text(const ldns_rr* rr, const std::string& owner, const std::string& origin,
                                std::string& error) {
  const auto type = static_cast<uint16_t>(ldns_rr_get_type(rr));
  std::string wire;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    wire.append(reinterpret_cast<const char*>(ldns_rdf_data(rdf)), ldns_rdf_size(rdf));
  }
  const std::string text = rdata_text(rr);
  if (!text.empty()) {
    const ParsedRdata parsed = parse_rdata(type, text, owner, origin);
    if (parsed.error.empty() && parsed.rdata.wire == wire) return text;
  }
  const std::string generic = generic_rdata_text(wire);
  const ParsedRdata parsed = parse_rdata(type, generic, owner, origin);
  if (!parsed.error.empty()) error = parsed.error;
  else if (parsed.rdata.wire != wire) error = "the loader would read other rdata from \"" + generic + "\"";
  return generic;
}

std::string owner_of(const ldns_rr* rr) {
  const ldns_rdf* owner = ldns_rr_owner(rr);
  return dns::fold_wire_name({reinterpret_cast<const char*>(ldns_rdf_data(owner)), ldns_rdf_size(owner)});
}

// "@" for the apex, the relative name below it.
std::string relative_name(const std::string& owner, const std::string& origin) {
  if (owner == origin) return "@";
  std::string text = dns::name_to_text(owner);
  const std::string origin_text = dns::name_to_text(origin);
  if (origin_text != "." && text.size() > origin_text.size())
    return text.substr(0, text.size() - origin_text.size() - 1);
  return text;
}

struct ImportedRRset {
  uint32_t ttl = 0;
  std::vector<std::string> data;
};

}  // namespace

nlohmann::ordered_json import_master_file(const std::string& path, const std::string& origin_text,
                                          config::Diagnostics& diagnostics) {
  nlohmann::ordered_json out;
  std::string origin_dotted = origin_text;
  if (origin_dotted.empty() || origin_dotted.back() != '.') origin_dotted += '.';
  const auto origin_wire = dns::name_from_text(origin_dotted);
  if (!origin_wire) {
    diagnostics.add(path, 0, 0, "\"" + origin_text + "\" is not a valid zone origin");
    return out;
  }
  const std::string origin = dns::fold_wire_name(*origin_wire);
  std::unique_ptr<FILE, FileCloser> file(std::fopen(path.c_str(), "r"));
  if (!file) {
    diagnostics.add(path, 0, 0, "cannot open file");
    return out;
  }
  std::unique_ptr<ldns_rdf, RdfDeleter> origin_rdf(ldns_dname_new_frm_str(origin_dotted.c_str()));
  ldns_zone* raw = nullptr;
  int line = 0;
  const ldns_status status =
      ldns_zone_new_frm_fp_l(&raw, file.get(), origin_rdf.get(), 3600, LDNS_RR_CLASS_IN, &line);
  std::unique_ptr<ldns_zone, ZoneDeleter> zone(raw);
  if (status != LDNS_STATUS_OK) {
    diagnostics.add(path, static_cast<std::size_t>(line), 1, std::string("cannot parse master file: ") +
                                                                 ldns_get_errorstr_by_id(status));
    return out;
  }

  std::vector<const ldns_rr*> all;
  if (ldns_zone_soa(zone.get())) all.push_back(ldns_zone_soa(zone.get()));
  const ldns_rr_list* rrs = ldns_zone_rrs(zone.get());
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(rrs); ++i) all.push_back(ldns_rr_list_rr(rrs, i));

  // The most common TTL becomes the zone default; others are written per RRset.
  std::map<uint32_t, std::size_t> ttl_use;
  for (const ldns_rr* rr : all) ++ttl_use[ldns_rr_ttl(rr)];
  uint32_t default_ttl = 3600;
  std::size_t best = 0;
  for (const auto& [ttl, n] : ttl_use)
    if (n > best) best = n, default_ttl = ttl;

  // Owners in first-seen order, then types in first-seen order.
  // Types a zone cannot hold: DNSSEC data of a signed zone is left out (meridian
  // does not sign), counted per type; meta types are errors.
  std::map<uint16_t, std::pair<std::size_t, std::string>> left_out;  // count, first owner
  std::vector<std::string> owner_order;
  std::map<std::string, std::vector<std::pair<uint16_t, ImportedRRset>>> by_owner;
  const ldns_rr* soa = nullptr;
  for (const ldns_rr* rr : all) {
    const std::string owner = owner_of(rr);
    if (!dns::is_subdomain(owner, origin)) {
      diagnostics.add(path, 0, 0, "record " + dns::name_to_text(owner) + " is outside the zone " + origin_dotted);
      continue;
    }
    const uint16_t type = ldns_rr_get_type(rr);
    if (!storable_type(type)) {
      if (type == dns::type::RRSIG || type == dns::type::NSEC) {
        auto& [count, first] = left_out[type];
        if (count++ == 0) first = dns::name_to_text(owner);
      } else {
        diagnostics.add(path, 0, 0, "record " + dns::name_to_text(owner) + " " + rr_type_name(type) +
                                        ": type " + rr_type_name(type) + " cannot be stored in a zone");
      }
      continue;
    }
    if (type == dns::type::SOA) {
      if (owner != origin) diagnostics.add(path, 0, 0, "SOA record not at the zone apex");
      else if (!soa) soa = rr;
      continue;
    }
    auto [it, inserted] = by_owner.try_emplace(owner);
    if (inserted) owner_order.push_back(owner);
    auto& sets = it->second;
    auto set = std::find_if(sets.begin(), sets.end(), [&](const auto& p) { return p.first == type; });
    if (set == sets.end()) {
      sets.push_back({type, ImportedRRset{ldns_rr_ttl(rr), {}}});
      set = sets.end() - 1;
    }
    // RFC 2181 5.2: one TTL per RRset; keep the lowest when a file disagrees.
    if (ldns_rr_ttl(rr) < set->second.ttl) set->second.ttl = ldns_rr_ttl(rr);
    std::string error;
    set->second.data.push_back(loadable_rdata_text(rr, owner, origin, error));
    if (!error.empty())
      diagnostics.add(path, 0, 0, "record " + dns::name_to_text(owner) + " " + rr_type_name(type) + ": " + error);
  }
  for (const auto& [type, use] : left_out)
    diagnostics.add_warning({path, 0, 0,
                             std::to_string(use.first) + " " + rr_type_name(type) + " record" +
                                 (use.first == 1 ? "" : "s") + " (the first at " + use.second +
                                 ") left out: meridian does not serve DNSSEC signatures or denial records"});

  out["origin"] = origin_dotted;
  out["ttl"] = default_ttl;
  if (soa) {
    nlohmann::ordered_json s;
    s["mname"] = rdf_text(ldns_rr_rdf(soa, 0));
    s["rname"] = rdf_text(ldns_rr_rdf(soa, 1));
    static const char* const kNumbers[] = {"serial", "refresh", "retry", "expire", "minimum"};
    for (int i = 0; i < 5; ++i) s[kNumbers[i]] = ldns_rdf2native_int32(ldns_rr_rdf(soa, 2 + i));
    if (ldns_rr_ttl(soa) != default_ttl) s["ttl"] = ldns_rr_ttl(soa);
    out["soa"] = s;
  } else {
    diagnostics.add(path, 0, 0, "the master file has no SOA record");
  }
  nlohmann::ordered_json records = nlohmann::ordered_json::object();
  for (const auto& owner : owner_order) {
    nlohmann::ordered_json types = nlohmann::ordered_json::object();
    for (const auto& [type, set] : by_owner[owner]) {
      nlohmann::ordered_json data = set.data.size() == 1 ? nlohmann::ordered_json(set.data.front())
                                                         : nlohmann::ordered_json(set.data);
      if (set.ttl != default_ttl) data = {{"ttl", set.ttl}, {"data", data}};
      types[rr_type_name(type)] = data;
    }
    // Owners are unique here, so append without ordered_json's by-key search,
    // which is linear per insert and made a large zone's import quadratic.
    auto& members = static_cast<nlohmann::ordered_json::object_t::Container&>(
        records.get_ref<nlohmann::ordered_json::object_t&>());
    members.emplace_back(relative_name(owner, origin), std::move(types));
  }
  out["records"] = records;
  return out;
}

}  // namespace meridian::zone
