// Loads the configured zone files into one ZoneSet, one file at a time: a file
// that does not load (bad JSON, zone rules, rdata, a service meridian.json does
// not define, an origin an earlier file already has) is left out, or keeps its
// last good version on a reload, and says why in its ZoneReport. Only errors of
// the configuration itself (a zones path that does not exist) go to diagnostics.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "routing/service_set.hpp"
#include "zone/zone.hpp"
#include "zone/zone_report.hpp"

namespace meridian::runtime {

struct ZoneLoad {
  std::shared_ptr<zone::ZoneSet> zones;
  std::vector<zone::ZoneReport> reports;  // one per zone file, in load order
};

// previous: the zones served until now (on a reload), whose versions stand in
// for files that no longer load; they are rebuilt, never shared.
ZoneLoad load_zones(const std::vector<std::string>& paths, const routing::ServiceSet& services,
                    const zone::ZoneSet* previous, config::Diagnostics& diagnostics);

// Zone files whose current content is not served (state stale or error).
std::size_t count_zone_failures(const std::vector<zone::ZoneReport>& reports);

// One `zone_error` line per error and one `zone_not_loaded` or `zone_stale` line
// per zone file that did not load.
void log_zone_failures(const std::vector<zone::ZoneReport>& reports);

}  // namespace meridian::runtime
