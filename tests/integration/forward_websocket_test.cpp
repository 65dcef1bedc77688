// WebSocket over HTTP/1.1 through the L7 listener: a real client (Python's websocket-client,
// Debian python3-websocket) and Beast's WebSocket client, through the tier, to echo backends
// (Beast's WebSocket server). Messages both ways (the backend also speaks first), in clear
// text and over TLS termination; the backend sees the upgrade with its forwarding headers;
// the idle timeout closes an idle relay; least connections sees the open WebSockets;
// invalid upgrade requests get 400 and a backend that does not switch protocols is answered
// as usual.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <fstream>

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include "forward_support/backends.hpp"
#include "forward_support/tls.hpp"
#include "forward_support/ws_echo.hpp"
#include "health/health_table.hpp"
#include "integration/harness/process.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;
namespace websocket = beast::websocket;

namespace {

// Beast's WebSocket client, blocking, with socket timeouts.
class WsClient {
 public:
  explicit WsClient(uint16_t port, const std::string& target = "/chat") : ws_(io_) {
    ws_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    meridian::test::set_timeouts(ws_.next_layer().native_handle(), 20000);
    ws_.handshake("test.local", target);
  }
  std::string read() {
    beast::flat_buffer b;
    ws_.read(b);
    return beast::buffers_to_string(b.data());
  }
  void write(const std::string& m) { ws_.write(asio::buffer(m)); }
  // Waits for the connection to end (the proxy closing it): the error the read ended with.
  boost::system::error_code wait_closed() {
    beast::flat_buffer b;
    boost::system::error_code ec;
    ws_.read(b, ec);
    return ec;
  }
  void close() { ws_.close(websocket::close_code::normal); }

 private:
  asio::io_context io_;
  websocket::stream<tcp::socket> ws_;
};

json ws_region(const std::vector<std::string>& backends, json l7) {
  json list = json::array();
  for (const auto& b : backends) list.push_back(b);
  l7["listen"] = "127.0.0.1:0";
  return {{"backends", list}, {"forward", {{"l7", l7}, {"outlier", {{"consecutive_failures", 0}}}}}};
}

double metric(const ForwardingTier& tier, const std::string& name) {
  const std::string text = tier.metrics();
  const auto at = text.find("\n" + name + "{");
  if (at == std::string::npos) return -1;
  const auto end = text.find('\n', at + 1);
  const std::string line = text.substr(at + 1, end - at - 1);
  return std::stod(line.substr(line.rfind(' ') + 1));
}

// Debian's python3 (python3-websocket is a Debian package; another python3 may come first
// on PATH).
std::string system_python() { return ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3"; }

// The Python websocket-client: reads the greeting, sends `n` text messages of growing size and
// one binary message, checks every echo, closes. Prints the greeting and "ok N".
std::string python_echo(const std::string& url, int n, const std::string& ca = "", const std::string& name = "") {
  meridian::test::TempDir dir;
  dir.write("client.py", R"(import ssl, sys
import websocket
url, n, ca, name = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
sslopt = {"ca_certs": ca, "cert_reqs": ssl.CERT_REQUIRED, "server_hostname": name, "check_hostname": True} if ca else {}
ws = websocket.create_connection(url, timeout=20, sslopt=sslopt)
print(ws.recv())
for i in range(n):
    msg = "message %d " % i + "x" * (i * 3000)
    ws.send(msg)
    got = ws.recv()
    assert got == msg, "echo %d: %d bytes, sent %d" % (i, len(got), len(msg))
data = bytes(range(256)) * 300
ws.send_binary(data)
assert ws.recv() == data, "binary echo"
ws.close()
print("ok", n)
)");
  const auto r = meridian::test::run_command({system_python(), dir.file("client.py"), url, std::to_string(n), ca, name});
  return r.exit_code == 0 ? r.out : "python exit " + std::to_string(r.exit_code) + ": " + r.out + r.err;
}

}  // namespace

TEST_CASE("WebSocket: a real client's echo through the proxy, in clear text") {
  WsEchoBackend echo("echo");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(ws_region({echo.address()}, json::object())));
  const uint16_t port = port_of(tier, "l7");

