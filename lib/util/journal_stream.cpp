#include "util/journal_stream.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>

namespace meridian::util {

namespace {

// The whole of text as one decimal number.
bool parse_number(std::string_view text, uint64_t& out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

}  // namespace

bool journal_stream_matches(std::string_view value, uint64_t device, uint64_t inode) {
  const auto colon = value.find(':');
  if (colon == std::string_view::npos) return false;
  uint64_t d = 0, i = 0;
  return parse_number(value.substr(0, colon), d) && parse_number(value.substr(colon + 1), i) && d == device &&
         i == inode;
}

bool stderr_is_journal() {
  const char* value = std::getenv("JOURNAL_STREAM");
  if (!value) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return journal_stream_matches(value, static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
}

}  // namespace meridian::util
