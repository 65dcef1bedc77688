// HTTP/2 toward backends ("protocol": "h2") and gRPC through the L7 listener, with real
// peers: nghttpd (Debian nghttp2-server) as the h2c and TLS (ALPN h2) backend, curl
// --http1.1 / --http2-prior-knowledge / --http2 as clients, h2load for many streams over
// few backend sessions, a backend that dies with the request in flight, and a Python
// grpcio echo server and client (Debian python3-grpcio): unary, server-streaming (the
// messages arrive as sent), a failure whose status and message arrive intact, trailing
// metadata, bidirectional (ping-pong too: the request body streamed), a client-streaming
// upload, over h2c and over TLS; the grpc-status metric counts them.
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>

#include <nghttp2/nghttp2.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <regex>
#include <thread>

#include "forward_support/backends.hpp"
#include "forward_support/h2_frames.hpp"
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

// An HTTP/2 backend written with raw frames (h2_frames.hpp), for what real servers do
// not do on demand. Each connection gets SETTINGS (and its SETTINGS acked); then, by mode:
// goaway_first: the first connection answers its first request HEADERS with GOAWAY (last
// stream id 0: the stream refused), later connections answer every request 200 "ok";
// silent: no request is ever answered (the connection stays open); answer_at_end: a
// request is answered 200 "ok" once its body ended (END_STREAM), as a gRPC server of a
// client-streaming call answers only after the client's last message.
class ScriptedH2Backend {
 public:
  enum class Mode { goaway_first, silent, answer_at_end };
  explicit ScriptedH2Backend(Mode mode) : mode_(mode), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] {
      for (int index = 0; !stop_; ++index) {
        auto s = std::make_shared<tcp::socket>(io_);
        boost::system::error_code ec;
        acceptor_.accept(*s, ec);
        if (ec || stop_) break;
        ++accepted_;
        connections_.emplace_back([this, s, index] { serve(*s, index); });
      }
    });
  }
  ~ScriptedH2Backend() {
    stop_ = true;
    connectable(port());  // wakes the accept
    thread_.join();
    for (auto& t : connections_) t.join();
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  int accepted() const { return accepted_; }
  int requests() const { return requests_; }
  // Each connection's request HEADERS blocks (HPACK), in order: (connection, block).
  std::vector<std::pair<int, std::string>> blocks() const {
    std::lock_guard lock(blocks_mutex_);
    return blocks_;
  }

 private:
  void serve(tcp::socket& s, int index) {
    namespace f = h2frames;
    boost::system::error_code ec;
    asio::write(s, asio::buffer(f::frame(f::SETTINGS, 0, 0, "")), ec);
    std::string in;
    std::size_t at = f::kPreface.size();
    char buf[16384];
    while (!stop_ && !ec) {
      pollfd ready{s.native_handle(), POLLIN, 0};
      if (::poll(&ready, 1, 200) <= 0) continue;  // wakes up to see stop_
      const std::size_t n = s.read_some(asio::buffer(buf), ec);
      in.append(buf, n);
      while (in.size() >= at + 9) {  // whole frames after the preface
        const auto* h = reinterpret_cast<const unsigned char*>(in.data() + at);
        const std::size_t length = (std::size_t(h[0]) << 16) | (std::size_t(h[1]) << 8) | h[2];
        if (in.size() < at + 9 + length) break;
        const uint8_t type = h[3], flags = h[4];
        const uint32_t id = ((uint32_t(h[5]) & 0x7f) << 24) | (uint32_t(h[6]) << 16) | (uint32_t(h[7]) << 8) | h[8];
        at += 9 + length;
        std::string reply;
        if (type == f::SETTINGS && !(flags & f::ACK)) reply = f::frame(f::SETTINGS, f::ACK, 0, "");
        if (type == f::HEADERS) {
          ++requests_;
          {
            std::lock_guard lock(blocks_mutex_);
            std::size_t begin = at - length, end = at;  // the header block fragment, without padding and priority
            if (flags & 0x8) end -= static_cast<unsigned char>(in[begin++]);
            if (flags & 0x20) begin += 5;
            blocks_.push_back({index, in.substr(begin, end - begin)});
          }
          if (mode_ == Mode::goaway_first && index == 0) {
            std::string payload;
            f::put32(payload, 0);  // last stream id: none processed
            f::put32(payload, 0);  // NO_ERROR
            reply += f::frame(f::GOAWAY, 0, 0, payload);
          } else if (mode_ == Mode::goaway_first || (mode_ == Mode::answer_at_end && (flags & f::END_STREAM))) {
            reply += f::frame(f::HEADERS, f::END_HEADERS, id, "\x88");  // :status 200 (static index 8)
            reply += f::frame(f::DATA, f::END_STREAM, id, "ok");
          }
        }
        if (type == f::DATA && mode_ == Mode::answer_at_end) {
          if (length > 0) {  // the body's bytes back to both windows
            std::string increment;
            f::put32(increment, static_cast<uint32_t>(length));
            reply += f::frame(f::WINDOW_UPDATE, 0, 0, increment);
            reply += f::frame(f::WINDOW_UPDATE, 0, id, increment);
          }
          if (flags & f::END_STREAM) {
            reply += f::frame(f::HEADERS, f::END_HEADERS, id, "\x88");
            reply += f::frame(f::DATA, f::END_STREAM, id, "ok");
          }
        }
        if (!reply.empty()) asio::write(s, asio::buffer(reply), ec);
      }
    }
  }

  Mode mode_;
  asio::io_context io_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0}, requests_{0};
  mutable std::mutex blocks_mutex_;
  std::vector<std::pair<int, std::string>> blocks_;
  std::thread thread_;
  std::vector<std::thread> connections_;  // touched by thread_ only until it joined
};

