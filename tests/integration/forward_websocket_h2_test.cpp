// WebSocket over HTTP/2 (RFC 8441 extended CONNECT) through the L7 listener, with a client
// of libnghttp2's (forward_support/h2_ws_client.hpp: no Debian command-line client speaks
// it) to a plain RFC 6455 echo backend: several WebSockets multiplexed on one connection,
// over h2c and over TLS with ALPN h2 (to a clear-text and to a TLS backend, verified); a
// message larger than the windows (flow control both ways), and a client that stops
// reading holding the proxy's buffering to its bounds; the idle timeout resetting an idle
// stream while its connection goes on; the backend closing ending the stream; CONNECTs
// that are not a WebSocket refused.
#include <doctest/doctest.h>

#include <thread>

#include "forward_support/backends.hpp"
#include "forward_support/h2_ws_client.hpp"
#include "forward_support/tls.hpp"
#include "forward_support/ws_echo.hpp"
#include "health/health_table.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;
namespace frames = fwdtest::ws_frames;

namespace {

json ws_region(const json& backends, json l7) {
  l7["listen"] = "127.0.0.1:0";
  return {{"backends", backends}, {"forward", {{"l7", l7}, {"outlier", {{"consecutive_failures", 0}}}}}};
}

double metric(const ForwardingTier& tier, const std::string& name, const std::string& labels = "") {
  const std::string text = tier.metrics();
  std::size_t at = 0;
  while ((at = text.find("\n" + name + "{", at)) != std::string::npos) {
    const auto end = text.find('\n', at + 1);
    const std::string line = text.substr(at + 1, end - at - 1);
    if (labels.empty() || line.find(labels) != std::string::npos) return std::stod(line.substr(line.rfind(' ') + 1));
    at = end;
  }
  return -1;
}

// n messages of growing size on each stream, interleaved, each echo checked.
void echo_interleaved(H2WsClient& c, const std::vector<int32_t>& ids, int n) {
  for (int i = 0; i < n; ++i) {
    for (std::size_t k = 0; k < ids.size(); ++k)
      c.send_message(ids[k], "stream " + std::to_string(k) + " message " + std::to_string(i) + std::string(i * 500, 'x'));
    for (std::size_t k = 0; k < ids.size(); ++k)
      CHECK(c.read_message(ids[k]) ==
            "stream " + std::to_string(k) + " message " + std::to_string(i) + std::string(i * 500, 'x'));
  }
}

// The client's close handshake: a close frame, the backend's close frame back, then the
// backend closes its connection, which ends the stream (END_STREAM); the client ends its side.
void close_websocket(H2WsClient& c, int32_t id) {
  c.send_message(id, std::string("\x03\xe8", 2), frames::close);
  frames::Frame f;
  CHECK(c.read_frame(id, f));
  CHECK(f.opcode == frames::close);
  CHECK(c.pump([&] { return c.stream(id).ended; }));
  c.end(id);
  CHECK(c.pump([&] { return c.stream(id).closed; }));
  CHECK(c.stream(id).close_code == 0);
}

std::string binary_payload(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
  return s;
}

}  // namespace

TEST_CASE("WebSocket over HTTP/2: three WebSockets on one h2c connection, echoed, closed cleanly") {
  WsEchoBackend echo("echo");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(ws_region(json::array({echo.address()}), json::object())));
  const uint16_t port = port_of(tier, "l7");

  H2WsClient c(port);
  REQUIRE(c.connect_protocol_enabled());
  std::vector<int32_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(c.open("/chat?room=" + std::to_string(i)));
  for (const int32_t id : ids) {
    CHECK(c.read_message(id) == "hello from echo");
    CHECK(c.stream(id).status == 200);
    CHECK(c.stream(id).headers.count("sec-websocket-accept") == 0);
    CHECK(c.stream(id).headers.count("x-request-id") == 1);
  }
  CHECK(metric(tier, "meridian_forward_websocket_active") == 3);
  CHECK(echo.open() == 3);
  echo_interleaved(c, ids, 10);
  // the backend got a plain RFC 6455 upgrade, with the forwarding headers
  const auto req = echo.last_request();
  CHECK(req.method() == http::verb::get);
  CHECK(req.version() == 11);
  CHECK(beast::iequals(req[http::field::upgrade], "websocket"));
  CHECK(req[http::field::sec_websocket_version] == "13");
  CHECK(req[http::field::sec_websocket_key].size() == 24);
  CHECK(req["X-Forwarded-Proto"] == "http");
  CHECK(req[http::field::host] == "ws.example.test");
  CHECK(req.target().starts_with("/chat?room="));

  for (const int32_t id : ids) close_websocket(c, id);
  CHECK(wait_until([&] { return metric(tier, "meridian_forward_websocket_active") == 0 && echo.open() == 0; }));
  CHECK(metric(tier, "meridian_forward_websocket_total") == 3);
  CHECK(metric(tier, "meridian_forward_websocket_bytes_total", "direction=\"in\"") > 3 * 10 * 2000);
  // the connection goes on: another WebSocket on it
  const int32_t again = c.open("/again");
  CHECK(c.read_message(again) == "hello from echo");
  close_websocket(c, again);
}

