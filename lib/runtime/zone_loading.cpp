#include "runtime/zone_loading.hpp"

#include <algorithm>
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

using ServiceLinks = std::vector<std::pair<std::string, int>>;

// Links each dynamic name to its service slot and lists the services used; false
// (with errors) when a name uses a service that is not defined. stale: z is a
// last good version, whose file no longer says what it serves.
bool link_services(zone::Zone& z, const routing::ServiceSet& services, bool stale, config::Diagnostics& errors,
                   ServiceLinks& links) {
  bool ok = true;
  links.clear();
  z.for_each_dynamic_name([&](zone::DynamicName& node) {
    if (node.service.empty()) return;
    const std::string service(node.service);
    node.service_index = services.find(service);
    if (node.service_index >= 0) {
      const auto used = [&](const auto& link) { return link.first == node.service; };
      if (std::find_if(links.begin(), links.end(), used) == links.end()) links.emplace_back(node.service, node.service_index);
      return;
    }
    ok = false;
    const std::string what = dns::name_to_text(node.name) + " uses service \"" + service +
                             "\", which meridian.json does not define";
    if (stale)
      errors.add(z.source(), 0, 0, "the last good version of the zone is not served either: " + what);
    else
      errors.add(service_position(z, std::string(node.name), what));
  });
  return ok;
}

// True when every service the zone uses has the same slot in `services`.
bool links_hold(const ServiceLinks& links, const routing::ServiceSet& services) {
  return std::all_of(links.begin(), links.end(), [&](const auto& link) { return services.find(link.first) == link.second; });
}

// What one file gives the new load: a zone taken over, a zone built now, or nothing.
struct FileOutcome {
  zone::ZoneReport report;
  ZoneFileVersion version;
  std::unique_ptr<zone::Zone> built;  // new: added after the taken-over ones
};

// The version of a previous load, for this load's services: shared when its
// links hold, else a linked copy (null with errors when a service is gone).
void take_over(const ZoneFileVersion& previous, const routing::ServiceSet& services, bool stale, FileOutcome& out,
               config::Diagnostics& errors) {
  if (links_hold(previous.service_links, services)) {
    out.version.zone = previous.zone;
    out.version.service_links = previous.service_links;
    return;
  }
  auto copy = previous.zone->clone();
  if (copy && link_services(*copy, services, stale, errors, out.version.service_links)) out.built = std::move(copy);
}

}  // namespace

ZoneLoad load_zones(const std::vector<std::string>& paths, const routing::ServiceSet& services,
                    const std::vector<ZoneFileVersion>* previous, config::Diagnostics& diagnostics) {
  std::unordered_map<std::string, const ZoneFileVersion*> before;  // by file
  if (previous)
    for (const auto& f : *previous) before.emplace(f.file, &f);
  std::unordered_map<std::string, std::string> served_from;  // origin -> file
  std::vector<FileOutcome> outcomes;

  for (const auto& file : zone::list_zone_files(paths, diagnostics)) {
    FileOutcome o;
    o.report.file = file;
    o.version.file = file;
    config::Diagnostics errors;
    const ZoneFileVersion* last = nullptr;
    if (const auto it = before.find(file); it != before.end() && it->second->zone) last = it->second;
    // Taken before reading: a file edited while it is read gets another stamp, read again next time.
    const auto stamp = util::stamp_file(file);
    const bool unchanged = last && last->stamp && stamp && *last->stamp == *stamp;
    if (unchanged) take_over(*last, services, false, o, errors);
    if (o.version.zone || o.built) {
      o.version.stamp = stamp;
      o.report.state = zone::ZoneState::loaded;
    } else {
      // Changed, new, or its services moved away: read it (errors then have their positions).
      errors = {};
      zone::ZoneFile loaded = zone::load_zone_file(file, errors);
      o.report.origin = loaded.origin;
      if (loaded.zone && link_services(*loaded.zone, services, false, errors, o.version.service_links)) {
        o.built = std::move(loaded.zone);
        o.version.stamp = stamp;
        o.report.state = zone::ZoneState::loaded;
      } else if (last) {
        take_over(*last, services, true, o, errors);
        o.report.state = o.version.zone || o.built ? zone::ZoneState::stale : zone::ZoneState::error;
      }
    }
    const zone::Zone* z = o.built ? o.built.get() : o.version.zone.get();
    if (z) {
      o.report.origin = z->origin();
      if (served_from.emplace(z->origin(), file).second) {
        o.report.serial = z->serial();
      } else {
        // The earlier file keeps the zone.
        errors.add(file, 0, 0, "zone " + dns::name_to_text(z->origin()) + " is defined in more than one file (also in " +
                                   served_from[z->origin()] + ", which is served)");
        o.report.state = zone::ZoneState::error;
        o.built.reset();
        o.version = {file, std::nullopt, nullptr, {}};
      }
    }
    for (const auto& w : errors.warnings()) diagnostics.add_warning(w);
    o.report.errors = errors.items();
    outcomes.push_back(std::move(o));
  }

  ZoneLoad out;
  out.zones = std::make_shared<zone::ZoneSet>();
  // Taken-over zones first: they keep their counter slots; new ones get free slots.
  for (auto& o : outcomes)
    if (o.version.zone && !o.built) {
      out.zones->add_shared(o.version.zone);
      ++out.reused;
    }
  for (auto& o : outcomes)
    if (o.built) {
      const std::string origin = o.built->origin();
      out.zones->add(std::move(o.built));
      o.version.zone = out.zones->share_exact(origin);
      ++out.built;
    }
  for (auto& o : outcomes) {
    out.reports.push_back(std::move(o.report));
    out.files.push_back(std::move(o.version));
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
