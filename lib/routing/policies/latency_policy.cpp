// "latency": a table of measured RTTs per client key and region; regions sorted
// by RTT, those within tolerance_ms of a tier's best sharing the tier.
#include <algorithm>
#include <optional>

#include "config/path.hpp"
#include "routing/policies/policy.hpp"

namespace meridian::routing::policies {

namespace {

constexpr std::string_view kKeys[] = {"latency", "tolerance_ms"};

void read_table(const ReadContext& context, Service& s, const std::string& path, const Pointer& at,
                std::vector<ClientKey>& keys) {
  std::optional<config::JsonSource> table;
  try {
    table.emplace(config::JsonSource::load_file(path));
  } catch (const config::LoadError& e) {
    context.diagnostics.append(e.diagnostics());
    context.error(at, "cannot load the latency table " + path);
    return;
  }
  const nlohmann::json& root = table->root();
  if (!root.is_object() || !root.contains("regions") || !root["regions"].is_array() || !root.contains("rows") ||
      !root["rows"].is_object()) {
    context.diagnostics.add(table->error_at(Pointer(), "a latency table is {\"regions\": [...], \"rows\": {KEY: [RTT, ...]}}"));
    return;
  }
  // Column -> service region (or -1 for regions the service does not have).
  std::vector<int> column;
  for (const auto& name : root["regions"]) column.push_back(name.is_string() ? s.region_index(name.get<std::string>()) : -1);
  for (const auto& [key, row] : root["rows"].items()) {
    const Pointer rat = Pointer("/rows") / key;
    if (!row.is_array() || row.size() != column.size()) {
      context.diagnostics.add(table->error_at(rat, "a row has one RTT (ms) per region in \"regions\""));
      continue;
    }
    std::vector<double> rtt(s.regions.size(), -1);
    bool ok = true;
    for (std::size_t c = 0; c < column.size(); ++c) {
      if (!row[c].is_number() || row[c].get<double>() < 0) {
        context.diagnostics.add(table->error_at(rat / std::to_string(c), "an RTT is a non-negative number of milliseconds"));
        ok = false;
      } else if (column[c] >= 0) {
        rtt[static_cast<std::size_t>(column[c])] = row[c].get<double>();
      }
    }
    if (ok && read_client_key(context, *table, key, rat, keys)) s.latency_rows.emplace_back(key, std::move(rtt));
  }
}

void read(const ReadContext& context, const nlohmann::json& def, const Pointer& at, Service& s,
          std::vector<ClientKey>& keys) {
  std::string path = context.default_latency;
  if (def.contains("latency")) {
    if (!def["latency"].is_string()) context.error(at / "latency", "\"latency\" is the path of a latency table file");
    else path = config::resolve_path(context.base_dir, def["latency"].get<std::string>());
  }
  if (def.contains("tolerance_ms")) {
    if (!def["tolerance_ms"].is_number() || def["tolerance_ms"].get<double>() < 0)
      context.error(at / "tolerance_ms", "\"tolerance_ms\" is a non-negative number");
    else s.tolerance_ms = def["tolerance_ms"].get<double>();
  }
  if (path.empty()) context.error(at, "policy \"latency\" needs a latency table: \"latency\": PATH here or at the top level");
  else read_table(context, s, path, at, keys);
  s.latency_path = path;
}

Preference by_rtt(const Service& s, const std::vector<double>& rtt) {
  std::vector<uint16_t> order;
  for (uint16_t r = 0; r < s.regions.size(); ++r)
    if (r < rtt.size() && rtt[r] >= 0) order.push_back(r);
  std::stable_sort(order.begin(), order.end(), [&](uint16_t a, uint16_t b) { return rtt[a] < rtt[b]; });
  Preference p;
  for (std::size_t i = 0; i < order.size();) {
    Tier t;
    const double best = rtt[order[i]];
    while (i < order.size() && rtt[order[i]] <= best + s.tolerance_ms) t.regions.push_back(order[i++]);
    p.tiers.push_back(std::move(t));
  }
  return p;
}

void compile(Service& s, const std::vector<ClientKey>& keys, const GeoSources& geo, uint32_t all_regions) {
  compile_by_keys(s, keys, geo, all_regions, [&](std::size_t key) { return by_rtt(s, s.latency_rows[key].second); });
}

void explain_candidate(const Service& s, const KeyMatch& m, uint16_t region, nlohmann::ordered_json& candidate) {
  if (m.key >= 0 && static_cast<std::size_t>(m.key) < s.latency_rows.size())
    candidate["rtt_ms"] = s.latency_rows[static_cast<std::size_t>(m.key)].second[region];
}

}  // namespace

extern const Policy latency_policy;  // listed in policy_table.cpp
const Policy latency_policy{
    .name = "latency",
    .keys = kKeys,
    .read = read,
    .compile = compile,
    .explain_match = explain_matched_key,
    .explain_candidate = explain_candidate,
};

}  // namespace meridian::routing::policies
