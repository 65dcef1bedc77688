// What identifies one version of a file without reading it: device, inode, size
// and change times. A file replaced by rename (editors, geoipupdate) gets a new
// inode; an edit in place a new size or mtime. Reloads compare stamps to reuse
// what was built from a file that did not change.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace meridian::util {

struct FileStamp {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
  // "dev:ino:size:mtime:ctime", for fingerprints that combine several inputs.
  std::string to_string() const;
};

// nullopt when the file cannot be stat()ed (missing, no permission).
std::optional<FileStamp> stamp_file(const std::string& path);

}  // namespace meridian::util
