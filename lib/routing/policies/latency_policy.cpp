// "latency": a table of measured RTTs per client key and region; regions sorted
// by RTT, those within tolerance_ms of a tier's best sharing the tier.
#include <algorithm>
#include <limits>
#include <optional>

#include "config/json_object_reader.hpp"
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
  read_latency_table(context, *table, s, keys);
}

}  // namespace

void read_latency_table(const ReadContext& context, const config::JsonSource& table, Service& s,
                        std::vector<ClientKey>& keys) {
  // A file of its own: errors at its positions. Its keys are not checked (they never were).
  config::DiagnosticsSink sink(table, context.diagnostics);
  config::JsonObjectReader top(table.root(), Pointer(), sink);
  const nlohmann::json* regions = top.find("regions");
  const nlohmann::json* rows = top.find("rows");
  if (!regions || !regions->is_array() || !rows || !rows->is_object()) {
    top.error("a latency table is {\"regions\": [...], \"rows\": {KEY: [RTT, ...]}}");
    return;
  }
  // Column -> service region (or -1 for regions the service does not have).
  std::vector<int> column;
  for (const auto& name : *regions) column.push_back(name.is_string() ? s.region_index(name.get<std::string>()) : -1);
  for (const auto& [key, row] : rows->items()) {
    const Pointer rat = Pointer("/rows") / key;
    if (!row.is_array() || row.size() != column.size()) {
      sink.report(rat, "a row has one RTT (ms) per region in \"regions\"", false);
      continue;
    }
    std::vector<double> rtt(s.regions.size(), -1);
    bool ok = true;
    for (std::size_t c = 0; c < column.size(); ++c) {
      if (!row[c].is_number() || row[c].get<double>() < 0) {
        sink.report(rat / std::to_string(c), "an RTT is a non-negative number of milliseconds", false);
        ok = false;
      } else if (column[c] >= 0) {
        rtt[static_cast<std::size_t>(column[c])] = row[c].get<double>();
      }
    }
    if (ok && read_client_key(context, table, key, rat, keys)) s.latency_rows.emplace_back(key, std::move(rtt));
  }
}

namespace {

void read(const ReadContext& context, const nlohmann::json& def, const Pointer& at, Service& s,
          std::vector<ClientKey>& keys) {
  // The services loader reports the service's unknown keys; this reads the policy's own.
  config::DiagnosticsSink sink(context.source, context.diagnostics);
  config::JsonObjectReader service(def, at, sink);
  std::string path = context.default_latency;
  std::string written;
  if (service.string("latency", written, config::KeyRules::optional("\"latency\" is the path of a latency table file")) &&
      service.contains("latency"))
    path = config::resolve_path(context.base_dir, written);
  service.number("tolerance_ms", s.tolerance_ms, 0, std::numeric_limits<double>::max(),
                 config::KeyRules::optional("\"tolerance_ms\" is a non-negative number"));
  if (path.empty()) service.error("policy \"latency\" needs a latency table: \"latency\": PATH here or at the top level");
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

void compile(Service& s, const std::vector<ClientKey>& keys, uint32_t all_regions, ClassPlan& plan) {
  compile_by_keys(s, keys, all_regions, plan, [&](std::size_t key) { return by_rtt(s, s.latency_rows[key].second); });
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