  CHECK(python_echo("ws://127.0.0.1:" + std::to_string(port) + "/chat", 20) == "hello from echo\nok 20\n");
  // the backend saw the upgrade with its headers kept and the forwarding headers added
  const auto req = echo.last_request();
  CHECK(beast::iequals(req[http::field::upgrade], "websocket"));
  CHECK(req[http::field::connection].find("Upgrade") != beast::string_view::npos);
  CHECK(req["X-Forwarded-For"] == "127.0.0.1");
  CHECK(req["X-Forwarded-Proto"] == "http");
  CHECK(req.target() == "/chat");
  CHECK(wait_until([&] { return metric(tier, "meridian_forward_websocket_active") == 0; }));
  CHECK(metric(tier, "meridian_forward_websocket_total") == 1);
  CHECK(metric(tier, "meridian_forward_websocket_bytes_total") > 20 * 3000);
  // the relay ended when the client closed: the backend's session ended too
  CHECK(wait_until([&] { return echo.open() == 0; }));
}

TEST_CASE("WebSocket: over TLS termination (wss://), the client verifying the listener's certificate") {
  TestPki pki;
  const std::string cert = pki.issue("www", {"www.example.test"});
  WsEchoBackend echo("echo");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(ws_region(
      {echo.address()},
      {{"tls", {{"certificates", {{{"cert", cert}, {"key", cert.substr(0, cert.size() - 4) + ".key"}}}}}}})));
  const uint16_t port = port_of(tier, "l7");

  CHECK(python_echo("wss://127.0.0.1:" + std::to_string(port) + "/chat", 20, pki.ca(), "www.example.test") ==
        "hello from echo\nok 20\n");
  CHECK(echo.last_request()["X-Forwarded-Proto"] == "https");
  CHECK(wait_until([&] { return metric(tier, "meridian_forward_websocket_active") == 0; }));
  CHECK(metric(tier, "meridian_forward_websocket_total") == 1);
  // several at once, each on its own relay
  std::vector<std::thread> clients;
  std::vector<std::string> results(4);
  for (std::size_t i = 0; i < results.size(); ++i)
    clients.emplace_back([&, i] {
      results[i] = python_echo("wss://127.0.0.1:" + std::to_string(port) + "/", 5, pki.ca(), "www.example.test");
    });
  for (auto& c : clients) c.join();
  for (const auto& r : results) CHECK(r == "hello from echo\nok 5\n");
  CHECK(wait_until([&] { return echo.open() == 0 && metric(tier, "meridian_forward_websocket_active") == 0; }));
}

TEST_CASE("WebSocket: the idle timeout closes an idle relay, traffic keeps it open") {
  WsEchoBackend echo("echo");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(ws_region({echo.address()}, {{"websocket", {{"idle_timeout", "2s"}}}})));
  const uint16_t port = port_of(tier, "l7");

  WsClient c(port);
  CHECK(c.read() == "hello from echo");
  // messages every 300 ms for 3 s: longer than the timeout, never idle that long
  for (int i = 0; i < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    c.write("ping " + std::to_string(i));
    CHECK(c.read() == "ping " + std::to_string(i));
  }
  CHECK(metric(tier, "meridian_forward_websocket_active") == 1);
  // then silence: the proxy closes both sides
  const auto start = std::chrono::steady_clock::now();
  const auto ec = c.wait_closed();
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(ec);
  CHECK(waited >= std::chrono::milliseconds(1900));
  CHECK(waited < std::chrono::seconds(15));
  CHECK(wait_until([&] { return echo.open() == 0; }));
  CHECK(metric(tier, "meridian_forward_websocket_idle_timeouts_total") == 1);
  CHECK(metric(tier, "meridian_forward_websocket_active") == 0);
}

