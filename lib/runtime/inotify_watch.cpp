#include "runtime/inotify_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace meridian::runtime {

namespace fs = std::filesystem;

namespace {

// Completed writes, renames and deletions; not IN_MODIFY (a file half written)
// nor IN_CREATE of a file (still empty): its IN_CLOSE_WRITE follows.
constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_ATTRIB |
                           IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

std::string folder_of(const fs::path& p) {
  const fs::path parent = p.parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

InotifyWatch::InotifyWatch() : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {}

InotifyWatch::~InotifyWatch() {
  if (fd_ >= 0) ::close(fd_);
}

bool InotifyWatch::watch(const std::vector<std::string>& paths) {
  if (fd_ < 0) return false;
  std::map<std::string, Folder> wanted;
  for (const auto& text : paths) {
    const fs::path p = fs::path(text).lexically_normal();
    const fs::path plain = p.has_filename() ? p : p.parent_path();  // "zones/" -> "zones"
    std::error_code ec;
    if (fs::is_directory(plain, ec)) {
      Folder& f = wanted[plain.string()];
      f.path = plain.string();
      f.json_files = true;
    }
    Folder& parent = wanted[folder_of(plain)];
    parent.path = folder_of(plain);
    parent.names.insert(plain.filename().string());
  }
  bool all = true;
  std::map<int, Folder> next;
  for (auto& [path, folder] : wanted) {
    const int wd = ::inotify_add_watch(fd_, path.c_str(), kMask);
    if (wd < 0) {
      all = false;
      continue;
    }
    Folder& f = next[wd];  // one folder named two ways shares a descriptor: merge
    f.path = folder.path;
    f.json_files = f.json_files || folder.json_files;
    f.names.insert(folder.names.begin(), folder.names.end());
  }
  for (const auto& [wd, folder] : watches_)
    if (!next.count(wd)) ::inotify_rm_watch(fd_, wd);
  watches_ = std::move(next);
  return all;
}

bool InotifyWatch::relevant(const Folder& folder, const std::string& name) const {
  if (folder.names.count(name)) return true;
  return folder.json_files && name.size() > 5 && name.compare(name.size() - 5, 5, ".json") == 0;
}

bool InotifyWatch::changed() {
  if (fd_ < 0) return false;
  bool any = false;
  alignas(inotify_event) char buffer[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd_, buffer, sizeof buffer);
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t at = 0; at < n;) {
      inotify_event ev;
      std::memcpy(&ev, buffer + at, sizeof ev);
      const std::string name = ev.len ? std::string(buffer + at + sizeof ev) : std::string();
      at += static_cast<ssize_t>(sizeof ev + ev.len);
      if (ev.mask & (IN_Q_OVERFLOW | IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        any = true;  // events lost, or a watched folder went away
        continue;
      }
      if ((ev.mask & IN_CREATE) && !(ev.mask & IN_ISDIR)) continue;
      const auto it = watches_.find(ev.wd);
      if (it != watches_.end() && relevant(it->second, name)) any = true;
    }
  }
  return any;
}

}  // namespace meridian::runtime
