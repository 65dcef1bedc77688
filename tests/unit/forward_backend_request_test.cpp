// The request an HTTP/1.1 backend is sent, written straight from the stripped request
// (write_request_for_backend) instead of adding the forwarding fields to it and serializing
// it: the same bytes, for requests from HTTP/2 streams (the header block as the session
// builds it) and from HTTP/1.1 clients.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http/parser.hpp>

#include "forward/l7/framing.hpp"
#include "forward/l7/h2/server_connection.hpp"
#include "forward/l7/http_listener.hpp"
#include "integration/forward_support/h2_frames.hpp"

namespace l7 = meridian::forward::l7;
namespace h2 = meridian::forward::l7::h2;
namespace f = fwdtest::h2frames;
namespace http = boost::beast::http;

namespace {

const std::string kClient = "192.0.2.7";
const std::string kProto = "https";
constexpr std::string_view kId = "0123456789abcdef0123456789abcdef";

// What the listener sent before: the forwarding fields added to the request, HTTP/1.1
// framing, Beast's fields serialized.
std::string old_wire(l7::Request req, const std::string& proto = kProto) {
  l7::rewrite_request_for_backend(req, kId, kClient, proto);
  l7::as_http11(req);
  std::string out;
  l7::serialize(out, req);
  return out;
}

std::string new_wire(l7::Request req, const std::string& proto = kProto) {
  const std::string xff = l7::strip_request_for_backend(req, kClient);
  std::string out = "kept:";  // appended to, not replaced
  l7::write_request_for_backend(out, req, kId, xff, kClient, proto);
  CHECK(out.substr(0, 5) == "kept:");
  return out.substr(5);
}

// The requests an HTTP/2 client's header blocks become (the session's own translation).
std::vector<l7::Request> from_h2(const std::string& frames) {
  boost::asio::io_context io;
  h2::ServerCounters counters;
  std::vector<l7::Request> seen;
  auto c = std::make_shared<h2::ServerConnection>(
      io, h2::ServerLimits{},
      [&](h2::StreamRequest& r, h2::Response& res) -> boost::asio::awaitable<void> {
        seen.push_back(r.req);
        res = h2::Response(http::status::ok, 11);
        co_return;
      },
      counters);
  const std::string bytes = std::string(f::kPreface) + f::settings() + frames;
  REQUIRE(c->receive(bytes.data(), bytes.size()));
  io.run();
  return seen;
}

l7::Request from_h1(const std::string& raw) {
  http::request_parser<http::string_body, l7::PoolAllocator<char>> p;
  p.eager(true);
  boost::system::error_code ec;
  p.put(boost::asio::buffer(raw), ec);
  REQUIRE_FALSE(ec);
  REQUIRE(p.is_done());
  return p.release();
}

}  // namespace

TEST_CASE("backend request from an HTTP/2 stream: Host from :authority, cookies joined, X-Forwarded-* set") {
  std::string post = f::get_block("a.test:8443", "/upload?x=1");
  post[0] = static_cast<char>(0x83);  // :method POST
  const auto reqs = from_h2(
      f::headers(1, f::get_block("a.test", "/one") + f::literal("cookie", "x=1") + f::literal("accept", "*/*") +
                        f::literal("cookie", "y=2") + f::literal("te", "trailers") +
                        f::literal("x-forwarded-for", "10.0.0.1") + f::literal("x-request-id", "client-id") +
                        f::literal("x-real-ip", "10.9.9.9") + f::literal("user-agent", "h2load")) +
      f::headers(3, post + f::literal("content-type", "application/octet-stream") + f::literal("content-length", "4"), false) +
      f::data(3, "body", true) + f::headers(5, f::get_block("b.test", "/empty").replace(0, 1, "\x83")));
  REQUIRE(reqs.size() == 3);
  for (const auto& r : reqs) CHECK(new_wire(r) == old_wire(r));

  const std::string get = new_wire(reqs[0]);
  CHECK(get.rfind("GET /one HTTP/1.1\r\n", 0) == 0);
  CHECK(get.find("Host: a.test\r\n") != std::string::npos);
  CHECK(get.find("Cookie: x=1; y=2\r\n") != std::string::npos);
  CHECK(get.find("X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n") != std::string::npos);
  CHECK(get.find("X-Real-IP: 192.0.2.7\r\n") != std::string::npos);
  CHECK(get.find("X-Forwarded-Proto: https\r\n") != std::string::npos);
  CHECK(get.find("X-Request-ID: " + std::string(kId) + "\r\n") != std::string::npos);
  CHECK(get.find("client-id") == std::string::npos);
  CHECK(get.find("10.9.9.9") == std::string::npos);
  CHECK(get.find("te:") == std::string::npos);
  CHECK(get.find("Content-Length") == std::string::npos);
  CHECK(get.substr(get.size() - 4) == "\r\n\r\n");

  const std::string upload = new_wire(reqs[1]);
  CHECK(upload.rfind("POST /upload?x=1 HTTP/1.1\r\n", 0) == 0);
  CHECK(upload.find("Content-Length: 4\r\n\r\nbody") != std::string::npos);
  CHECK(upload.find("content-length") == std::string::npos);  // the client's goes, Beast's name comes last
  // a POST without a body still says Content-Length: 0
  CHECK(new_wire(reqs[2]).find("Content-Length: 0\r\n\r\n") != std::string::npos);
}

