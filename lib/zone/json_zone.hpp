// Loads meridian's JSON zone format (README "Zone files") into a Zone, reporting
// every problem with file:line:column. The file is read as a stream of JSON
// events (nlohmann's SAX interface) straight into the zone: only one name's
// object at a time is held as a JSON value, never the whole zone's.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "config/diagnostics.hpp"
#include "zone/zone.hpp"

namespace meridian::zone {

struct ZoneFile {
  std::unique_ptr<Zone> zone;  // null when the file does not load
  std::string origin;          // lower-case wire form, when the file names a valid one
};

// text claims to come from `name` (the file named in diagnostics and the zone's
// source). A bad zone still says its origin when the file names a valid one
// (not for invalid JSON).
ZoneFile load_json_zone_text(std::string_view text, const std::string& name, config::Diagnostics& diagnostics);
// The same; the text is freed once read, before the zone compiles (a lower peak for a large zone).
ZoneFile load_json_zone_text_and_free(std::string&& text, const std::string& name, config::Diagnostics& diagnostics);
// Returns nullptr (with diagnostics) when the zone cannot be served.
std::unique_ptr<Zone> load_json_zone_file(const std::string& path, config::Diagnostics& diagnostics);

}  // namespace meridian::zone