// A connection's first HEADERS block decoded (nghttp2's HPACK inflater): name, value and
// whether the field came as a literal never to be indexed.
struct DecodedField {
  std::string name, value;
  bool never_indexed = false;
};
std::vector<DecodedField> decode_first_block(const std::string& block) {
  std::vector<DecodedField> out;
  nghttp2_hd_inflater* inflater = nullptr;
  REQUIRE(nghttp2_hd_inflate_new(&inflater) == 0);
  const auto* in = reinterpret_cast<const uint8_t*>(block.data());
  std::size_t left = block.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    const ssize_t used = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, in, left, 1);
    REQUIRE(used >= 0);
    in += used;
    left -= static_cast<std::size_t>(used);
    if (flags & NGHTTP2_HD_INFLATE_EMIT)
      out.push_back({std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                     std::string(reinterpret_cast<char*>(nv.value), nv.valuelen),
                     (nv.flags & NGHTTP2_NV_FLAG_NO_INDEX) != 0});
    if (flags & NGHTTP2_HD_INFLATE_FINAL) break;
    if (used == 0 && left == 0) break;
  }
  nghttp2_hd_inflate_end_headers(inflater);
  nghttp2_hd_inflate_del(inflater);
  return out;
}

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
  // the session's handshake counts in the backend's TLS counters, as HTTP/1.1 connections' do
  const std::string label = "backend=\"" + backend.address() + "\"";
  CHECK(metric(tier.metrics(), "meridian_forward_backend_tls_handshakes_total", label) == 1);
  CHECK(metric(tier.metrics(), "meridian_forward_backend_tls_handshake_failures_total", label) == 0);
  CHECK(backend_status(tier, backend.address())["tls"]["handshakes"] == 1);

  // a handshake that fails (here the name) is a failed connect: 502
  tier.apply(services(region(json::array({h2_backend(backend.address(), {{"tls", {{"ca", pki.ca()}, {"sni", "other.test"}}}})}),
                             {{"tls", tls}})));
  auto args = common;
  args.insert(args.end(), {"--http2", "-o", "/dev/null", target});
  CHECK(curl(args) == "2 502");  // the name does not match the backend's certificate
  const json b = backend_status(tier, backend.address());
  CHECK(b["last_error"].get<std::string>().find("tls handshake failed") != std::string::npos);
  CHECK(b["tls"]["handshake_failures"].get<int>() >= 1);
  CHECK(metric(tier.metrics(), "meridian_forward_backend_tls_handshake_failures_total", label) >= 1);
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
  // each message sent only after the previous answer: the request body is streamed
  CHECK(out["pingpong_code"] == "OK");
  CHECK(out["pingpong"] == json::array({"chat:1", "chat:2", "chat:3"}));
  CHECK(out["upload"] == "4194304 bytes in 64 messages");
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
  CHECK(metric(m, "meridian_forward_grpc_responses_total", "status=\"0\"") == 5);  // unary, stream, chat, ping-pong, upload
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

