#include "zone/zone_directory.hpp"

#include <algorithm>
#include <filesystem>

#include "util/file_text.hpp"
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
  std::optional<std::string> text = util::read_file_text(path);
  if (!text) {
    diagnostics.add(path, 0, 0, "cannot open file");
    return {};
  }
  return load_json_zone_text_and_free(std::move(*text), path, diagnostics);
}

}  // namespace meridian::zone
