// Finds the zone files named by the configuration (files, or folders of *.json
// files) and loads them one at a time, each with its own errors.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"
#include "zone/json_zone.hpp"

namespace meridian::zone {

// The files to load, in load order (a folder's *.json files sorted by name). A
// path that does not exist is an error of the configuration, in diagnostics.
std::vector<std::string> list_zone_files(const std::vector<std::string>& paths, config::Diagnostics& diagnostics);

// One zone file; its errors (and warnings) go to diagnostics.
ZoneFile load_zone_file(const std::string& path, config::Diagnostics& diagnostics);

}  // namespace meridian::zone
