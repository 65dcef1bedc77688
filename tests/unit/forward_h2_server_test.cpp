// The HTTP/2 side of an L7 client connection (lib/forward/l7/h2), driven with raw frames
// and no socket: streams become requests, and the limits (concurrent streams counting
// requests still at backends, header list and body size, rapid reset and PING floods).
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "forward/l7/h2/serve.hpp"
#include "forward/l7/h2/server_connection.hpp"
#include "integration/forward_support/h2_frames.hpp"

namespace h2 = meridian::forward::l7::h2;
namespace f = fwdtest::h2frames;
namespace http = boost::beast::http;
using meridian::forward::Http2Settings;

TEST_CASE("h2: the h2c preface is recognised, whole or in part") {
  CHECK(h2::match_preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == h2::PrefaceMatch::yes);
  CHECK(h2::match_preface(std::string(f::kPreface) + f::settings()) == h2::PrefaceMatch::yes);
  CHECK(h2::match_preface("PRI * HTTP/2") == h2::PrefaceMatch::partial);
  CHECK(h2::match_preface("P") == h2::PrefaceMatch::partial);
  CHECK(h2::match_preface("POST / HTTP/1.1\r\n") == h2::PrefaceMatch::no);
  CHECK(h2::match_preface("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n") == h2::PrefaceMatch::no);
  CHECK(h2::match_preface("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == h2::PrefaceMatch::no);
}

namespace {

// A connection whose handler records each request and answers 200 "ok", or waits for
// `gate` first when hold is set.
struct Harness {
  boost::asio::io_context io;
  h2::ServerCounters counters;
  std::vector<std::string> seen;  // "METHOD TARGET HOST REFUSE BODY"
  boost::asio::steady_timer gate{io, std::chrono::steady_clock::time_point::max()};
  bool hold = false;
  std::shared_ptr<h2::ServerConnection> c;
  std::string out;
  std::size_t used = 0;

  explicit Harness(Http2Settings s, std::size_t max_header = 4096, std::size_t max_body = 1024) {
    h2::ServerLimits limits{s, max_header, max_body};
    c = std::make_shared<h2::ServerConnection>(
        io, limits,
        [this](h2::StreamRequest& r, h2::Response& res) -> boost::asio::awaitable<void> {
          seen.push_back(std::string(r.req.method_string()) + " " + std::string(r.req.target()) + " " +
                         std::string(r.req[http::field::host]) + " " + std::to_string(r.refuse) + " " +
                         r.req.body());
          if (hold) {
            boost::system::error_code ec;
            co_await gate.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
          }
          res = h2::Response(http::status::ok, 11);
          res.set(http::field::content_type, "text/plain");
          res.body() = "ok";
          res.prepare_payload();
        },
        counters);
  }
  bool feed(const std::string& bytes) { return c->receive(bytes.data(), bytes.size()); }
  std::vector<f::Frame> frames() {
    c->take_output(out);
    return f::parse(out, used);
  }
};

Http2Settings settings(uint32_t streams = 100, uint32_t resets = 200, uint32_t control = 1000) {
  Http2Settings s;
  s.max_concurrent_streams = streams;
  s.max_resets = resets;
  s.max_control_frames = control;
  return s;
}

std::size_t count(const std::vector<f::Frame>& fs, uint8_t type, uint32_t stream = ~0u) {
  std::size_t n = 0;
  for (const auto& fr : fs) n += fr.type == type && (stream == ~0u || fr.stream == stream);
  return n;
}

const f::Frame* find(const std::vector<f::Frame>& fs, uint8_t type, uint32_t stream) {
  for (const auto& fr : fs)
    if (fr.type == type && fr.stream == stream) return &fr;
  return nullptr;
}

}  // namespace

TEST_CASE("h2: streams become requests and get their answers") {
  Harness h(settings());
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings() + f::headers(1, f::get_block("a.test", "/one")) +
                 f::headers(3, f::get_block("a.test", "/two") + f::literal("cookie", "x=1") + f::literal("cookie", "y=2"),
                            false) +
                 f::data(3, "body", true)));
  h.io.run();
  REQUIRE(h.seen.size() == 2);
  CHECK(h.seen[0] == "GET /one a.test 0 ");
  CHECK(h.seen[1] == "GET /two a.test 0 body");
  const auto fs = h.frames();
  CHECK(count(fs, f::SETTINGS) == 2);  // ours, and the ack of the client's
  for (uint32_t id : {1u, 3u}) {
    CHECK(find(fs, f::HEADERS, id));
    const f::Frame* d = find(fs, f::DATA, id);
    REQUIRE(d);
    CHECK(d->payload == "ok");
    CHECK((d->flags & f::END_STREAM));
  }
  CHECK(h.counters.streams == 2);
  CHECK_FALSE(h.c->done());  // the client may send more
}

TEST_CASE("h2: a header list over the limit is answered 431, a body over the limit 413") {
  Harness h(settings(), 4096, 1024);
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings() +
                 f::headers(1, f::get_block("a.test", "/big") + f::literal("x-big", std::string(5000, 'v'))) +
                 f::headers(3, f::get_block("a.test", "/upload"), false) + f::data(3, std::string(800, 'b'), false) +
                 f::data(3, std::string(800, 'b'), false)));
  h.io.run();
  REQUIRE(h.seen.size() == 2);
  CHECK(h.seen[0] == "GET /big a.test 431 ");
  CHECK(h.seen[1].rfind("GET /upload a.test 413 ", 0) == 0);
}

