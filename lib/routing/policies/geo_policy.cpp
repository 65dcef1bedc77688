// "geo": a map from client keys (country, continent, ASN, network...) to an
// ordered list of regions.
#include "config/json_object_reader.hpp"
#include "routing/policies/policy.hpp"

namespace meridian::routing::policies {

namespace {

constexpr std::string_view kKeys[] = {"geo"};

void read(const ReadContext& context, const nlohmann::json& def, const Pointer& at, Service& s,
          std::vector<ClientKey>& keys) {
  config::DiagnosticsSink sink(context.source, context.diagnostics);
  config::JsonObjectReader service(def, at, sink);
  const nlohmann::json* geo = service.find("geo");
  if (!geo || !geo->is_object()) {
    service.error("policy \"geo\" needs \"geo\": {KEY: [regions...], \"default\": [...]}");
    return;
  }
  for (const auto& [key, list] : geo->items()) {
    const Pointer kat = at / "geo" / key;
    auto regions = read_region_list(context, s, list, kat);
    if (!regions.empty() && read_client_key(context, context.source, key, kat, keys))
      s.geo_map.emplace_back(key, std::move(regions));
  }
}

void compile(Service& s, const std::vector<ClientKey>& keys, uint32_t all_regions, ClassPlan& plan) {
  compile_by_keys(s, keys, all_regions, plan, [&](std::size_t key) { return ordered_preference(s.geo_map[key].second); });
}

}  // namespace

extern const Policy geo_policy;  // listed in policy_table.cpp
const Policy geo_policy{
    .name = "geo",
    .keys = kKeys,
    .read = read,
    .compile = compile,
    .explain_match = explain_matched_key,
};

}  // namespace meridian::routing::policies