TEST_CASE("h2 backend: a stream refused by the backend's GOAWAY is sent again on a new session") {
  ScriptedH2Backend backend(ScriptedH2Backend::Mode::goaway_first);
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(region(json::array({h2_backend(backend.address())}))));
  const uint16_t port = port_of(tier, "l7");
  // a POST: not idempotent, yet safe to send again, since the backend said it did not process it
  CHECK(curl({"--http2-prior-knowledge", "--data-binary", "payload", "-w", " %{http_code}", url(port, "/post")}) ==
        "ok 200");
  CHECK(backend.accepted() == 2);
  CHECK(backend.requests() == 2);
  CHECK(metric(tier.metrics(), "meridian_forward_http2_backend_sessions_total") == 2);
  CHECK(tier.status()["listeners"][0]["retries"].get<int>() == 0);  // a resend, not a retry
  // X-Request-ID, new in every request, goes as a literal never indexed: indexed, it would
  // push the backend's useful dynamic-table entries out.
  const auto blocks = backend.blocks();
  REQUIRE(blocks.size() == 2);
  for (const auto& [connection, block] : blocks) {
    CAPTURE(connection);
    int ids = 0;
    for (const DecodedField& field : decode_first_block(block)) {
      if (field.name != "x-request-id") continue;
      ++ids;
      CHECK(field.never_indexed);
      CHECK_FALSE(field.value.empty());
    }
    CHECK(ids == 1);
  }
}

TEST_CASE("h2 backend: a stream never answered times out (timeouts.backend): retried elsewhere, else 504") {
  const Docroot dir;
  Nghttpd good(dir, "good");
  ScriptedH2Backend silent(ScriptedH2Backend::Mode::silent);
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  const json l7 = {{"timeouts", {{"backend", "500ms"}}}, {"retry", {{"backoff", {{"base", "1ms"}, {"cap", "5ms"}}}}}};
  tier.apply(services(region(json::array({h2_backend(silent.address()), h2_backend(good.address())}), l7)));
  const uint16_t port = port_of(tier, "l7");
  for (int i = 0; i < 4; ++i)
    CHECK(curl({"--http2-prior-knowledge", "-w", " %{http_code}", url(port, "/index.html")}) ==
          "hello from nghttpd\n 200");
  CHECK(silent.requests() >= 2);  // round robin sent half of the first attempts there
  CHECK(backend_status(tier, silent.address())["timeouts"].get<int>() >= 2);

  // alone, it leaves a 504 (GET retried on nothing else; a POST is not retried at all)
  tier.apply(services(region(json::array({h2_backend(silent.address())}), l7)));
  const uint16_t port2 = port_of(tier, "l7");
  CHECK(curl({"--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", url(port2, "/index.html")}) == "504");
  CHECK(curl({"--http2-prior-knowledge", "--data-binary", "x", "-o", "/dev/null", "-w", "%{http_code}",
              url(port2, "/post")}) == "504");
}

TEST_CASE("h2 backend: a streamed gRPC body's backend may wait for the body's end past timeouts.backend; an idle client gets 408") {
  ScriptedH2Backend backend(ScriptedH2Backend::Mode::answer_at_end);
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  const json l7 = {{"timeouts", {{"backend", "500ms"}, {"request", "2s"}}}};
  tier.apply(services(region(json::array({h2_backend(backend.address())}), l7)));
  const uint16_t port = port_of(tier, "l7");
  // curl -T - streams stdin as it comes: three pieces a second apart, then the end
  auto streamed_call = [&](const std::string& pieces) {
    const auto r = meridian::test::run_command(
        {"/bin/sh", "-c",
         "(" + pieces + ") | curl -sS --max-time 20 --http2-prior-knowledge -H 'content-type: application/grpc' " +
             "-X POST -T - -w ' %{http_code}' " + url(port, "/pkg.Svc/Upload")});
    return r.out;
  };
  const auto started = std::chrono::steady_clock::now();
  CHECK(streamed_call("printf a; sleep 1; printf b; sleep 1; printf c") == "ok 200");
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::seconds(2));
  // the client stops sending for longer than timeouts.request: 408, not the backend's fault
  const std::string idle = streamed_call("printf a; sleep 4; printf b");
  CHECK(idle.substr(idle.size() - 3) == "408");
  CHECK(backend_status(tier, backend.address())["timeouts"].get<int>() == 0);
}