TEST_CASE("h2: requests still at backends count against max_concurrent_streams, reset or not") {
  Harness h(settings(2));
  h.hold = true;
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings() + f::settings_ack()));
  for (uint32_t id : {1u, 3u}) REQUIRE(h.feed(f::headers(id, f::get_block("a.test")) + f::rst_stream(id)));
  h.io.poll();  // both handlers started and wait at the gate
  CHECK(h.c->in_flight() == 2);
  REQUIRE(h.feed(f::headers(5, f::get_block("a.test"))));
  const auto fs = h.frames();
  const f::Frame* refused = find(fs, f::RST_STREAM, 5);
  REQUIRE(refused);
  CHECK(f::rst_error(*refused) == 7);  // REFUSED_STREAM
  CHECK(h.counters.refused_streams == 1);
  CHECK(h.seen.size() == 2);
  h.gate.cancel();
  h.io.restart();
  h.io.run();
  CHECK(h.c->in_flight() == 0);
  CHECK(count(h.frames(), f::HEADERS) == 0);  // the reset streams' answers are dropped
}

TEST_CASE("h2: a rapid-reset flood gets GOAWAY with ENHANCE_YOUR_CALM") {
  Harness h(settings(100, 10));
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings()));
  bool refused = false;
  uint32_t id = 1;
  for (int i = 0; i < 50 && !refused; ++i, id += 2)
    refused = !h.feed(f::headers(id, f::get_block("a.test")) + f::rst_stream(id));
  CHECK(refused);
  CHECK(id <= 2 * 12 + 1);  // stopped right after the 11th reset
  CHECK(h.counters.goaway_resets == 1);
  CHECK(h.counters.client_resets == 11);
  const auto fs = h.frames();
  const f::Frame* goaway = find(fs, f::GOAWAY, 0);
  REQUIRE(goaway);
  CHECK(f::goaway_error(*goaway) == f::kEnhanceYourCalm);
  CHECK(h.c->done());
  h.io.run();  // the handlers of the streams dispatched meanwhile end without trouble
}

TEST_CASE("h2: a PING flood gets GOAWAY with ENHANCE_YOUR_CALM") {
  Harness h(settings(100, 200, 20));
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings()));
  std::string pings;
  for (int i = 0; i < 100; ++i) pings += f::ping(static_cast<uint64_t>(i));
  CHECK_FALSE(h.feed(pings));
  CHECK(h.counters.goaway_control == 1);
  const auto fs = h.frames();
  const f::Frame* goaway = find(fs, f::GOAWAY, 0);
  REQUIRE(goaway);
  CHECK(f::goaway_error(*goaway) == f::kEnhanceYourCalm);
}

namespace {

// A connection whose handler keeps each request's streamed body and answers once `gate` opens.
struct StreamingHarness {
  boost::asio::io_context io;
  h2::ServerCounters counters;
  std::shared_ptr<h2::RequestBody> body;
  boost::asio::steady_timer gate{io, std::chrono::steady_clock::time_point::max()};
  std::shared_ptr<h2::ServerConnection> c;
  std::string out;
  std::size_t used = 0;

  explicit StreamingHarness(std::size_t max_body) {
    c = std::make_shared<h2::ServerConnection>(
        io, h2::ServerLimits{settings(), 4096, max_body},
        [this](h2::StreamRequest& r, h2::Response& res) -> boost::asio::awaitable<void> {
          body = r.body;
          boost::system::error_code ec;
          co_await gate.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
          res = h2::Response(http::status::ok, 11);
        },
        counters);
  }
  bool feed(const std::string& bytes) { return c->receive(bytes.data(), bytes.size()); }
  // WINDOW_UPDATE frames for the stream sent since the last call.
  std::size_t window_updates(uint32_t stream) {
    c->take_output(out);
    std::size_t n = 0;
    for (const auto& fr : f::parse(out, used)) n += fr.type == f::WINDOW_UPDATE && fr.stream == stream;
    return n;
  }
};

std::string grpc_head(uint32_t stream) {
  return f::headers(stream, f::get_block("a.test", "/echo.Echo/Chat") + f::literal("content-type", "application/grpc"),
                    false);
}

}  // namespace

TEST_CASE("h2: a gRPC request is handed over at its head; its body follows within flow control") {
  StreamingHarness h(1 << 20);
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings() + grpc_head(1)));
  h.io.poll();
  REQUIRE(h.body);  // no END_STREAM yet, and already being served
  CHECK(h.body->received == 0);
  const std::string piece(13000, 'a');
  REQUIRE(h.feed(f::data(1, piece, false) + f::data(1, piece, false) + f::data(1, piece, false)));
  CHECK(h.body->received == 39000);
  CHECK(h.window_updates(1) == 0);  // not given back: no backend took it (the client's window stays closed)
  h.c->body_taken(*h.body, 39000);
  CHECK(h.window_updates(1) == 1);
  CHECK(h.body->consumed == 39000);
  CHECK(h.body->replayable());  // under RequestBody::kKeep: the bytes sent are kept for a resend
  REQUIRE(h.feed(f::data(1, "end", true)));
  CHECK(h.body->ended);
  h.gate.cancel();
  h.io.poll();
  CHECK(h.body->finished);  // answered: what no backend took is given back
  CHECK(h.body->consumed == 39003);
}

TEST_CASE("h2: a streamed body over max_body_bytes is flagged, its excess dropped") {
  StreamingHarness h(1000);
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings() + grpc_head(1) + f::data(1, std::string(800, 'a'), false) +
                 f::data(1, std::string(800, 'a'), false)));
  h.io.poll();
  REQUIRE(h.body);
  CHECK(h.body->too_large);  // the handler answers 413 or resets
  CHECK(h.body->received == 800);
  h.gate.cancel();
  h.io.poll();
}
