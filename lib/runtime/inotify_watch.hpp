// Tells when watched files may have changed, through inotify. A file is watched
// through its folder (editors replace files by rename; a missing file may be
// created), a folder for its *.json files and, through its parent, for being
// created, removed or renamed. What changed is for the caller to find out
// (file fingerprints): this only says when to look.
#pragma once
#include <map>
#include <set>
#include <string>
#include <vector>

namespace meridian::runtime {

class InotifyWatch {
 public:
  InotifyWatch();
  ~InotifyWatch();
  InotifyWatch(const InotifyWatch&) = delete;
  InotifyWatch& operator=(const InotifyWatch&) = delete;

  // False when the kernel gave no inotify instance (then nothing is watched).
  bool ok() const { return fd_ >= 0; }
  // Readable when events are pending (for poll()).
  int fd() const { return fd_; }

  // Watches exactly these files and folders from now on. False when some could
  // not be watched (no such parent folder, a filesystem without inotify, the
  // watch limit): the caller should poll those sooner.
  bool watch(const std::vector<std::string>& paths);

  // Reads the pending events without blocking; true when one concerns a watched
  // path (or events were lost).
  bool changed();

 private:
  struct Folder {
    std::string path;
    std::set<std::string> names;  // files (or sub-folders) of interest in it
    bool json_files = false;      // and every *.json file in it
  };
  bool relevant(const Folder& folder, const std::string& name) const;

  int fd_ = -1;
  std::map<int, Folder> watches_;  // by watch descriptor
};

}  // namespace meridian::runtime