TEST_CASE("WebSocket: least connections counts the open WebSockets of each backend") {
  WsEchoBackend a("a"), b("b");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(ws_region({a.address(), b.address()}, {{"balance", "least_conn"}})));
  const uint16_t port = port_of(tier, "l7");

  // each new WebSocket goes to the backend with fewer open ones (ties: either)
  std::vector<std::unique_ptr<WsClient>> open;
  std::vector<std::string> on;  // the backend of each, by its greeting
  const auto connect = [&] {
    open.push_back(std::make_unique<WsClient>(port));
    on.push_back(open.back()->read() == "hello from a" ? "a" : "b");
    return on.back();
  };
  const auto other = [](const std::string& x) { return x == "a" ? std::string("b") : std::string("a"); };
  const auto active = [&](const std::string& x) {
    return backend_status(tier, x == "a" ? a.address() : b.address())["active"].get<int>();
  };
  const std::string first = connect();
  CHECK(active(first) == 1);
  CHECK(connect() == other(first));  // 1 : 0
  const std::string third = connect();  // 1 : 1, either
  CHECK(connect() == other(third));     // 2 : 1
  CHECK(active("a") == 2);
  CHECK(active("b") == 2);
  CHECK(metric(tier, "meridian_forward_websocket_active") == 4);
  // a closed one stops counting: the next goes where it was
  open[2]->close();
  CHECK(wait_until([&] { return metric(tier, "meridian_forward_websocket_active") == 3; }));
  CHECK(active(third) == 1);
  CHECK(connect() == third);
  CHECK(active("a") == 2);
  CHECK(active("b") == 2);
  for (std::size_t i = 0; i < open.size(); ++i)
    if (i != 2) open[i]->close();
  CHECK(wait_until([&] { return active("a") == 0 && active("b") == 0; }));
}

TEST_CASE("WebSocket: invalid upgrades get 400; a backend that does not switch protocols answers as usual") {
  WsEchoBackend echo("echo");
  HttpBackend plain("plain");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(ws_region({echo.address()}, json::object())));
  const uint16_t port = port_of(tier, "l7");
  const std::string upgrade = "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

  CHECK(status_of(raw_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade + "\r\n")) == 400);  // no key
  CHECK(status_of(raw_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n" + upgrade +
                                         "Sec-WebSocket-Key: short\r\n\r\n")) == 400);
  CHECK(status_of(raw_exchange(port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + upgrade + key +
                                         "\r\n")) == 400);
  CHECK(status_of(raw_exchange(port, "GET / HTTP/1.0\r\nHost: x\r\n" + upgrade + key + "\r\n")) == 400);
  CHECK(status_of(raw_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" +
                                         key + "\r\n")) == 400);  // no version
  CHECK(echo.upgrades() == 0);

  // a backend that answers 200 to the upgrade: the client gets that 200, and the connection
  // goes on as HTTP
  tier.apply(services(ws_region({plain.address()}, json::object())));
  const std::string two = raw_exchange(port, "GET /a HTTP/1.1\r\nHost: x\r\n" + upgrade + key +
                                                 "\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  CHECK(status_of(two) == 200);
  CHECK(two.find("Upgrade") == std::string::npos);
  const auto second = two.find("HTTP/1.1 200", 5);
  CHECK(second != std::string::npos);
  CHECK(metric(tier, "meridian_forward_websocket_total") == 0);
}

