#include "zone/zone_directory.hpp"

#include <algorithm>
#include <filesystem>

#include "dns/name.hpp"
#include "zone/json_zone.hpp"

namespace meridian::zone {

namespace fs = std::filesystem;

std::shared_ptr<ZoneSet> load_zones(const std::vector<std::string>& paths, config::Diagnostics& diagnostics) {
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
  auto set = std::make_shared<ZoneSet>();
  for (const auto& file : files) {
    auto zone = load_json_zone_file(file, diagnostics);
    if (!zone) continue;
    const std::string origin = zone->origin();
    if (!set->add(std::move(zone)))
      diagnostics.add(file, 0, 0, "zone " + dns::name_to_text(origin) + " is defined in more than one file");
  }
  return set;
}

}  // namespace meridian::zone
