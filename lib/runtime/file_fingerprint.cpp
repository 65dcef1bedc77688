#include "runtime/file_fingerprint.hpp"

#include <algorithm>
#include <filesystem>

#include "util/file_stamp.hpp"

namespace meridian::runtime {

namespace fs = std::filesystem;

namespace {
void add_file(const fs::path& p, std::vector<std::string>& out) {
  // The inode too: a file renamed into place may keep the size and mtime of the old one.
  if (const auto stamp = util::stamp_file(p.string())) out.push_back(p.string() + ":" + stamp->to_string());
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
