// HTTP request framing (smuggling) checks, idempotency and Retry-After parsing.
#include <doctest/doctest.h>

#include <chrono>
#include <sstream>
#include <string>

#include <boost/beast/http/write.hpp>

#include "forward/l7/framing.hpp"

using meridian::forward::l7::classify_raw_request;
using meridian::forward::l7::parse_http_date;
using meridian::forward::l7::parse_retry_after;
using meridian::forward::l7::retry_after_ms;

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

TEST_CASE("HTTP-date in its three forms (RFC 9110 5.6.7)") {
  using namespace std::chrono;
  const auto now = sys_days(year(2026) / 11 / 27) + hours(10);
  constexpr int64_t k1994 = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example
  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", now) == k1994);
  CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", now) == k1994);
  CHECK(parse_http_date("Sun Nov  6 08:49:37 1994", now) == k1994);
  CHECK(parse_http_date(" Thu, 01 Jan 1970 00:00:00 GMT ", now) == 0);
  CHECK(parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT", now) == 1709251199);  // leap day
  CHECK(parse_http_date("Sat, 01 Jan 2000 00:00:00 GMT", now) == 946684800);
  CHECK(parse_http_date("Sun Nov 16 08:49:37 1994", now) == k1994 + 10 * 86400);
  // rfc850's two-digit year: within 50 years ahead it is this century, else the last one
  CHECK(parse_http_date("Friday, 27-Nov-26 10:00:00 GMT", now) == system_clock::to_time_t(now));
  CHECK(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT", now) == 3155760000);  // 2070: 44 years ahead
  CHECK(parse_http_date("Tuesday, 01-Jan-80 00:00:00 GMT", now) == 315532800);  // 2080 is > 50 ahead: 1980
  // garbage and impossible dates
  for (const char* bad : {"", "soon", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC",
                          "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
                          "Sun, 31 Nov 1994 08:49:37 GMT", "Sun, 29 Feb 2023 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT", "Sunday, 06 Nov 1994 08:49:37 GMT",
                          "Sun, 06-Nov-94 08:49:37 GMT", "Sun Nov 6 08:49:37 1994", "Xyz, 06 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 08:49:37 GMT trailing", "Sun, 06 Nov 1994 08:49:37 GMTx"})
    CHECK_MESSAGE(!parse_http_date(bad, now), bad);
}

TEST_CASE("Retry-After in milliseconds: delta-seconds or an HTTP-date against now") {
  using namespace std::chrono;
  const auto now = sys_days(year(2026) / 11 / 27) + hours(10) + milliseconds(250);
  CHECK(retry_after_ms("2", now) == 2000);
  CHECK(retry_after_ms("0", now) == 0);
  CHECK(retry_after_ms("Fri, 27 Nov 2026 10:00:02 GMT", now) == 1750);
  CHECK(retry_after_ms("Friday, 27-Nov-26 10:00:02 GMT", now) == 1750);
  CHECK(retry_after_ms("Fri Nov 27 10:00:02 2026", now) == 1750);
  CHECK(retry_after_ms("Fri, 27 Nov 2026 10:01:00 GMT", now) == 59750);  // past any cap: the caller passes the 429
  CHECK(retry_after_ms("Fri, 27 Nov 2026 09:59:00 GMT", now) == 0);  // past: retry now
  CHECK(retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", now) == 0);
  CHECK(retry_after_ms("", now) == -1);
  CHECK(retry_after_ms("tomorrow", now) == -1);
  CHECK(retry_after_ms("-1", now) == -1);
  CHECK(retry_after_ms("Fri, 27 Nov 2026 10:00:02 CET", now) == -1);
}

TEST_CASE("serialize writes what Beast's serializer writes") {
  namespace http = boost::beast::http;
  auto beast_bytes = [](const auto& m) {
    std::ostringstream o;
    o << m;
    return o.str();
  };
  http::request<http::string_body> req{http::verb::post, "/a/b?c=d", 11};
  req.set(http::field::host, "example.test");
  req.set("X-Forwarded-For", "192.0.2.1, 127.0.0.1");
  req.insert("X-Dup", "1");
  req.insert("X-Dup", "2");
  req.body() = "hello";
  req.prepare_payload();
  std::string out = "kept|";
  meridian::forward::l7::serialize(out, req);
  CHECK(out == "kept|" + beast_bytes(req));

  http::request<http::string_body> get{http::verb::get, "/", 10};
  get.set(http::field::host, "a");
  out.clear();
  meridian::forward::l7::serialize(out, get);
  CHECK(out == beast_bytes(get));
  CHECK(out.rfind("GET / HTTP/1.0\r\n", 0) == 0);

  http::response<http::string_body> res{http::status::ok, 11};
  res.set(http::field::server, "x");
  res.body() = "ok\n";
  res.prepare_payload();
  out.clear();
  meridian::forward::l7::serialize(out, res);
  CHECK(out == beast_bytes(res));
  CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);

  res.reason("Fine");  // a backend's own reason phrase is kept
  res.result(299);
  out.clear();
  meridian::forward::l7::serialize(out, res);
  CHECK(out == beast_bytes(res));
  CHECK(out.rfind("HTTP/1.1 299 Fine\r\n", 0) == 0);

  http::response<http::string_body> unknown{static_cast<http::status>(599), 10};
  out.clear();
  meridian::forward::l7::serialize(out, unknown);
  CHECK(out == beast_bytes(unknown));
}

TEST_CASE("a forwarded HTTP/1.0 request without Host gets an empty Host as HTTP/1.1 (found by fuzz_http_request)") {
  namespace http = boost::beast::http;
  http::request<http::string_body> req{http::verb::get, "/old", 10};
  meridian::forward::l7::as_http11(req);
  std::string wire;
  meridian::forward::l7::serialize(wire, req);
  CHECK(wire.find("HTTP/1.1\r\n") != std::string::npos);
  // The tier must not send what it refuses itself (RFC 9112 3.2: HTTP/1.1 without Host is 400).
  CHECK(classify_raw_request(wire) == 0);

  http::request<http::string_body> with_host{http::verb::get, "/", 10};
  with_host.set(http::field::host, "example.com");
  meridian::forward::l7::as_http11(with_host);
  CHECK(with_host[http::field::host] == "example.com");
}
