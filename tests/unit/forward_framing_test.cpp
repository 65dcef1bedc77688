// HTTP request framing (smuggling) checks, idempotency and Retry-After parsing.
#include <doctest/doctest.h>

#include <string>

#include "forward/l7/framing.hpp"

using meridian::forward::l7::classify_raw_request;
using meridian::forward::l7::parse_retry_after;

TEST_CASE("well-formed requests pass") {
  CHECK(classify_raw_request("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
  CHECK(classify_raw_request("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello") == 0);
  CHECK(classify_raw_request("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n") ==
        0);
  CHECK(classify_raw_request("GET / HTTP/1.0\r\n\r\n") == 0);
  CHECK(classify_raw_request("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n") == 0);
}

TEST_CASE("ambiguous framing is refused with 400") {
  // CL + TE, in both orders
  CHECK(classify_raw_request(
            "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
  CHECK(classify_raw_request(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n") == 400);
  // duplicate Content-Length, equal or not, and as a list
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello") ==
        400);
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!") ==
        400);
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello") == 400);
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nhello") == 400);
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n") == 400);
  // Transfer-Encoding other than a single "chunked"
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n") == 400);
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n") == 400);
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n") == 400);
  CHECK(classify_raw_request(
            "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") ==
        400);
  CHECK(classify_raw_request("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") == 400);
  // bad chunked bodies
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n") ==
        400);
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n") ==
        400);
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel") == 400);
  // malformed header lines and targets
  CHECK(classify_raw_request("GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello") == 400);
  CHECK(classify_raw_request("GET / HTTP/1.1\r\n\r\n") == 400);  // HTTP/1.1 without Host
  CHECK(classify_raw_request("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
  CHECK(classify_raw_request("GET http://evil/ HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(classify_raw_request("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n") == 400);
  CHECK(classify_raw_request("GET / HTTP/1.1\nHost: a\n\n") == 400);  // bare LF
  // obs-fold is unfolded by the parser (RFC 9112 5.2 allows replacing it with spaces) and
  // the header is re-serialised on one line, so it cannot reach a backend folded
  CHECK(classify_raw_request("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n") == 0);
}

TEST_CASE("size limits give 431 and 413") {
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(20000, 'x') + "\r\n\r\n";
  CHECK(classify_raw_request(big, 16384) == 431);
  CHECK(classify_raw_request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789", 16384, 5) == 413);
}

TEST_CASE("Retry-After as delta-seconds") {
  CHECK(parse_retry_after("3") == 3);
  CHECK(parse_retry_after(" 120 ") == 120);
  CHECK(parse_retry_after("") == -1);
  CHECK(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == -1);
  CHECK(parse_retry_after("-1") == -1);
}
