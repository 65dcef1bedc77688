// HTTP/2 toward backends ("protocol": "h2") and gRPC through the L7 listener, with real
// peers: nghttpd (Debian nghttp2-server) as the h2c and TLS (ALPN h2) backend, curl
// --http1.1 / --http2-prior-knowledge / --http2 as clients, h2load for many streams over
// few backend sessions, a backend that dies with the request in flight, and a Python
// grpcio echo server and client (Debian python3-grpcio): unary, server-streaming (the
// messages arrive as sent), a failure whose status and message arrive intact, trailing
// metadata, bidirectional, over h2c and over TLS; the grpc-status metric counts them.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "forward_support/backends.hpp"
#include "forward_support/tls.hpp"
#include "health/health_table.hpp"
#include "integration/harness/process.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;

namespace {

std::string curl(std::vector<std::string> args) {
  std::vector<std::string> argv{"curl", "-sS", "--max-time", "20"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = meridian::test::run_command(argv);
  return r.exit_code == 0 ? r.out : "curl exit " + std::to_string(r.exit_code) + ": " + r.err;
}

std::string url(uint16_t port, const std::string& path = "/") { return "http://127.0.0.1:" + std::to_string(port) + path; }

bool connectable(uint16_t port) {
  asio::io_context io;
  tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

// A child process (killed with the test).
class Child {
 public:
  Child() = default;
  explicit Child(std::vector<std::string> argv, const std::string& log) : log_(log) {
    pid_ = meridian::test::spawn_process(std::move(argv), log);
  }
  ~Child() { kill(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  bool started() const { return pid_ > 0; }
  std::string log() const { return meridian::test::read_file(log_); }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

// nghttpd serving dir on a free port: h2c with prior knowledge, or TLS (ALPN h2) with
// cert/key; -v: it logs the header fields it receives.
class Nghttpd {
 public:
  Nghttpd(const meridian::test::TempDir& dir, const std::string& name, const std::string& cert = "",
          const std::string& key = "")
      : port_(meridian::test::free_udp_tcp_port()) {
    const std::string program = meridian::test::find_program("nghttpd").value_or("/usr/sbin/nghttpd");
    std::vector<std::string> argv{program, "-v", "-a", "127.0.0.1", "-d", dir.path()};
    if (cert.empty()) argv.push_back("--no-tls");
    argv.push_back(std::to_string(port_));
    if (!cert.empty()) {
      argv.push_back(key);
      argv.push_back(cert);
    }
    child_ = std::make_unique<Child>(argv, dir.file(name + ".log"));
    REQUIRE(child_->started());
    REQUIRE(wait_until([&] { return connectable(port_); }));
  }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return child_->log(); }
  void kill() { child_->kill(); }

 private:
  uint16_t port_;
  std::unique_ptr<Child> child_;
};

// A backend that accepts, reads the start of what comes (the request is in flight), and
// closes: a backend dying mid-stream.
class DyingBackend {
 public:
  DyingBackend() : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] {
      while (!stop_) {
        tcp::socket s(io_);
        boost::system::error_code ec;
        acceptor_.accept(s, ec);
        if (ec || stop_) break;
        ++accepted_;
        meridian::test::set_timeouts(s.native_handle(), 2000);
        char buf[4096];
        std::size_t got = 0;
        while (got < 24 + 9 + 9) {  // the preface, SETTINGS and a HEADERS frame at least
          const std::size_t n = s.read_some(asio::buffer(buf), ec);
          if (ec) break;
          got += n;
        }
        s.close(ec);
      }
    });
  }
  ~DyingBackend() {
    stop_ = true;
    connectable(port());  // wakes the accept
    thread_.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  int accepted() const { return accepted_; }

 private:
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

json h2_backend(const std::string& address, json extra = json::object()) {
  extra["address"] = address;
  extra["protocol"] = "h2";
  return extra;
}

json region(json backends, json l7 = json::object()) {
  l7["listen"] = "127.0.0.1:0";
  return {{"backends", backends}, {"forward", {{"l7", l7}, {"outlier", {{"consecutive_failures", 0}}}}}};
}

// The value of the first sample of `name` whose labels contain `label` (-1: none).
double metric(const std::string& text, const std::string& name, const std::string& label = "") {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + "{", 0) != 0 || line.find(label) == std::string::npos) continue;
    return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

// nghttpd's files.
struct Docroot : meridian::test::TempDir {
  Docroot() {
    write("index.html", "hello from nghttpd\n");
    write("big", std::string(300000, 'x'));
  }
};

}  // namespace

TEST_CASE("h2 backend: HTTP/1.1 and h2c clients through the proxy to nghttpd over h2c") {
  const Docroot dir;
  Nghttpd backend(dir, "h2c");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(region(json::array({h2_backend(backend.address())}))));
  const uint16_t port = port_of(tier, "l7");

  CHECK(curl({"--http1.1", "-w", "%{http_version} %{http_code}", url(port, "/index.html")}) ==
        "hello from nghttpd\n1.1 200");
  CHECK(curl({"--http2-prior-knowledge", "-w", "%{http_version} %{http_code}", url(port, "/index.html")}) ==
        "hello from nghttpd\n2 200");
  CHECK(curl({"--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url(port, "/big")}) ==
        "200 300000");
  CHECK(curl({"--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", url(port, "/big")}) ==
        "200 300000");
  CHECK(curl({"--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", url(port, "/missing")}) == "404");
  // a request body goes through (nghttpd answers the file whatever the method)
  CHECK(curl({"--http1.1", "--data-binary", std::string(5000, 'p'), "-o", "/dev/null", "-w", "%{http_code}",
              url(port, "/index.html")}) == "200");
  // what the backend received: the forwarding headers, as HTTP/2 fields, over HTTP/2
  REQUIRE(wait_until([&] { return backend.log().find("x-forwarded-for: 127.0.0.1") != std::string::npos; }));
  const std::string log = backend.log();
  CHECK(log.find("x-forwarded-proto: http") != std::string::npos);
  CHECK(log.find("x-request-id: ") != std::string::npos);
  CHECK(log.find(":authority: 127.0.0.1:" + std::to_string(port)) != std::string::npos);
  CHECK(log.find(":method: POST") != std::string::npos);
  CHECK(log.find("recv DATA frame") != std::string::npos);
  const std::string m = tier.metrics();
  CHECK(metric(m, "meridian_forward_http2_backend_streams_total") == 6);
  CHECK(metric(m, "meridian_forward_http2_backend_sessions_total") == 1);  // all six on one session
  CHECK(metric(m, "meridian_forward_http_responses_total", "code=\"2xx\"") == 5);

  // A WebSocket upgrade cannot go to an HTTP/2 backend as HTTP/1.1: 502 saying so.
  const std::string upgrade = curl({"--http1.1", "-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H",
                                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "-H", "Sec-WebSocket-Version: 13",
                                    "-w", " %{http_code}", url(port, "/chat")});
  CHECK(upgrade.find("WebSocket toward an HTTP/2 backend is not supported") != std::string::npos);
  CHECK(upgrade.substr(upgrade.size() - 4) == " 502");
}

TEST_CASE("h2 backend over TLS (ALPN h2): curl --http2 over TLS to the proxy, verified TLS to nghttpd") {
  TestPki pki;
  const std::string proxy_cert = pki.issue("www", {"www.example.test"});
  const std::string backend_cert = pki.issue("backend", {"IP:127.0.0.1"});
  const Docroot dir;
  Nghttpd backend(dir, "tls", backend_cert, pki.file("backend.key"));
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  const json tls = {{"certificates", {{{"cert", proxy_cert}, {"key", pki.file("www.key")}}}},
                    {"alpn", {"h2", "http/1.1"}}};
  tier.apply(services(region(json::array({h2_backend(backend.address(), {{"tls", {{"ca", pki.ca()}}}})}),
                             {{"tls", tls}})));
  const uint16_t port = port_of(tier, "l7");
  const std::string target = "https://www.example.test:" + std::to_string(port) + "/index.html";
  const std::vector<std::string> common{"--cacert", pki.ca(), "--resolve",
                                        "www.example.test:" + std::to_string(port) + ":127.0.0.1", "-w",
                                        "%{http_version} %{http_code}"};
  for (const std::string version : {"--http2", "--http1.1"}) {
    auto args = common;
    args.insert(args.end(), {version, target});
    CHECK(curl(args) == "hello from nghttpd\n" + std::string(version == "--http2" ? "2" : "1.1") + " 200");
  }
  REQUIRE(wait_until([&] { return backend.log().find(":scheme: https") != std::string::npos; }));
  CHECK(backend.log().find("x-forwarded-proto: https") != std::string::npos);
  CHECK(metric(tier.metrics(), "meridian_forward_http2_backend_sessions_total") == 1);

  // a handshake that fails (here the name) is a failed connect: 502
  tier.apply(services(region(json::array({h2_backend(backend.address(), {{"tls", {{"ca", pki.ca()}, {"sni", "other.test"}}}})}),
                             {{"tls", tls}})));
  auto args = common;
  args.insert(args.end(), {"--http2", "-o", "/dev/null", target});
  CHECK(curl(args) == "2 502");  // the name does not match the backend's certificate
  const json b = backend_status(tier, backend.address());
  CHECK(b["last_error"].get<std::string>().find("tls handshake failed") != std::string::npos);
}

TEST_CASE("h2 backend: h2load's many streams go over few backend sessions") {
  const Docroot dir;
  Nghttpd a(dir, "a"), b(dir, "b");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(region(json::array({h2_backend(a.address(), {{"h2_max_sessions", 2}}),
                                          h2_backend(b.address(), {{"h2_max_sessions", 2}})}))));
  const uint16_t port = port_of(tier, "l7");
  const auto r = meridian::test::run_command({"h2load", "-n", "3000", "-c", "8", "-m", "32", url(port, "/index.html")},
                                             std::chrono::seconds(120));
  std::smatch m;
  REQUIRE(std::regex_search(r.out, m, std::regex(R"(status codes: (\d+) 2xx)")));
  CHECK(std::stol(m[1]) == 3000);
  const std::string text = tier.metrics();
  CHECK(metric(text, "meridian_forward_http2_backend_streams_total") == 3000);
  // 8 client connections × 32 streams, to two backends of at most 2 sessions each
  const double sessions = metric(text, "meridian_forward_http2_backend_sessions_total");
  MESSAGE("backend sessions opened: " << sessions);
  CHECK(sessions >= 2);
  CHECK(sessions <= 4);
  CHECK(metric(text, "meridian_forward_http2_backend_sessions") <= 4);
}

TEST_CASE("h2 backend dies with the request in flight: idempotent requests go to another backend, POST does not") {
  const Docroot dir;
  Nghttpd good(dir, "good");
  DyingBackend dying;
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(region(json::array({h2_backend(dying.address()), h2_backend(good.address())}),
                             {{"retry", {{"backoff", {{"base", "1ms"}, {"cap", "5ms"}}}}}})));
  const uint16_t port = port_of(tier, "l7");
  for (int i = 0; i < 6; ++i)
    CHECK(curl({"--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", url(port, "/index.html")}) == "200");
  CHECK(dying.accepted() >= 3);  // round robin sent half of the first attempts there
  CHECK(tier.status()["listeners"][0]["retries"].get<int>() >= 3);
  int bad_gateway = 0, ok = 0;
  for (int i = 0; i < 6; ++i) {
    const std::string code = curl({"--http2-prior-knowledge", "--data-binary", "x", "-o", "/dev/null", "-w",
                                   "%{http_code}", url(port, "/index.html")});
    bad_gateway += code == "502";
    ok += code == "200";
  }
  CHECK(bad_gateway >= 1);  // sent, then lost: not safe to send again
  CHECK(bad_gateway + ok == 6);
  const std::string why = backend_status(tier, dying.address())["last_error"].get<std::string>();
  MESSAGE("the dying backend's last error: " << why);
  CHECK((why.find("closed") != std::string::npos || why.find("reset") != std::string::npos ||
         why.find("pipe") != std::string::npos));
}

namespace {

// grpc_echo_server.py on a free port.
class GrpcServer {
 public:
  GrpcServer() {
    const std::string port_file = dir_.file("port");
    child_ = std::make_unique<Child>(
        std::vector<std::string>{"/usr/bin/python3",
                                 meridian::test::source_path("tests/integration/forward_support/grpc_echo_server.py"),
                                 port_file},
        dir_.file("server.log"));
    REQUIRE(wait_until([&] { return std::filesystem::exists(port_file); }));
    port_ = static_cast<uint16_t>(std::stoi(meridian::test::read_file(port_file)));
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  meridian::test::TempDir dir_;
  std::unique_ptr<Child> child_;
  uint16_t port_ = 0;
};

json grpc_client(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/python3",
                                meridian::test::source_path("tests/integration/forward_support/grpc_echo_client.py")};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = meridian::test::run_command(argv, std::chrono::seconds(120));
  INFO("grpc client: " << r.out << r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out);
}

void check_grpc(const json& out) {
  CHECK(out["unary"] == "echo:hello");
  CHECK(out["unary_code"] == "OK");
  CHECK(out["unary_trailers"]["x-trailer"] == "t-value");
  CHECK(out["stream"] == json::array({"message 0", "message 1", "message 2", "message 3"}));
  // sent 300 ms apart, and they arrive so: relayed as they come, not buffered whole
  CHECK(out["stream_spread"].get<double>() >= 0.6);
  CHECK(out["fail_code"] == "NOT_FOUND");
  CHECK(out["fail_message"] == "no such thing: caf\u00e9 / 100% \"quoted\"");
  CHECK(out["fail_trailers"]["x-why"] == "missing");
  CHECK(out["chat"] == json::array({"chat:a", "chat:b", "chat:c"}));
}

}  // namespace

TEST_CASE("gRPC through the proxy over h2c: unary, server streaming, failure status, trailers, metrics") {
  GrpcServer server;
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(region(json::array({h2_backend(server.address())}))));
  const uint16_t port = port_of(tier, "l7");
  check_grpc(grpc_client({"127.0.0.1:" + std::to_string(port)}));
  const std::string m = tier.metrics();
  CHECK(metric(m, "meridian_forward_grpc_responses_total", "status=\"0\"") == 3);  // unary, stream, chat
  CHECK(metric(m, "meridian_forward_grpc_responses_total", "status=\"5\"") == 1);  // NOT_FOUND
  CHECK(metric(m, "meridian_forward_grpc_responses_total", "status=\"other\"") == 0);
}

TEST_CASE("gRPC through the proxy over TLS (ALPN h2) to an h2c backend") {
  TestPki pki;
  const std::string cert = pki.issue("www", {"www.example.test"});
  GrpcServer server;
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  const json tls = {{"certificates", {{{"cert", cert}, {"key", pki.file("www.key")}}}}, {"alpn", {"h2"}}};
  tier.apply(services(region(json::array({h2_backend(server.address())}), {{"tls", tls}})));
  const uint16_t port = port_of(tier, "l7");
  check_grpc(grpc_client({"127.0.0.1:" + std::to_string(port), pki.ca(), "www.example.test"}));
  CHECK(metric(tier.metrics(), "meridian_forward_grpc_responses_total", "status=\"5\"") == 1);
}
