// Loads every zone named by the configuration (files, or folders of *.json files)
// into one ZoneSet.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "zone/zone.hpp"

namespace meridian::zone {

// Returns the zone set; diagnostics say what could not be loaded. Callers treat a
// non-empty diagnostics list as a failed load.
std::shared_ptr<ZoneSet> load_zones(const std::vector<std::string>& paths, config::Diagnostics& diagnostics);

}  // namespace meridian::zone
