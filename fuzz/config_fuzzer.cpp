// meridian.json: the server settings, services (geo, failover, weighted, closest and
// latency policies, compiled against the demo geodata), checks and each region's
// forwarding settings, as runtime::load_state reads them. Relative paths resolve
// against fuzz/snapshot/ (so "../../geodata/demo-city.mmdb" opens the demo database);
// inputs naming /dev, /proc or /sys are skipped, as reading those could block.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/diagnostics.hpp"
#include "config/json_source.hpp"
#include "config/server_config.hpp"
#include "forward/settings.hpp"
#include "health/checks/check_config.hpp"
#include "routing/service_set.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace meridian;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const std::string_view device : {"dev/", "proc/", "sys/"})
    if (text.find(device) != std::string_view::npos) return 0;
  config::Diagnostics diagnostics;
  std::optional<config::JsonSource> source;
  try {
    source.emplace(config::JsonSource::parse(std::string(text), "meridian.json"));
  } catch (const config::LoadError&) {
    return 0;
  }
  const config::ServerConfig server = config::read_server_config(*source, diagnostics);
  (void)server;
  const auto services = routing::load_services(*source, MERIDIAN_SOURCE_DIR "/fuzz/snapshot", diagnostics);
  health::read_checks(*source, diagnostics);
  // Each region's "forward" and "backends", as runtime's read_forwarding reads them.
  for (const auto& s : services->services)
    for (const auto& r : s.regions) {
      const auto at = nlohmann::json::json_pointer("/services") / s.name / "regions" / r.name;
      if (!source->root().contains(at)) continue;
      forward::RegionForward settings;
      forward::parse_region(source->root().at(at), r.backends, settings,
                            [&](const nlohmann::json::json_pointer& relative, const std::string& message) {
                              diagnostics.add(source->error_at(at / relative, message));
                            });
    }
  return 0;
}
