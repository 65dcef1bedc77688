#include "cookies/secret_file.hpp"

#include <sys/random.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "util/file_text.hpp"

namespace meridian::cookies {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

std::optional<Secrets> parse_secrets(std::string_view text, const std::string& file, config::Diagnostics& diagnostics) {
  const std::size_t errors_before = diagnostics.size();
  Secret found[2];
  unsigned count = 0;
  std::size_t line_number = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    const std::string_view line = text.substr(start, end - start);
    ++line_number;
    start = end + 1;
    std::size_t first = 0;
    while (first < line.size() && is_blank(line[first])) ++first;
    std::size_t last = line.size();
    while (last > first && is_blank(line[last - 1])) --last;
    if (first == last || line[first] == '#') continue;
    const std::size_t column = first + 1;
    if (count == 2) {
      diagnostics.add(file, line_number, column,
                      "a cookie secret file holds at most two secrets: the current one, then the previous one");
      break;
    }
    const std::string_view digits = line.substr(first, last - first);
    std::size_t bad = 0;
    while (bad < digits.size() && hex_value(digits[bad]) >= 0) ++bad;
    if (bad < digits.size()) {
      diagnostics.add(file, line_number, column + bad,
                      std::string("'") + digits[bad] + "' is not a hex digit: a cookie secret is 32 hex digits (128 bits)");
      continue;
    }
    if (digits.size() != 32) {
      diagnostics.add(file, line_number, column,
                      "a cookie secret is 32 hex digits (128 bits), found " + std::to_string(digits.size()));
      continue;
    }
    for (std::size_t i = 0; i < 16; ++i)
      found[count].bytes[i] = static_cast<uint8_t>(hex_value(digits[2 * i]) << 4 | hex_value(digits[2 * i + 1]));
    ++count;
  }
  if (count == 0 && diagnostics.size() == errors_before)
    diagnostics.add(file, 0, 0, "no cookie secret: the file needs a line of 32 hex digits (e.g. from "
                                "`head -c16 /dev/urandom | od -An -tx1 | tr -d ' \\n'`)");
  if (diagnostics.size() != errors_before) return std::nullopt;
  Secrets secrets;
  secrets.current = found[0];
  if (count == 2) {
    secrets.previous = found[1];
    secrets.has_previous = true;
  }
  return secrets;
}

std::optional<Secrets> read_secret_file(const std::string& path, config::Diagnostics& diagnostics) {
  const std::optional<std::string> text = util::read_file_text(path);
  if (!text) {
    diagnostics.add(path, 0, 0, std::string("cannot read the cookie secret file: ") + std::strerror(errno));
    return std::nullopt;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
    diagnostics.add_warning({path, 0, 0,
                             "the cookie secret file is readable by every user: anyone holding the secret can make "
                             "valid cookies for any address (chmod 600 or 640)"});
  return parse_secrets(*text, path, diagnostics);
}

Secret random_secret() {
  Secret s;
  std::size_t got = 0;
  while (got < sizeof s.bytes) {
    const ssize_t n = ::getrandom(s.bytes + got, sizeof s.bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  return s;
}

}  // namespace meridian::cookies
