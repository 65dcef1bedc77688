// WebSocket over HTTP/2 (RFC 8441) on the server side of an L7 client connection, driven
// with raw frames and no socket: SETTINGS_ENABLE_CONNECT_PROTOCOL offered, an extended
// CONNECT handed over at its HEADERS with a tunnel, its DATA held until the relay consumed
// it (no WINDOW_UPDATE before: the back-pressure), the tunnel's bytes going out as DATA,
// END_STREAM and resets both ways; and the handshake helpers of websocket.hpp.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "forward/l7/h2/server_connection.hpp"
#include "forward/l7/websocket.hpp"
#include "integration/forward_support/h2_frames.hpp"

namespace h2 = meridian::forward::l7::h2;
namespace l7 = meridian::forward::l7;
namespace f = fwdtest::h2frames;
namespace http = boost::beast::http;

namespace {

// :method CONNECT, :scheme http, :path, :authority, :protocol and sec-websocket-version.
std::string connect_block(std::string_view protocol, std::string_view path = "/chat") {
  std::string b;
  b.push_back(0x02);  // literal without indexing, name index 2 (:method)
  b.push_back(7);
  b += "CONNECT";
  b.push_back(static_cast<char>(0x86));  // :scheme http
  b.push_back(0x04);
  b.push_back(static_cast<char>(path.size()));
  b += path;
  b.push_back(0x01);
  b.push_back(6);
  b += "a.test";
  if (!protocol.empty()) b += f::literal(":protocol", protocol);
  b += f::literal("sec-websocket-version", "13");
  return b;
}

struct TunnelHarness {
  boost::asio::io_context io;
  h2::ServerCounters counters;
  std::shared_ptr<h2::ServerConnection> c;
  std::shared_ptr<h2::Tunnel> tunnel;
  std::string protocol, method;
  int wakes = 0;
  boost::asio::steady_timer gate{io, std::chrono::steady_clock::time_point::max()};
  std::string out;
  std::size_t used = 0;

  TunnelHarness() {
    meridian::forward::Http2Settings s;
    c = std::make_shared<h2::ServerConnection>(
        io, h2::ServerLimits{s, 4096, 1024},
        [this](h2::StreamRequest& r, h2::Response& res) -> boost::asio::awaitable<void> {
          protocol = r.protocol;
          method = std::string(r.req.method_string());
          tunnel = r.tunnel;
          if (tunnel && protocol == "websocket") {
            tunnel->wake = [this] { ++wakes; };
            h2::Response ok(http::status::ok, 11);
            ok.set("sec-websocket-protocol", "chat");
            tunnel->outbound = "hello";
            c->open_tunnel(*tunnel, ok);
            boost::system::error_code ec;
            co_await gate.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
            co_return;
          }
          res = h2::Response(http::status::not_implemented, 11);
        },
        counters);
  }
  bool feed(const std::string& bytes) {
    const bool ok = c->receive(bytes.data(), bytes.size());
    io.poll();
    io.restart();
    return ok;
  }
  std::vector<f::Frame> frames() {
    c->take_output(out);
    return f::parse(out, used);
  }
};

const f::Frame* find(const std::vector<f::Frame>& fs, uint8_t type, uint32_t stream) {
  for (const auto& fr : fs)
    if (fr.type == type && fr.stream == stream) return &fr;
  return nullptr;
}

}  // namespace

TEST_CASE("h2 tunnel: ENABLE_CONNECT_PROTOCOL is offered; an extended CONNECT becomes a tunnel") {
  TunnelHarness h;
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings() + f::headers(1, connect_block("websocket"), false) +
                 f::data(1, "abc", false)));
  auto fs = h.frames();
  // our SETTINGS: MAX_CONCURRENT_STREAMS, MAX_HEADER_LIST_SIZE, ENABLE_CONNECT_PROTOCOL = 1
  const f::Frame* settings = nullptr;
  for (const auto& fr : fs)
    if (fr.type == f::SETTINGS && !(fr.flags & f::ACK)) settings = &fr;
  REQUIRE(settings);
  bool offered = false;
  for (std::size_t at = 0; at + 6 <= settings->payload.size(); at += 6)
    offered = offered || (settings->payload[at + 1] == 0x08 && f::read32(settings->payload, at + 2) == 1);
  CHECK(offered);

  REQUIRE(h.tunnel);
  CHECK(h.protocol == "websocket");
  CHECK(h.method == "CONNECT");
  // the answer: 200 without END_STREAM, then the tunnel's bytes
  const f::Frame* headers = find(fs, f::HEADERS, 1);
  REQUIRE(headers);
  CHECK_FALSE((headers->flags & f::END_STREAM));
  const f::Frame* data = find(fs, f::DATA, 1);
  REQUIRE(data);
  CHECK(data->payload == "hello");
  CHECK_FALSE((data->flags & f::END_STREAM));
  CHECK(h.tunnel->inbound == "abc");
  CHECK(h.tunnel->unconsumed == 3);
}

