#include "zone/zone_directory.hpp"

#include <algorithm>
#include <filesystem>

#include "config/json_source.hpp"
#include "dns/name.hpp"
#include "zone/json_zone.hpp"

namespace meridian::zone {

namespace fs = std::filesystem;

std::vector<std::string> list_zone_files(const std::vector<std::string>& paths, config::Diagnostics& diagnostics) {
  std::vector<std::string> files;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(path, ec))
        if (entry.is_regular_file() && entry.path().extension() == ".json") found.push_back(entry.path().string());
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(path, ec)) {
      files.push_back(path);
    } else {
      diagnostics.add(path, 0, 0, "no such zone file or folder");
    }
  }
  return files;
}

ZoneFile load_zone_file(const std::string& path, config::Diagnostics& diagnostics) {
  ZoneFile out;
  try {
    const config::JsonSource source = config::JsonSource::load_file(path);
    out.zone = load_json_zone(source, diagnostics);
    if (out.zone) {
      out.origin = out.zone->origin();
    } else if (source.root().is_object() && source.root().contains("origin") && source.root()["origin"].is_string()) {
      // A bad zone still says which zone it is, for the reports.
      std::string text = source.root()["origin"].get<std::string>();
      if (text.empty() || text.back() != '.') text += '.';
      if (const auto wire = dns::name_from_text(text)) out.origin = dns::fold_wire_name(*wire);
    }
  } catch (const config::LoadError& e) {
    diagnostics.append(e.diagnostics());
  }
  return out;
}

}  // namespace meridian::zone
