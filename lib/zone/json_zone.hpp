// Loads meridian's JSON zone format (README "Zone files") into a Zone, reporting
// every problem with file:line:column.
#pragma once
#include <memory>
#include <string>

#include "config/diagnostics.hpp"
#include "config/json_source.hpp"
#include "zone/zone.hpp"

namespace meridian::zone {

// Returns nullptr (with diagnostics) when the zone cannot be served.
std::unique_ptr<Zone> load_json_zone(const config::JsonSource& source, config::Diagnostics& diagnostics);
std::unique_ptr<Zone> load_json_zone_file(const std::string& path, config::Diagnostics& diagnostics);

}  // namespace meridian::zone