TEST_CASE("WebSocket over HTTP/2: TLS with ALPN h2, to a clear-text and to a TLS backend; messages beyond the windows") {
  TestPki pki;
  const std::string cert = pki.issue("www", {"ws.example.test"});
  const std::string backend_cert = pki.issue("backend", {"backend.example.test"});
  const auto key_of = [](const std::string& c) { return c.substr(0, c.size() - 4) + ".key"; };
  WsEchoBackend plain("plain");
  WsEchoBackend secure("secure", backend_cert, key_of(backend_cert));
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  const json tls_listener = {{"certificates", {{{"cert", cert}, {"key", key_of(cert)}}}}, {"alpn", {"h2", "http/1.1"}}};
  for (const bool tls_backend : {false, true}) {
    CAPTURE(tls_backend);
    const json backend = tls_backend ? json{{"address", secure.address()},
                                            {"tls", {{"ca", pki.ca()}, {"sni", "backend.example.test"}}}}
                                     : json(plain.address());
    tier.apply(services(ws_region(json::array({backend}), {{"tls", tls_listener}})));
    const uint16_t port = port_of(tier, "l7");
    const std::string name = tls_backend ? "secure" : "plain";

    H2WsClient c(port, pki.ca(), "ws.example.test");
    REQUIRE(c.connect_protocol_enabled());
    const int32_t a = c.open("/a"), b = c.open("/b");
    CHECK(c.read_message(a) == "hello from " + name);
    CHECK(c.read_message(b) == "hello from " + name);
    // 1 MiB each way on both streams at once: sixteen times the default stream window
    const std::string big = binary_payload(1 << 20);
    c.send_message(a, big, frames::binary);
    c.send_message(b, big, frames::binary);
    frames::Frame fa, fb;
    CHECK(c.read_frame(a, fa, std::chrono::seconds(60)));
    CHECK(c.read_frame(b, fb, std::chrono::seconds(60)));
    CHECK(fa.opcode == frames::binary);
    CHECK(fa.payload == big);
    CHECK(fb.payload == big);
    echo_interleaved(c, {a, b}, 3);
    CHECK((tls_backend ? secure : plain).last_request()["X-Forwarded-Proto"] == "https");
    close_websocket(c, a);
    close_websocket(c, b);
    CHECK(wait_until([&] { return metric(tier, "meridian_forward_websocket_active") == 0; }));
  }
  CHECK(secure.upgrades() == 2);
  CHECK(plain.upgrades() == 2);
}

TEST_CASE("WebSocket over HTTP/2: a client that stops reading holds the proxy's buffering to the windows") {
  WsEchoBackend echo("echo");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(ws_region(json::array({echo.address()}), json::object())));
  H2WsClient c(port_of(tier, "l7"), "", "", /*auto_consume=*/false);
  REQUIRE(c.connect_protocol_enabled());
  const int32_t id = c.open("/slow");
  CHECK(c.read_message(id) == "hello from echo");
  c.consume(id);
  const std::string big = binary_payload(4 << 20);
  c.send_message(id, big, frames::binary);
  const auto out = [&] { return metric(tier, "meridian_forward_websocket_bytes_total", "direction=\"out\""); };
  // the client sends all of it (the proxy writes it to the backend, reopening the window) but
  // reads nothing back: the echo stops at the client's window plus the proxy's bound
  CHECK(c.pump([&] { return c.stream(id).to_send.empty() && out() > 60000; }, std::chrono::seconds(60)));
  c.pump([] { return false; }, std::chrono::milliseconds(1500));
  const double held = out();
  MESSAGE("read from the backend while the client did not read: " << held << " bytes");
  CHECK(held < 65535 + 65536 + 16384 + 1024);
  CHECK(c.stream(id).received.size() <= 65535 + 64);
  // reading again: the whole echo arrives
  frames::Frame f;
  bool got = false;
  CHECK(c.pump([&] {
    c.consume(id);
    return got = got || frames::take_server_frame(c.stream(id).received, f);
  }, std::chrono::seconds(60)));
  CHECK(f.payload == big);
  close_websocket(c, id);
}

