// Health override files (README "Health"): keys checked against the services of
// fuzz/snapshot/meridian.json, then the overrides applied to a routing table as a
// reload would (runtime::make_snapshot with that health).
#include <cstdint>
#include <map>
#include <string>

#include "config/diagnostics.hpp"
#include "health/health_snapshot.hpp"
#include "health/overrides.hpp"
#include "snapshot_state.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  using namespace meridian;
  const runtime::LoadedState& state = fuzz::snapshot_state();
  config::Diagnostics diagnostics;
  health::OverrideMap overrides;
  health::load_override_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz.json",
                             runtime::health_key_validator(*state.services), overrides, diagnostics);
  if (!diagnostics.empty() || overrides.empty()) return 0;
  const health::HealthSnapshot health(std::move(overrides), {});
  runtime::make_snapshot(state.config, state.cookies, state.zones, state.services, health);
  return 0;
}
