#include "util/file_text.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace meridian::util {

namespace {

// Reads up to `size` bytes into `to`; the bytes read, or -1 on an error.
ssize_t read_fully(int fd, char* to, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, to + done, size - done);
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    done += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

}  // namespace

std::optional<std::string> read_file_text(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) text.resize(static_cast<std::size_t>(st.st_size));
  ssize_t n = read_fully(fd, text.data(), text.size());
  bool ok = n >= 0;
  if (ok) text.resize(static_cast<std::size_t>(n));
  // To the end, not to the size stat() gave: the file may have grown, and some
  // files (procfs) report no size.
  char more[65536];
  while (ok && (n = read_fully(fd, more, sizeof more)) > 0) text.append(more, static_cast<std::size_t>(n));
  ok = ok && n >= 0;
  ::close(fd);
  if (!ok) return std::nullopt;
  return text;
}

}  // namespace meridian::util
