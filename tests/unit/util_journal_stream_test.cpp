#include <doctest/doctest.h>

#include "util/journal_stream.hpp"

using meridian::util::journal_stream_matches;

TEST_CASE("JOURNAL_STREAM names stderr only when device and inode both match") {
  CHECK(journal_stream_matches("8:123456", 8, 123456));
  CHECK(journal_stream_matches("64769:18446744073709551615", 64769, 18446744073709551615ull));
  CHECK_FALSE(journal_stream_matches("8:123456", 8, 123457));
  CHECK_FALSE(journal_stream_matches("9:123456", 8, 123456));
  for (const char* malformed : {"", ":", "8:", ":123456", "8", "8:123456:1", "8:12x", " 8:123456", "8:-1", "0x8:1"})
    CHECK_MESSAGE(!journal_stream_matches(malformed, 8, 123456), malformed);
}
