// `meridian zone import`: an RFC 1035 master file (parsed by ldns) converted to
// meridian's JSON zone format.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "config/diagnostics.hpp"

namespace meridian::zone {

// Returns the JSON zone (keys in a stable order); problems go to diagnostics and
// the result is then incomplete.
nlohmann::ordered_json import_master_file(const std::string& path, const std::string& origin,
                                          config::Diagnostics& diagnostics);

}  // namespace meridian::zone
