// Where a marker sits in a test's JSON text, as the 1-based line:column a
// diagnostic should name: tests compute expected positions from the text itself.
#pragma once
#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <utility>

namespace meridian::test {

// 1-based line:column of the character `skip` past the start of `marker`, which
// must occur exactly once in text.
inline std::pair<std::size_t, std::size_t> where(const std::string& text, const std::string& marker,
                                                 std::size_t skip = 0) {
  const auto at = text.find(marker);
  REQUIRE_MESSAGE(at != std::string::npos, marker);
  REQUIRE_MESSAGE(text.find(marker, at + 1) == std::string::npos, "marker not unique: " << marker);
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < at + skip; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return {line, col};
}

}  // namespace meridian::test