TEST_CASE("WebSocket over HTTP/2: the idle timeout resets an idle stream; traffic keeps it; the connection goes on") {
  WsEchoBackend echo("echo");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(ws_region(json::array({echo.address()}), {{"websocket", {{"idle_timeout", "2s"}}}})));
  H2WsClient c(port_of(tier, "l7"));
  REQUIRE(c.connect_protocol_enabled());
  const int32_t id = c.open("/idle");
  CHECK(c.read_message(id) == "hello from echo");
  // a message every 300 ms for 3 s: longer than the timeout, never idle that long
  for (int i = 0; i < 10; ++i) {
    c.pump([] { return false; }, std::chrono::milliseconds(300));
    c.send_message(id, "ping " + std::to_string(i));
    CHECK(c.read_message(id) == "ping " + std::to_string(i));
  }
  CHECK(metric(tier, "meridian_forward_websocket_active") == 1);
  const auto start = std::chrono::steady_clock::now();
  CHECK(c.pump([&] { return c.stream(id).closed; }, std::chrono::seconds(15)));
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(waited >= std::chrono::milliseconds(1900));
  CHECK(c.stream(id).close_code == NGHTTP2_CANCEL);
  CHECK(wait_until([&] { return echo.open() == 0; }));
  CHECK(metric(tier, "meridian_forward_websocket_idle_timeouts_total") == 1);
  CHECK(metric(tier, "meridian_forward_websocket_active") == 0);
  // the connection itself was not idle-closed: a new WebSocket on it works
  const int32_t next = c.open("/next");
  CHECK(c.read_message(next) == "hello from echo");
  close_websocket(c, next);
}

TEST_CASE("WebSocket over HTTP/2: the backend closing ends the stream") {
  WsEchoBackend echo("echo", "", "", /*close_after=*/1);
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(ws_region(json::array({echo.address()}), json::object())));
  H2WsClient c(port_of(tier, "l7"));
  REQUIRE(c.connect_protocol_enabled());
  const int32_t id = c.open("/bye");
  CHECK(c.read_message(id) == "hello from echo");
  c.send_message(id, "one");
  CHECK(c.read_message(id) == "one");
  // the backend's close frame, then (after ours) its TCP close: END_STREAM
  frames::Frame f;
  CHECK(c.read_frame(id, f));
  CHECK(f.opcode == frames::close);
  c.send_message(id, std::string("\x03\xe8", 2), frames::close);
  CHECK(c.pump([&] { return c.stream(id).ended; }));
  CHECK(c.pump([&] { return c.stream(id).closed; }, std::chrono::seconds(10)));  // we did not end: RST NO_ERROR
  CHECK(c.stream(id).close_code == NGHTTP2_NO_ERROR);
  CHECK(wait_until([&] { return metric(tier, "meridian_forward_websocket_active") == 0 && echo.open() == 0; }));
}

TEST_CASE("WebSocket over HTTP/2: CONNECTs that are not a WebSocket are refused, the connection goes on") {
  WsEchoBackend echo("echo");
  HttpBackend plain("plain");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(ws_region(json::array({echo.address()}), json::object())));
  H2WsClient c(port_of(tier, "l7"));
  REQUIRE(c.connect_protocol_enabled());
  const auto status_of_stream = [&](int32_t id) {
    c.pump([&] { return c.stream(id).status != 0 || c.stream(id).closed; });
    return c.stream(id).status;
  };
  CHECK(status_of_stream(c.open("", "", {}, /*with_protocol=*/false)) == 501);  // a forward proxy's CONNECT
  CHECK(status_of_stream(c.open("/x", "chat")) == 501);
  // no Sec-WebSocket-Version: the open() of a raw stream with another version field set
  const int32_t bad = c.open("/x", "websocket", {{"sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="}});
  CHECK(status_of_stream(bad) == 400);
  CHECK(echo.upgrades() == 0);
  CHECK(!c.broken());
  const int32_t ok = c.open("/ok");
  CHECK(c.read_message(ok) == "hello from echo");
  close_websocket(c, ok);

  // a backend that does not switch protocols: 502, not its 200 (which would open the tunnel)
  const double upgraded = metric(tier, "meridian_forward_websocket_total");
  tier.apply(services(ws_region(json::array({plain.address()}), json::object())));
  H2WsClient d(port_of(tier, "l7"));
  REQUIRE(d.connect_protocol_enabled());
  const int32_t refused = d.open("/chat");
  d.pump([&] { return d.stream(refused).status != 0; });
  CHECK(d.stream(refused).status == 502);
  CHECK(metric(tier, "meridian_forward_websocket_total") == upgraded);
}