namespace {

// grpc_calls.py: one mode, its output.
std::vector<std::string> grpc_calls_argv(const std::string& target, const std::string& mode, int n) {
  return {"/usr/bin/python3", meridian::test::source_path("tests/integration/forward_support/grpc_calls.py"), target,
          mode, std::to_string(n)};
}

}  // namespace

TEST_CASE("h2 backend: least_conn counts open streams (a backend with a long stream gets the new ones elsewhere)") {
  GrpcServer a, b;
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(region(json::array({h2_backend(a.address()), h2_backend(b.address())}),
                             {{"balance", "least_conn"}})));
  const std::string target = "127.0.0.1:" + std::to_string(port_of(tier, "l7"));
  // a server stream of 30 messages, 300 ms apart: open for 9 s on one of the two
  meridian::test::TempDir dir;
  Child stream(grpc_calls_argv(target, "stream", 30), dir.file("stream.log"));
  std::string busy, idle;
  REQUIRE(wait_until([&] {
    for (const auto& [x, y] : {std::pair{&a, &b}, std::pair{&b, &a}})
      if (backend_status(tier, x->address())["active"] == 1) {
        busy = x->address();
        idle = y->address();
        return true;
      }
    return false;
  }));
  const auto r = meridian::test::run_command(grpc_calls_argv(target, "unary", 10), std::chrono::seconds(60));
  INFO(r.out << r.err);
  CHECK(r.out == "10\n");
  CHECK(backend_status(tier, busy)["active"] == 1);  // the stream is still open
  CHECK(backend_status(tier, busy)["requests"] == 1);
  CHECK(backend_status(tier, idle)["requests"] == 10);
}

namespace {

// A client that reads only when told: nghttp (Debian nghttp2-client) writing the body to a
// pipe that is not read stops reading its connection once the pipe is full.
class StalledDownload {
 public:
  explicit StalledDownload(const std::string& url) {
    const std::string command = "exec nghttp --timeout=60s " + url;
    pipe_ = ::popen(command.c_str(), "r");
  }
  ~StalledDownload() {
    if (pipe_) {
      drain();
      ::pclose(pipe_);
    }
  }
  StalledDownload(const StalledDownload&) = delete;
  StalledDownload& operator=(const StalledDownload&) = delete;
  bool started() const { return pipe_ != nullptr; }
  // Reads to the end; the bytes read.
  std::size_t drain() {
    char buf[65536];
    while (const std::size_t n = std::fread(buf, 1, sizeof buf, pipe_)) read_ += n;
    return read_;
  }

 private:
  FILE* pipe_ = nullptr;
  std::size_t read_ = 0;
};

}  // namespace

TEST_CASE("h2 backend: a client that stops reading holds the backend back (the proxy queues a bounded amount)") {
  meridian::test::TempDir dir;
  const std::size_t size = 48u << 20;
  dir.write("huge", std::string(size, 'h'));
  Nghttpd backend(dir, "backend");
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(region(json::array({h2_backend(backend.address())}))));
  const uint16_t port = port_of(tier, "l7");
  StalledDownload client(url(port, "/huge"));
  REQUIRE(client.started());
  // the relay stops taking the backend's DATA once the client is behind
  REQUIRE(wait_until([&] { return metric(tier.metrics(), "meridian_forward_http2_relay_pauses_total") >= 1; }));
  const double peak = metric(tier.metrics(), "meridian_forward_http2_relay_queued_peak_bytes");
  MESSAGE("most bytes queued for the stalled client: " << peak);
  // 256 KiB toward the client and one backend stream window (1 MiB) at most, not the 48 MiB
  CHECK(peak <= 2.5 * (1 << 20));
  CHECK(client.drain() == size);  // reading again, the rest arrives
  CHECK(metric(tier.metrics(), "meridian_forward_http2_relay_queued_peak_bytes") <= 2.5 * (1 << 20));
}
