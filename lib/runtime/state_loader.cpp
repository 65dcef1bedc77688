#include "runtime/state_loader.hpp"

#include <algorithm>
#include <cstdint>

#include "config/json_source.hpp"
#include "dns/name.hpp"
#include "forward/settings.hpp"
#include "runtime/zone_loading.hpp"

namespace meridian::runtime {

namespace {

// Every region's "check" must name a defined check that can reach its targets.
void validate_checks(const config::JsonSource& source, const routing::ServiceSet& services, const health::CheckMap& checks,
                     config::Diagnostics& diagnostics) {
  for (const auto& s : services.services) {
    for (const auto& r : s.regions) {
      if (r.check.empty()) continue;
      const auto at = nlohmann::json::json_pointer("/services") / s.name / "regions" / r.name / "check";
      const auto it = checks.find(r.check);
      if (it == checks.end()) {
        diagnostics.add(source.error_at(at, "unknown check \"" + r.check + "\" (define it in \"checks\")"));
        continue;
      }
      if (r.backends.empty() && it->second.kind == health::CheckConfig::tcp && it->second.port == 0)
        diagnostics.add(source.error_at(at, "check \"" + r.check + "\" probes this region's endpoints, which have no port: "
                                            "give the check a \"port\""));
    }
  }
}

// Regions' "forward", read here once by the forwarding tier's rules, with the
// "backends" the services loader read; the regions that forward, for the tier.
forward::ForwardingPlan read_forwarding(const config::JsonSource& source, const routing::ServiceSet& services,
                                        const std::string& base_dir, config::Diagnostics& diagnostics) {
  forward::ForwardingPlan plan;
  for (const auto& s : services.services) {
    for (const auto& r : s.regions) {
      const auto at = nlohmann::json::json_pointer("/services") / s.name / "regions" / r.name;
      const nlohmann::json& region = source.root().at(at);  // there: the service was loaded from it
      if (!region.contains("forward") && !region.contains("backends")) continue;
      forward::ForwardedRegion f{s.name, r.name, {}};
      const bool ok =
          forward::parse_region(region, r.backends, f.settings, [&](const nlohmann::json::json_pointer& relative, const std::string& message) {
            diagnostics.add(source.error_at(at / relative, message));
          }, base_dir);
      // Valid "forward" has "l4" and/or "l7" and non-empty "backends".
      if (ok && (f.settings.l4 || f.settings.l7)) plan.push_back(std::move(f));
    }
  }
  return plan;
}

}  // namespace

std::vector<health::CheckTarget> check_targets(const routing::ServiceSet& services, const health::CheckMap& checks) {
  std::vector<health::CheckTarget> out;
  for (const auto& s : services.services) {
    for (const auto& r : s.regions) {
      const auto it = checks.find(r.check);
      if (it == checks.end()) continue;
      const health::CheckConfig& c = it->second;
      auto endpoint = [&](const std::string& host, uint16_t port) {
        return boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address(host), c.port ? c.port : port);
      };
      // A region behind a forwarder is checked through its backends, else its endpoints.
      if (!r.backends.empty()) {
        for (const auto& b : r.backends) out.push_back({r.backend_key(s.name, b).to_string(), endpoint(b.host, b.port), c});
      } else {
        for (const auto& e : r.endpoints) out.push_back({r.endpoint_key(s.name, e).to_string(), endpoint(e.address_text, health::endpoint_default_port(c)), c});
      }
    }
  }
  return out;
}

health::KeyValidator health_key_validator(const routing::ServiceSet& services) {
  return [&services](const std::string& text) -> std::string {
    const auto key = health::HealthKey::parse(text);
    if (!key) return "\"" + text + "\": keys are service/region or service/region/endpoint";
    const int s = services.find(key->service());
    if (s < 0) return "unknown service \"" + key->service() + "\"";
    const routing::Service& svc = services.services[static_cast<std::size_t>(s)];
    const int r = svc.region_index(key->region_name());
    if (r < 0) return "service \"" + key->service() + "\" has no region \"" + key->region_name() + "\"";
    const routing::Region& region = svc.regions[static_cast<std::size_t>(r)];
    const std::string region_text = key->region_key().to_string();
    switch (key->kind()) {
      case health::HealthKey::Kind::region: return "";
      case health::HealthKey::Kind::backend:
        for (const auto& b : region.backends)
          if (b.address == key->address()) return "";
        return "region \"" + region_text + "\" has no backend/" + key->address();
      case health::HealthKey::Kind::endpoint:
        for (const auto& ep : region.endpoints)
          if (ep.address_text == key->address()) return "";
        return "region \"" + region_text + "\" has no endpoint \"" + key->address() + "\"";
    }
    return "";
  };
}