TEST_CASE("h2 tunnel: DATA reopens the stream window only once the relay consumed it") {
  TunnelHarness h;
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings() + f::headers(1, connect_block("websocket"), false)));
  h.frames();
  REQUIRE(h.tunnel);
  // a whole stream window of DATA (65535 bytes), nothing consumed: no WINDOW_UPDATE for it
  const std::string chunk(16383, 'd');
  std::string bytes;
  for (int i = 0; i < 4; ++i) bytes += f::data(1, chunk, false);
  bytes += f::data(1, std::string(65535 - 4 * 16383, 'e'), false);
  const int wakes = h.wakes;
  REQUIRE(h.feed(bytes));
  CHECK(h.wakes > wakes);
  CHECK(h.tunnel->inbound.size() == 65535);
  CHECK_FALSE(find(h.frames(), f::WINDOW_UPDATE, 1));
  // the relay wrote it to the backend: the window opens
  h.tunnel->inbound.clear();
  h.c->tunnel_consumed(*h.tunnel, 65535);
  CHECK(h.tunnel->unconsumed == 0);
  const auto fs = h.frames();
  const f::Frame* update = find(fs, f::WINDOW_UPDATE, 1);
  REQUIRE(update);
  CHECK(f::read32(update->payload, 0) == 65535);
}

TEST_CASE("h2 tunnel: the backend's end is END_STREAM after the bytes; the client's END_STREAM and RST reach the tunnel") {
  TunnelHarness h;
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings() + f::headers(1, connect_block("websocket"), false) +
                 f::headers(3, connect_block("websocket"), false)));
  h.frames();
  REQUIRE(h.tunnel);
  auto third = h.tunnel;  // the last handler's: stream 3's
  REQUIRE(third->stream_id == 3);
  third->outbound += "bye";
  third->backend_ended = true;
  h.c->tunnel_send(*third);
  auto fs = h.frames();
  const f::Frame* last = nullptr;
  for (const auto& fr : fs)
    if (fr.type == f::DATA && fr.stream == 3) last = &fr;
  REQUIRE(last);
  CHECK((last->flags & f::END_STREAM));
  CHECK(third->end_sent);
  // the client ends its side: the stream closes
  REQUIRE(h.feed(f::data(3, "", true)));
  CHECK(third->client_ended);
  CHECK(third->closed);
  // stream 1: the client resets it
  REQUIRE(h.feed(f::rst_stream(1)));
  CHECK(h.counters.client_resets == 1);
}

TEST_CASE("h2 tunnel: a plain CONNECT and other protocols are handed over for the handler to refuse") {
  TunnelHarness h;
  std::string plain;
  plain.push_back(0x02);
  plain.push_back(7);
  plain += "CONNECT";
  plain.push_back(0x01);
  plain.push_back(10);
  plain += "a.test:443";
  REQUIRE(h.feed(std::string(f::kPreface) + f::settings() + f::headers(1, plain, false)));
  auto fs = h.frames();
  CHECK(h.method == "CONNECT");
  CHECK(h.protocol.empty());
  const f::Frame* headers = find(fs, f::HEADERS, 1);
  REQUIRE(headers);
  CHECK((headers->flags & f::END_STREAM));
  REQUIRE(h.feed(f::headers(3, connect_block("chat"), false) + f::data(3, "ignored", false)));
  fs = h.frames();
  CHECK(h.protocol == "chat");
  CHECK(find(fs, f::HEADERS, 3));
  // DATA after a refusal is dropped; what came before it is given back to flow control
  REQUIRE(h.tunnel);
  CHECK(h.tunnel->finished);
  CHECK(h.tunnel->unconsumed == 0);
  REQUIRE(h.feed(f::data(3, std::string(1000, 'x'), false)));
  CHECK(h.tunnel->inbound == "ignored");
  CHECK(h.tunnel->unconsumed == 0);
  CHECK_FALSE(h.c->done());
}

TEST_CASE("websocket: the handshake helpers (RFC 6455 4.2.2's example; keys; RFC 8441's request)") {
  CHECK(l7::websocket_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  const std::string a = l7::new_websocket_key(), b = l7::new_websocket_key();
  CHECK(a.size() == 24);
  CHECK(a.substr(22) == "==");
  CHECK(a != b);
  l7::Request req(http::verb::connect, "/chat", 11);
  CHECK(l7::check_websocket_connect(req) == "a WebSocket CONNECT needs one Sec-WebSocket-Version");
  req.set("Sec-WebSocket-Version", "13");
  CHECK(l7::check_websocket_connect(req).empty());
  req.set("Sec-WebSocket-Version", "x");
  CHECK(!l7::check_websocket_connect(req).empty());
  req.set("Sec-WebSocket-Version", "13");
  req.set("Sec-WebSocket-Key", a);
  CHECK(l7::check_websocket_connect(req) == "an extended CONNECT has no Sec-WebSocket-Key");
}