TEST_CASE("backend request from an HTTP/1.1 client: hop-by-hop fields, HTTP/1.0 without Host, framing") {
  const std::vector<std::string> raw = {
      // Connection names fields to drop; Keep-Alive, Upgrade, TE and Proxy-Connection go too
      "GET /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\n"
      "Upgrade: foo\r\nTE: trailers\r\nProxy-Connection: x\r\nAccept: */*\r\n\r\n",
      // several X-Forwarded-For fields are joined before the client is appended
      "GET /b HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nHost: h\r\nX-Forwarded-For: 2.2.2.2, 3.3.3.3\r\n"
      "X-Forwarded-Proto: http\r\n\r\n",
      // HTTP/1.0 without Host: an empty one, as HTTP/1.1
      "GET /c HTTP/1.0\r\nAccept: */*\r\n\r\n",
      // a chunked body arrives whole: framed by Content-Length
      "POST /d HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
      "3\r\nabc\r\n0\r\n\r\n",
      // a GET's own Content-Length: 0 goes (there is no body to frame)
      "GET /e HTTP/1.1\r\nContent-Length: 0\r\nHost: h\r\nAccept: */*\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
      "PUT /f HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nIdempotency-Key: k\r\n\r\nhi",
      "DELETE /g HTTP/1.1\r\nHost: h\r\nX-Request-ID: mine\r\nX-Real-IP: 9.9.9.9\r\n\r\n",
  };
  for (const auto& r : raw) {
    CAPTURE(r);
    const l7::Request req = from_h1(r);
    CHECK(new_wire(req) == old_wire(req));
  }
  const std::string a = new_wire(from_h1(raw[0]));
  CHECK(a.find("X-Secret") == std::string::npos);
  CHECK(a.find("Keep-Alive") == std::string::npos);
  CHECK(a.find("Upgrade") == std::string::npos);
  CHECK(a.find("Connection") == std::string::npos);
  CHECK(new_wire(from_h1(raw[1])).find("X-Forwarded-For: 1.1.1.1, 2.2.2.2, 3.3.3.3, 192.0.2.7\r\n") != std::string::npos);
  CHECK(new_wire(from_h1(raw[2])).find("GET /c HTTP/1.1\r\n") == 0);
  CHECK(new_wire(from_h1(raw[2])).find("Host: \r\n") != std::string::npos);
  CHECK(new_wire(from_h1(raw[4])).find("Content-Length") == std::string::npos);
  // a configured protocol is trimmed as Beast trims field values
  const l7::Request e = from_h1(raw[4]);
  CHECK(new_wire(e, " https\t") == old_wire(e, " https\t"));
}

TEST_CASE("backend request: a TRACE with a body is refused as as_http11 refuses it") {
  l7::Request req = from_h1("TRACE / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\r\nx");
  CHECK_THROWS_AS(old_wire(req), std::invalid_argument);
  CHECK_THROWS_AS(new_wire(req), std::invalid_argument);
  req.body().clear();
  CHECK(new_wire(req) == old_wire(req));
}
