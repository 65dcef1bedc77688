// TLS servers for the client-side TLS tests (backends and https/h2 checks), each a real
// program on 127.0.0.1: an HTTPS backend in Python (ssl + http.server) whose answer says
// whether the session was resumed, and nghttpd (Debian nghttp2-server) for HTTP/2 over
// TLS (ALPN h2) or h2c with prior knowledge. Stopped on destruction. Header-only.
#pragma once
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "integration/harness/process.hpp"

namespace fwdtest {

// A child process, killed and reaped on destruction (or stop()).
class PeerProcess {
 public:
  PeerProcess() = default;
  ~PeerProcess() { stop(); }
  PeerProcess(const PeerProcess&) = delete;
  PeerProcess& operator=(const PeerProcess&) = delete;

  void start(std::vector<std::string> argv, const std::string& log) {
    log_ = log;
    pid_ = meridian::test::spawn_process(std::move(argv), log);
    if (pid_ <= 0) throw std::runtime_error("cannot start " + log);
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  std::string log() const { return meridian::test::read_file(log_); }

 private:
  pid_t pid_ = -1;
  std::string log_;
};

inline bool port_accepts(uint16_t port) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
  return !ec;
}

inline std::string required_program(const std::string& name) {
  const auto path = meridian::test::find_program(name);
  if (!path) throw std::runtime_error(name + " is not installed (scripts/deps.sh installs it)");
  return *path;
}

// GET anything: 200 with "NAME resumed=0|1" (whether this connection resumed a TLS session).
class HttpsBackend {
 public:
  HttpsBackend(const std::string& name, const std::string& cert, const std::string& key) {
    const std::string script = dir_.write("https_backend.py", R"(import http.server, ssl, sys
cert, key, name = sys.argv[1:4]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.path == "/eof":  # a body that ends with the connection, closed without close_notify
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"body up to the close")
            self.close_connection = True
            return
        body = ("%s resumed=%d" % (name, 1 if self.connection.session_reused else 0)).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    def handle_error(self, request, client_address):
        pass  # the tests make handshakes fail on purpose
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server = Server(("127.0.0.1", 0), Handler)
server.socket = context.wrap_socket(server.socket, server_side=True)
print("listening", server.server_address[1], flush=True)
server.serve_forever()
)");
    process_.start({required_program("python3"), script, cert, key, name}, dir_.file("backend.log"));
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < end) {
      const std::string log = process_.log();
      const auto at = log.find("listening ");
      if (at != std::string::npos && log.find('\n', at) != std::string::npos) {
        port_ = static_cast<uint16_t>(std::stoi(log.substr(at + 10)));
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("the HTTPS backend did not start: " + process_.log());
  }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void stop() { process_.stop(); }

 private:
  meridian::test::TempDir dir_;
  PeerProcess process_;
  uint16_t port_ = 0;
};

// nghttpd serving docroot/: over TLS with cert/key (ALPN h2), or h2c (prior knowledge)
// when cert is empty.
class Nghttpd {
 public:
  Nghttpd(const std::string& cert, const std::string& key) {
    dir_.write("docroot/health", "ok\n");
    port_ = meridian::test::free_udp_tcp_port();
    std::vector<std::string> argv{required_program("nghttpd"), "-d", dir_.file("docroot"), "-a", "127.0.0.1"};
    if (cert.empty()) argv.insert(argv.end(), {"--no-tls", std::to_string(port_)});
    else argv.insert(argv.end(), {std::to_string(port_), key, cert});
    process_.start(argv, dir_.file("nghttpd.log"));
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < end) {
      if (port_accepts(port_)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("nghttpd did not start: " + process_.log());
  }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void stop() { process_.stop(); }

 private:
  meridian::test::TempDir dir_;
  PeerProcess process_;
  uint16_t port_ = 0;
};

}  // namespace fwdtest
