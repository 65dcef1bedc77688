#include "runtime/state_loader.hpp"

#include "config/json_source.hpp"
#include "zone/zone_directory.hpp"

namespace meridian::runtime {

std::optional<LoadedState> load_state(const std::string& config_path, config::Diagnostics& diagnostics) {
  const std::size_t errors_before = diagnostics.size();
  std::optional<config::JsonSource> source;
  try {
    source.emplace(config::JsonSource::load_file(config_path));
  } catch (const config::LoadError& e) {
    diagnostics.append(e.diagnostics());
    return std::nullopt;
  }
  LoadedState state;
  state.config = config::read_server_config(*source, diagnostics);
  state.config.source = nullptr;  // the JsonSource does not outlive this call

  auto zones = zone::load_zones(state.config.zone_paths, diagnostics);
  auto snapshot = std::make_shared<query::Snapshot>();
  snapshot->zones = std::move(zones);
  const auto& dns = state.config.dns;
  snapshot->max_udp_payload = dns.max_udp_payload;
  snapshot->identity.nsid = dns.nsid;
  snapshot->identity.chaos_version = dns.chaos_version.has_value();
  snapshot->identity.version = dns.chaos_version.value_or("");
  snapshot->identity.chaos_identity = dns.chaos_identity.has_value();
  snapshot->identity.identity = dns.chaos_identity.value_or("");
  if (diagnostics.size() != errors_before) return std::nullopt;
  state.snapshot = std::move(snapshot);
  return state;
}

}  // namespace meridian::runtime
