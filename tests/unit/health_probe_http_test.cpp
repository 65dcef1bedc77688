// The "http" probe alone, against HTTP responders this test runs on 127.0.0.1:
// the request bytes, expected and unexpected statuses, the body substring, a
// peer that closes or never answers, a refused port.
#include <doctest/doctest.h>

#include "health/checks/probes/http_probe.hpp"
#include "unit/support/probe_bench.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {
health::CheckConfig http_check(std::chrono::milliseconds timeout = 5000ms) {
  health::CheckConfig c;
  c.kind = health::CheckConfig::http;
  c.timeout = timeout;
  return c;
}

Attempt probe_once(const health::CheckConfig& config, const std::string& response, std::string* request = nullptr) {
  asio::io_context io;
  HttpResponder responder(io, response);
  auto probe = health::make_http_probe(io.get_executor(), config);
  const Attempt a = run_attempt(io, *probe, responder.endpoint(), config.timeout, responder);
  CHECK(a.reports == 1);
  if (request != nullptr) {
    REQUIRE(responder.requests().size() == 1);
    *request = responder.requests().front();
  }
  return a;
}
}  // namespace

TEST_CASE("http probe: GET path with the Host header; an expected status is up") {
  health::CheckConfig c = http_check();
  c.path = "/hc?x=1";
  c.host = "app.internal";
  std::string request;
  const Attempt a = probe_once(c, http_response(200, "fine"), &request);
  CHECK(a.result.ok);
  CHECK(a.result.reason == "HTTP status 200");
  CHECK(request ==
        "GET /hc?x=1 HTTP/1.1\r\nHost: app.internal\r\nUser-Agent: meridian-check\r\nConnection: close\r\n\r\n");

  // Without "host", the Host header is the target's address.
  probe_once(http_check(), http_response(200, ""), &request);
  CHECK(request == "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: meridian-check\r\nConnection: close\r\n\r\n");
}

TEST_CASE("http probe: the status must be one of expect") {
  health::CheckConfig c = http_check();
  c.expect = {200, 204};
  const Attempt no_content = probe_once(c, http_response(204, ""));
  CHECK(no_content.result.ok);
  CHECK(no_content.result.reason == "HTTP status 204");

  const Attempt error = probe_once(c, http_response(500, "oops"));
  CHECK_FALSE(error.result.ok);
  CHECK(error.result.reason == "HTTP status 500");

  const Attempt not_default = probe_once(http_check(), http_response(204, ""));  // expect defaults to 200
  CHECK_FALSE(not_default.result.ok);
  CHECK(not_default.result.reason == "HTTP status 204");
}

TEST_CASE("http probe: body must contain the text when one is set") {
  health::CheckConfig c = http_check();
  c.body_contains = "healthy";
  const Attempt has = probe_once(c, http_response(200, "status: healthy\n"));
  CHECK(has.result.ok);
  CHECK(has.result.reason == "HTTP status 200");

  const Attempt lacks = probe_once(c, http_response(200, "status: degraded\n"));
  CHECK_FALSE(lacks.result.ok);
  CHECK(lacks.result.reason == "body lacks \"healthy\"");

  // The status is judged before the body.
  const Attempt both = probe_once(c, http_response(503, "nothing"));
  CHECK(both.result.reason == "HTTP status 503");
}

TEST_CASE("http probe: a peer that closes mid-response and a refused port are read/connect errors") {
  const Attempt closed = probe_once(http_check(), "HTTP/1.1 200 OK\r\n");  // head cut short, then closed
  CHECK_FALSE(closed.result.ok);
  CHECK(closed.result.reason.rfind("read: ", 0) == 0);

  asio::io_context io;
  RefusingPort port(io);
  auto probe = health::make_http_probe(io.get_executor(), http_check());
  const Attempt refused = run_attempt(io, *probe, port.endpoint(), 5000ms);
  CHECK_FALSE(refused.result.ok);
  CHECK(refused.result.reason == "connect: Connection refused");
}

TEST_CASE("http probe: a server that never answers fails at the deadline") {
  const Attempt a = probe_once(http_check(300ms), "");
  CHECK_FALSE(a.result.ok);
  CHECK(a.result.reason == "timeout after 300ms");
  CHECK(a.took >= 300ms);
  CHECK(a.took < 10s);
}