std::optional<health::OverrideMap> load_health_overrides(const std::string& dir, const routing::ServiceSet& services,
                                                         config::Diagnostics& diagnostics,
                                                         health::BadOverrideFile bad_file) {
  const std::size_t before = diagnostics.size();
  auto overrides = health::load_overrides(dir, health_key_validator(services), diagnostics, bad_file);
  if (diagnostics.size() != before) return std::nullopt;
  return overrides;
}

std::shared_ptr<const query::Snapshot> make_snapshot(const config::ServerConfig& config,
                                                     const cookies::CookiePolicy& cookie_policy,
                                                     std::shared_ptr<const zone::ZoneSet> zones,
                                                     std::shared_ptr<const routing::ServiceSet> services,
                                                     const health::HealthSnapshot& health,
                                                     const routing::RampShares& ramps,
                                                     std::shared_ptr<const routing::RoutingTable> routing,
                                                     std::vector<std::shared_ptr<const zone::ZoneSignatures>> signatures,
                                                     std::shared_ptr<const zone::AnswerSignatures> answer_signatures) {
  auto snapshot = std::make_shared<query::Snapshot>();
  snapshot->signatures = std::move(signatures);
  snapshot->answer_signatures = std::move(answer_signatures);
  snapshot->zones = std::move(zones);
  if (routing) snapshot->routing = std::move(routing);
  else if (services) snapshot->routing = std::make_shared<routing::RoutingTable>(std::move(services), health, ramps);
  const auto& dns = config.dns;
  snapshot->max_udp_payload = dns.max_udp_payload;
  snapshot->online_signatures_per_second = dns.online_signatures_per_second;
  snapshot->tcp_keepalive = static_cast<uint16_t>(std::min<int64_t>(dns.tcp_idle_timeout.count() / 100, 0xFFFF));
  for (const auto& net : dns.explain_allow) {
    std::string ignored;
    if (auto key = routing::parse_client_key("net:" + net, ignored)) snapshot->explain_allow.push_back(*key);
  }
  snapshot->identity.nsid = dns.nsid;
  snapshot->identity.chaos_version = dns.chaos_version.has_value();
  snapshot->identity.version = dns.chaos_version.value_or("");
  snapshot->identity.chaos_identity = dns.chaos_identity.has_value();
  snapshot->identity.identity = dns.chaos_identity.value_or("");
  snapshot->cookies = cookie_policy;
  if (dns.rrl) snapshot->rrl = rrl::make_policy(*dns.rrl);
  for (const auto& key : config.tsig) snapshot->tsig_keys.push_back({key.name, key.algorithm, key.secret});
  return snapshot;
}

std::optional<LoadedState> load_state(const std::string& config_path, config::Diagnostics& diagnostics,
                                      const LoadOptions& options) {
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
  const LoadedState* previous = options.previous;
  routing::ServiceBuildCounts service_counts;
  std::shared_ptr<const routing::ServiceSet> services = routing::load_services(
      *source, state.config.base_dir, diagnostics, previous ? previous->services : nullptr, &service_counts);
  ZoneLoad zones = load_zones(state.config.zone_paths, *services,
                              previous && previous->zone_files ? previous->zone_files.get() : nullptr, diagnostics);
  auto checks = health::read_checks(*source, diagnostics, state.config.base_dir);
  validate_checks(*source, *services, checks, diagnostics);
  auto forwarding = read_forwarding(*source, *services, state.config.base_dir, diagnostics);
  auto overrides = load_health_overrides(state.config.health_dir, *services, diagnostics, options.bad_override_file);
  auto cookie_policy =
      cookies::load_cookie_policy(state.config.dns.cookies, previous ? &previous->cookies : nullptr, diagnostics);
  if (diagnostics.size() != errors_before || !overrides || !cookie_policy) {
    // The load fails for other reasons; the zones' own errors are reported with them.
    for (const auto& r : zones.reports)
      for (const auto& e : r.errors) diagnostics.add(e);
    return std::nullopt;
  }
  state.built = {zones.built, zones.reused, service_counts.compiled, service_counts.reused,
                 service_counts.databases_opened, service_counts.databases_reused};
  state.zones = std::move(zones.zones);
  state.zone_reports = std::make_shared<const std::vector<zone::ZoneReport>>(std::move(zones.reports));
  state.zone_files = std::make_shared<const std::vector<ZoneFileVersion>>(std::move(zones.files));
  state.services = std::move(services);
  state.forwarding = std::make_shared<const forward::ForwardingPlan>(std::move(forwarding));
  state.checks = std::move(checks);
  state.health = std::make_shared<health::HealthSnapshot>(std::move(*overrides), std::map<std::string, health::Status>{});
  state.cookies = *cookie_policy;
  if (options.build_snapshot)
    state.snapshot = make_snapshot(state.config, state.cookies, state.zones, state.services, *state.health);
  return state;
}

}  // namespace meridian::runtime