TEST_CASE("WebSocket: toward a TLS backend (verified with the test CA), from clear-text and TLS clients") {
  TestPki pki;
  const std::string listener_cert = pki.issue("www", {"www.example.test"});
  const std::string backend_cert = pki.issue("backend", {"backend.example.test"});
  const auto key_of = [](const std::string& c) { return c.substr(0, c.size() - 4) + ".key"; };
  TestPki other;  // a CA the backend's certificate does not chain to
  WsEchoBackend secure("secure", backend_cert, key_of(backend_cert));
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  const auto region = [&](const std::string& ca, json l7) {
    l7["listen"] = "127.0.0.1:0";
    return json{{"backends", json::array({{{"address", secure.address()},
                                           {"tls", {{"ca", ca}, {"sni", "backend.example.test"}}}}})},
                {"forward", {{"l7", l7}, {"outlier", {{"consecutive_failures", 0}}}}}};
  };

  tier.apply(services(region(pki.ca(), json::object())));
  CHECK(python_echo("ws://127.0.0.1:" + std::to_string(port_of(tier, "l7")) + "/chat", 20) ==
        "hello from secure\nok 20\n");
  CHECK(secure.last_request()["X-Forwarded-Proto"] == "http");
  CHECK(wait_until([&] { return metric(tier, "meridian_forward_websocket_active") == 0 && secure.open() == 0; }));

  tier.apply(services(region(
      pki.ca(), {{"tls", {{"certificates", {{{"cert", listener_cert}, {"key", key_of(listener_cert)}}}}}}})));
  CHECK(python_echo("wss://127.0.0.1:" + std::to_string(port_of(tier, "l7")) + "/chat", 20, pki.ca(),
                    "www.example.test") == "hello from secure\nok 20\n");
  CHECK(secure.last_request()["X-Forwarded-Proto"] == "https");
  CHECK(wait_until([&] { return metric(tier, "meridian_forward_websocket_active") == 0 && secure.open() == 0; }));
  CHECK(metric(tier, "meridian_forward_websocket_total") == 2);
  CHECK(secure.upgrades() == 2);

  // verification is on: a CA that did not sign the backend's certificate fails the handshake
  tier.apply(services(region(other.ca(), json::object())));
  const std::string upgrade =
      "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  CHECK(status_of(raw_exchange(port_of(tier, "l7"), upgrade, 3000)) == 502);  // then kept open: read until the timeout
  CHECK(backend_status(tier, secure.address())["last_error"].get<std::string>().find("certificate verify failed") !=
        std::string::npos);
  CHECK(secure.upgrades() == 2);
}

TEST_CASE("WebSocket: a graceful stop closes open WebSockets at once instead of waiting out the drain") {
  TestPki pki;
  const std::string backend_cert = pki.issue("backend", {"backend.example.test"});
  WsEchoBackend clear("clear");
  WsEchoBackend secure("secure", backend_cert, backend_cert.substr(0, backend_cert.size() - 4) + ".key");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  // two regions: one relays over the epoll relay (clear text both ways), one over TLS toward its backend
  json plain = ws_region({clear.address()}, json::object());
  plain["forward"]["drain_timeout"] = "60s";
  json tls = {{"backends", json::array({{{"address", secure.address()},
                                         {"tls", {{"ca", pki.ca()}, {"sni", "backend.example.test"}}}}})},
              {"forward", {{"l7", {{"listen", "127.0.0.1:0"}}}, {"drain_timeout", "60s"}}}};
  auto plan = services(plain);
  plan.push_back(services(tls, "web", "tls").front());
  tier.apply(plan);
  std::vector<std::unique_ptr<WsClient>> open;
  for (std::size_t n = 0; n < 2; ++n) {
    REQUIRE(port_of(tier, "l7", n) != 0);
    open.push_back(std::make_unique<WsClient>(port_of(tier, "l7", n)));
    const std::string greeting = open.back()->read();
    CHECK((greeting == "hello from clear" || greeting == "hello from secure"));
  }
  // one relay open on each listener
  const std::string m = tier.metrics();
  std::size_t relays = 0;
  for (auto at = m.find("\nmeridian_forward_websocket_active{"); at != std::string::npos;
       at = m.find("\nmeridian_forward_websocket_active{", at + 1))
    relays += std::stoul(m.substr(m.find(' ', m.find('}', at)) + 1));
  CHECK(relays == 2);

  // the drain is 60 s; a WebSocket would hold it all: the stop closes them and returns
  const auto start = std::chrono::steady_clock::now();
  tier.stop();
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
  for (auto& c : open) CHECK(c->wait_closed());
  CHECK(wait_until([&] { return clear.open() == 0 && secure.open() == 0; }));
}
