#include <algorithm>
#include <numeric>

#include "routing/policies/policy.hpp"

namespace meridian::routing::policies {

void ReadContext::error(const Pointer& at, const std::string& message) const {
  diagnostics.add(source.error_at(at, message));
}

std::vector<uint16_t> read_region_list(const ReadContext& context, const Service& s, const nlohmann::json& list,
                                       const Pointer& at) {
  std::vector<uint16_t> out;
  if (!list.is_array() || list.empty()) {
    context.error(at, "expected a non-empty array of region names");
    return out;
  }
  for (std::size_t i = 0; i < list.size(); ++i) {
    const int r = list[i].is_string() ? s.region_index(list[i].get<std::string>()) : -1;
    if (r < 0) context.error(at / std::to_string(i), "unknown region " + list[i].dump() + " in service \"" + s.name + "\"");
    else if (std::find(out.begin(), out.end(), static_cast<uint16_t>(r)) != out.end())
      context.error(at / std::to_string(i), "region " + list[i].dump() + " is listed twice");
    else out.push_back(static_cast<uint16_t>(r));
  }
  return out;
}

bool read_client_key(const ReadContext& context, const config::JsonSource& source, const std::string& text,
                     const Pointer& at, std::vector<ClientKey>& keys) {
  std::string problem;
  auto k = parse_client_key(text, problem);
  if (!k) {
    context.diagnostics.add(source.error_at(at, problem, true));
    return false;
  }
  keys.push_back(*k);
  return true;
}

uint32_t intern_class(std::vector<Preference>& classes, Preference p) {
  for (std::size_t i = 0; i < classes.size(); ++i)
    if (classes[i] == p) return static_cast<uint32_t>(i);
  classes.push_back(std::move(p));
  return static_cast<uint32_t>(classes.size() - 1);
}

ClassInterner::ClassInterner(std::vector<Preference>& classes) : classes_(classes) {}

uint32_t ClassInterner::operator()(Preference p) {
  std::vector<uint16_t> flat;
  for (const Tier& t : p.tiers) {
    flat.insert(flat.end(), t.regions.begin(), t.regions.end());
    flat.push_back(0xFFFF);
  }
  const auto it = index_.find(flat);
  if (it != index_.end()) return it->second;
  const uint32_t c = intern_class(classes_, std::move(p));  // may be a class interned before this index
  index_.emplace(std::move(flat), c);
  return c;
}

std::function<uint32_t(const geo::GeoRecord&)> record_classifier(const std::vector<ClientKey>& keys,
                                                                 const std::vector<uint32_t>& key_class,
                                                                 uint32_t no_record) {
  const bool reads_records = std::any_of(keys.begin(), keys.end(), [](const ClientKey& k) {
    return k.kind != ClientKey::by_net && k.kind != ClientKey::by_default;
  });
  if (!reads_records) return {};
  return [&keys, key_class, no_record](const geo::GeoRecord& r) {
    const int k = match_record(keys, r);
    return k >= 0 ? key_class[static_cast<std::size_t>(k)] : no_record;
  };
}

Preference ordered_preference(const std::vector<uint16_t>& regions) {
  Preference p;
  for (uint16_t r : regions) p.tiers.push_back(Tier{{r}});
  return p;
}

std::vector<uint16_t> all_region_indexes(const Service& s) {
  std::vector<uint16_t> v(s.regions.size());
  std::iota(v.begin(), v.end(), 0);
  return v;
}

void explain_matched_key(const Service&, const std::vector<ClientKey>& keys, const KeyMatch& m,
                         nlohmann::ordered_json& report) {
  report["matched_key"] = m.key >= 0 ? keys[static_cast<std::size_t>(m.key)].text : "(none: regions in configuration order)";
}

}  // namespace meridian::routing::policies
