#include "runtime/file_fingerprint.hpp"

#include <algorithm>
#include <filesystem>

namespace meridian::runtime {

namespace fs = std::filesystem;

namespace {
void add_file(const fs::path& p, std::vector<std::string>& out) {
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec) return;
  const auto mtime = fs::last_write_time(p, ec).time_since_epoch().count();
  out.push_back(p.string() + ":" + std::to_string(size) + ":" + std::to_string(mtime));
}
}  // namespace

std::string fingerprint(const std::vector<std::string>& paths) {
  std::vector<std::string> items;
  for (const auto& path : paths) {
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
      for (const auto& e : fs::directory_iterator(path, ec))
        if (e.path().extension() == ".json") add_file(e.path(), items);
    } else {
      add_file(path, items);
    }
  }
  std::sort(items.begin(), items.end());
  std::string out;
  for (const auto& i : items) out += i + "\n";
  return out;
}

}  // namespace meridian::runtime
