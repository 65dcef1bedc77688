#include "runtime/zone_loading.hpp"

#include <unordered_map>

#include "config/json_source.hpp"
#include "dns/name.hpp"
#include "util/log.hpp"
#include "zone/zone_directory.hpp"

namespace meridian::runtime {

namespace {

// Where a name's "service" is written in its zone file (read again: error path only).
config::Diagnostic service_position(const zone::Zone& z, const std::string& name, std::string message) {
  try {
    const auto src = config::JsonSource::load_file(z.source());
    if (src.root().contains("records") && src.root()["records"].is_object()) {
      for (const auto& [key, value] : src.root()["records"].items()) {
        (void)value;
        const auto wire = dns::name_from_text(key, z.origin());
        if (wire && dns::fold_wire_name(*wire) == name)
          return src.error_at(nlohmann::json::json_pointer("/records") / key / "service", std::move(message));
      }
    }
  } catch (const config::LoadError&) {
  }
  return {z.source(), 0, 0, std::move(message)};
}

// Links each dynamic name to its service slot; false (with errors) when a name
// uses a service that is not defined. stale: z is a last good version, whose
// file no longer says what it serves.
bool link_services(zone::Zone& z, const routing::ServiceSet& services, bool stale, config::Diagnostics& errors) {
  bool ok = true;
  z.for_each_node_mutable([&](zone::Node& node) {
    if (node.service.empty()) return;
    node.service_index = services.find(node.service);
    if (node.service_index >= 0) return;
    ok = false;
    const std::string what = dns::name_to_text(node.name) + " uses service \"" + node.service +
                             "\", which meridian.json does not define";
    if (stale)
      errors.add(z.source(), 0, 0, "the last good version of the zone is not served either: " + what);
    else
      errors.add(service_position(z, node.name, what));
  });
  return ok;
}

}  // namespace

ZoneLoad load_zones(const std::vector<std::string>& paths, const routing::ServiceSet& services,
                    const zone::ZoneSet* previous, config::Diagnostics& diagnostics) {
  ZoneLoad out;
  out.zones = std::make_shared<zone::ZoneSet>();
  std::unordered_map<std::string, const zone::Zone*> last_good;  // by file
  if (previous) previous->for_each_zone([&](const zone::Zone& z) { last_good.emplace(z.source(), &z); });
  std::unordered_map<std::string, std::string> served_from;  // origin -> file

  for (const auto& file : zone::list_zone_files(paths, diagnostics)) {
    zone::ZoneReport report;
    report.file = file;
    config::Diagnostics errors;
    zone::ZoneFile loaded = zone::load_zone_file(file, errors);
    report.origin = loaded.origin;
    std::unique_ptr<zone::Zone> zone = std::move(loaded.zone);
    if (zone && !link_services(*zone, services, false, errors)) zone.reset();
    report.state = zone ? zone::ZoneState::loaded : zone::ZoneState::error;
    if (!zone) {
      if (const auto it = last_good.find(file); it != last_good.end()) {
        zone = it->second->clone();
        if (zone && link_services(*zone, services, true, errors)) {
          report.state = zone::ZoneState::stale;
          report.origin = zone->origin();
        } else {
          zone.reset();
        }
      }
    }
    if (zone) {
      const std::string origin = zone->origin();
      const uint32_t serial = zone->serial();
      if (out.zones->add(std::move(zone))) {
        report.serial = serial;
        served_from.emplace(origin, file);
      } else {
        // The earlier file keeps the zone.
        errors.add(file, 0, 0, "zone " + dns::name_to_text(origin) + " is defined in more than one file (also in " +
                                   served_from[origin] + ", which is served)");
        report.state = zone::ZoneState::error;
      }
    }
    for (const auto& w : errors.warnings()) diagnostics.add_warning(w);
    report.errors = errors.items();
    out.reports.push_back(std::move(report));
  }
  // Names of a zone that is configured but not loaded are SERVFAIL, not answered
  // by a parent zone or REFUSED as if the zone were not ours.
  for (const auto& r : out.reports)
    if (r.state == zone::ZoneState::error && !r.origin.empty()) out.zones->add_unavailable(r.origin, r.file);
  return out;
}

std::size_t count_zone_failures(const std::vector<zone::ZoneReport>& reports) {
  std::size_t n = 0;
  for (const auto& r : reports) n += r.state != zone::ZoneState::loaded;
  return n;
}

void log_zone_failures(const std::vector<zone::ZoneReport>& reports) {
  using util::LogLevel;
  for (const auto& r : reports) {
    if (r.state == zone::ZoneState::loaded) continue;
    const std::string zone = r.origin.empty() ? "" : dns::name_to_text(r.origin);
    for (const auto& e : r.errors)
      util::log(LogLevel::error, "zone_error", {{"zone", zone}, {"file", r.file}, {"error", e.to_string()}});
    if (r.state == zone::ZoneState::stale)
      util::log(LogLevel::warn, "zone_stale",
                {{"zone", zone}, {"file", r.file}, {"errors", std::to_string(r.errors.size())},
                 {"serial", std::to_string(r.serial)}, {"reason", "the file does not load; its last good version keeps serving"}});
    else
      util::log(LogLevel::error, "zone_not_loaded",
                {{"zone", zone}, {"file", r.file}, {"errors", std::to_string(r.errors.size())},
                 {"reason", "its names are answered SERVFAIL until its file loads"}});
  }
}

}  // namespace meridian::runtime
