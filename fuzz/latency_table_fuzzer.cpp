// Latency tables (the latency policy's file): read into the "fast" service of
// fuzz/snapshot/meridian.json in place of its table, then compiled into its classes
// and address trie over the demo geodata, as a load would.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/json_source.hpp"
#include "routing/classifier.hpp"
#include "routing/policies/policy.hpp"
#include "snapshot_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace meridian;
  const runtime::LoadedState& state = fuzz::snapshot_state();
  const routing::ServiceSet& set = *state.services;
  std::optional<config::JsonSource> table;
  try {
    table.emplace(config::JsonSource::parse(std::string(reinterpret_cast<const char*>(data), size), "latency.json"));
  } catch (const config::LoadError&) {
    return 0;
  }
  std::vector<routing::Service> services{set.services[static_cast<std::size_t>(set.find("fast"))]};
  services[0].latency_rows.clear();
  std::vector<std::vector<routing::ClientKey>> keys(1);
  config::Diagnostics diagnostics;
  const std::string base_dir = MERIDIAN_SOURCE_DIR "/fuzz/snapshot";
  const std::string no_default;
  const config::JsonSource config = config::JsonSource::parse("{}", "meridian.json");
  const routing::policies::ReadContext context{config, base_dir, no_default, diagnostics};
  routing::policies::read_latency_table(context, *table, services[0], keys[0]);
  if (!diagnostics.empty()) return 0;
  routing::compile_classes(services, keys, set.geo, {0});
  return 0;
}
