// Loads the configured zone files into one ZoneSet, one file at a time: a file
// that does not load (bad JSON, zone rules, rdata, a service meridian.json does
// not define, an origin an earlier file already has) is left out, or keeps its
// last good version on a reload, and says why in its ZoneReport. Only errors of
// the configuration itself (a zones path that does not exist) go to diagnostics.
// A reload reads only the files that changed: a file with the stamp it had when
// it last loaded keeps serving the zone built then, shared with the previous load.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "routing/service_set.hpp"
#include "util/file_stamp.hpp"
#include "zone/zone.hpp"
#include "zone/zone_report.hpp"

namespace meridian::runtime {

// What a load made of one zone file, kept for the next reload.
struct ZoneFileVersion {
  std::string file;
  std::optional<util::FileStamp> stamp;  // when the zone below was built from the file as it is
  std::shared_ptr<const zone::Zone> zone;  // the version served (loaded or stale); null when none
  // The services its dynamic names are linked to: name -> slot in that load's ServiceSet.
  std::vector<std::pair<std::string, int>> service_links;
};

struct ZoneLoad {
  std::shared_ptr<zone::ZoneSet> zones;
  std::vector<zone::ZoneReport> reports;  // one per zone file, in load order
  std::vector<ZoneFileVersion> files;     // one per zone file, in load order
  unsigned built = 0;   // zones read from their files (or relinked copies)
  unsigned reused = 0;  // zones taken over from the previous load unchanged
};

// previous: the files of the load served until now (on a reload). A file whose
// stamp did not change keeps its zone (shared, not rebuilt); a file that no
// longer loads keeps its last good version. A kept zone whose services moved to
// other slots is copied and linked again.
ZoneLoad load_zones(const std::vector<std::string>& paths, const routing::ServiceSet& services,
                    const std::vector<ZoneFileVersion>* previous, config::Diagnostics& diagnostics);

// Zone files whose current content is not served (state stale or error).
std::size_t count_zone_failures(const std::vector<zone::ZoneReport>& reports);

// One `zone_error` line per error and one `zone_not_loaded` or `zone_stale` line
// per zone file that did not load.
void log_zone_failures(const std::vector<zone::ZoneReport>& reports);

}  // namespace meridian::runtime
