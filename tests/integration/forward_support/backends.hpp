// Real backends and clients for the forwarding tier's integration tests, all on
// 127.0.0.1 with kernel-chosen ports: small blocking HTTP/1.1 (Beast) and TCP servers,
// one thread per connection, plus clients with timeouts. Header-only.
#pragma once
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "forward/forwarding_tier.hpp"

namespace fwdtest {

// The L7 listener ports from the `event=forward_listening kind=l7 address=IP:PORT` lines, by IP.
inline std::map<std::string, uint16_t> l7_ports(const std::string& log) {
  std::map<std::string, uint16_t> out;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.find("event=forward_listening") == std::string::npos || line.find("kind=l7") == std::string::npos)
      continue;
    const auto at = line.find("address=");
    if (at == std::string::npos) continue;
    std::string addr = line.substr(at + 8);
    addr = addr.substr(0, addr.find(' '));
    const auto colon = addr.rfind(':');
    out[addr.substr(0, colon)] = static_cast<uint16_t>(std::stoi(addr.substr(colon + 1)));
  }
  return out;
}


namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

template <class Pred>
bool wait_until(Pred p, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return p();
}

inline void set_timeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Accepts on 127.0.0.1 and runs `serve` for each connection on its own thread.
class Server {
 public:
  using Serve = std::function<void(tcp::socket&)>;
  explicit Server(Serve serve, uint16_t port = 0) : serve_(std::move(serve)) { start(port); }
  ~Server() { stop(); }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Throws when it cannot listen (then nothing runs).
  void start(uint16_t port) {
    auto a = std::make_unique<tcp::acceptor>(io_);
    const tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    a->open(ep.protocol());
    a->set_option(tcp::acceptor::reuse_address(true));
    a->bind(ep);
    a->listen(512);
    a->non_blocking(true);
    acceptor_ = std::move(a);
    port_ = acceptor_->local_endpoint().port();
    stopping_ = false;
    thread_ = std::thread([this] { loop(); });
  }
  // Closes the listener (new connects are refused) and every open connection.
  void stop() {
    if (!acceptor_) return;
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    boost::system::error_code ec;
    acceptor_->close(ec);
    acceptor_.reset();
    {
      std::lock_guard l(mutex_);
      for (auto* s : open_) ::shutdown(s->native_handle(), SHUT_RDWR);
    }
    for (auto& c : conns_) c.thread.join();
    conns_.clear();
  }
  // Listens again on the same port. While the port was free, a client socket may have
  // been given it as its local port: retry until that connection is gone (bounded).
  void restart() {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      try {
        start(port_);
        return;
      } catch (const boost::system::system_error& e) {
        if (e.code() != boost::asio::error::address_in_use || std::chrono::steady_clock::now() > end) throw;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // retry pace, bounded by the deadline
    }
  }

 private:
  void loop() {
    while (!stopping_) {
      pollfd p{acceptor_->native_handle(), POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      boost::system::error_code ec;
      tcp::socket s(io_);
      acceptor_->accept(s, ec);
      if (ec) continue;
      s.non_blocking(false);
      reap();
      auto done = std::make_shared<std::atomic<bool>>(false);
      conns_.push_back({std::thread([this, done, sock = std::make_shared<tcp::socket>(std::move(s))] {
        {
          std::lock_guard l(mutex_);
          open_.push_back(sock.get());
        }
        set_timeouts(sock->native_handle(), 30000);
        try {
          serve_(*sock);
        } catch (...) {
        }
        {
          std::lock_guard l(mutex_);
          std::erase(open_, sock.get());
        }
        boost::system::error_code e;
        sock->close(e);
        *done = true;
      }), done});
    }
  }
  // Joins the threads of connections that ended (long tests with health checks
  // open many short connections).
  void reap() {
    for (auto it = conns_.begin(); it != conns_.end();) {
      if (*it->done) {
        it->thread.join();
        it = conns_.erase(it);
      } else {
        ++it;
      }
    }
  }
  struct Conn {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  Serve serve_;
  asio::io_context io_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::vector<Conn> conns_;
  std::mutex mutex_;
  std::vector<tcp::socket*> open_;
};

struct Reply {
  unsigned status = 200;
  std::string body;
  std::map<std::string, std::string> headers;
  int delay_ms = 0;
};

// HTTP/1.1 backend with keep-alive; by default answers 200 with its name as body.
class HttpBackend {
 public:
  using Handler = std::function<Reply(const Request&)>;
  explicit HttpBackend(std::string name)
      : name_(std::move(name)), server_([this](tcp::socket& s) { serve(s); }) {}
  const std::string& name() const { return name_; }
  std::string address() const { return server_.address(); }
  uint16_t port() const { return server_.port(); }
  void set(Handler h) {
    std::lock_guard l(mutex_);
    handler_ = std::move(h);
  }
  void stop() { server_.stop(); }
  void restart() { server_.restart(); }
  std::optional<Request> last() {
    std::lock_guard l(mutex_);
    return last_;
  }
  std::atomic<int> hits{0};

 private:
  void serve(tcp::socket& s) {
    beast::flat_buffer buf;
    for (;;) {
      Request req;
      boost::system::error_code ec;
      http::read(s, buf, req, ec);
      if (ec) return;
      ++hits;
      Handler h;
      {
        std::lock_guard l(mutex_);
        last_ = req;
        h = handler_;
      }
      Reply r = h ? h(req) : Reply{};
      if (r.body.empty() && r.status == 200) r.body = name_;
      if (r.delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(r.delay_ms));
      Response res{static_cast<http::status>(r.status), 11};
      res.set("X-Backend", name_);
      for (const auto& [k, v] : r.headers) res.set(k, v);
      res.body() = r.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(s, res, ec);
      if (ec || !req.keep_alive()) return;
    }
  }
  std::string name_;
  std::mutex mutex_;
  Handler handler_;
  std::optional<Request> last_;
  Server server_;  // last: its threads use the members above
};

// A keep-alive HTTP client (reconnects when the server closed).
class Client {
 public:
  // source: a local address to bind; host: the server's address.
  explicit Client(uint16_t port, std::string source = "", std::string host = "127.0.0.1")
      : port_(port), source_(std::move(source)), host_(std::move(host)) {}
  // status 0: transport failure
  Response request(http::verb method, const std::string& target, std::map<std::string, std::string> headers = {},
                   const std::string& body = "") {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!sock_ && !connect()) return fail();
      Request req{method, target, 11};
      req.set(http::field::host, "test.local");
      for (const auto& [k, v] : headers) req.set(k, v);
      if (!body.empty() || method == http::verb::post || method == http::verb::put) req.body() = body;
      req.prepare_payload();
      boost::system::error_code ec;
      http::write(*sock_, req, ec);
      http::response_parser<http::string_body> parser;
      parser.body_limit(64u << 20);
      if (method == http::verb::head) parser.skip(true);
      if (!ec) http::read(*sock_, buf_, parser, ec);
      Response res = ec ? Response{} : parser.release();
      if (ec) {
        sock_.reset();
        buf_.clear();
        if (attempt == 0) continue;
        return fail();
      }
      if (!res.keep_alive()) sock_.reset(), buf_.clear();
      return res;
    }
    return fail();
  }
  Response get(const std::string& target, std::map<std::string, std::string> headers = {}) {
    return request(http::verb::get, target, std::move(headers));
  }

 private:
  static Response fail() {
    Response r;
    r.result(static_cast<http::status>(0));
    return r;
  }
  bool connect() {
    auto s = std::make_unique<tcp::socket>(io_);
    boost::system::error_code ec;
    s->open(tcp::v4(), ec);
    if (!source_.empty()) s->bind(tcp::endpoint(asio::ip::make_address(source_), 0), ec);
    s->connect(tcp::endpoint(asio::ip::make_address(host_), port_), ec);
    if (ec) return false;
    set_timeouts(s->native_handle(), 20000);
    sock_ = std::move(s);
    return true;
  }
  asio::io_context io_;
  uint16_t port_;
  std::string source_;
  std::string host_;
  std::unique_ptr<tcp::socket> sock_;
  beast::flat_buffer buf_;
};

inline std::unique_ptr<tcp::socket> connect_raw(asio::io_context& io, uint16_t port, int timeout_ms = 20000) {
  auto s = std::make_unique<tcp::socket>(io);
  s->connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  set_timeouts(s->native_handle(), timeout_ms);
  return s;
}

// Sends raw bytes, then reads until the server closes (or the timeout): everything it said.
inline std::string raw_exchange(uint16_t port, const std::string& bytes, int timeout_ms = 20000) {
  asio::io_context io;
  auto s = connect_raw(io, port, timeout_ms);
  boost::system::error_code ec;
  asio::write(*s, asio::buffer(bytes), ec);
  std::string out;
  char buf[4096];
  for (;;) {
    const std::size_t n = s->read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

inline int status_of(const std::string& raw) {
  if (raw.size() < 12 || raw.compare(0, 5, "HTTP/") != 0) return 0;
  return std::atoi(raw.c_str() + 9);
}

// What the tier is given for one service "web" with one region "eu" whose members
// are `region` (backends, forward...), read as the server reads it at load.
inline meridian::forward::ForwardingPlan services(const nlohmann::json& region, const std::string& service = "web",
                                                  const std::string& region_name = "eu") {
  meridian::forward::ForwardedRegion r{service, region_name, {}};
  std::string errors;
  if (!meridian::forward::parse_region(region, r.settings, [&](const nlohmann::json::json_pointer& at, const std::string& m) {
        errors += at.to_string() + ": " + m + "\n";
      }))
    throw std::runtime_error("invalid forwarding settings:\n" + errors);
  return {std::move(r)};
}

inline nlohmann::json backend_list(const std::vector<HttpBackend*>& bs, const std::vector<uint32_t>& weights = {}) {
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i = 0; i < bs.size(); ++i)
    list.push_back({{"address", bs[i]->address()}, {"weight", i < weights.size() ? weights[i] : 1}});
  return list;
}

// The port a tier listens on for kind ("l4" / "l7"); its n-th listener of that kind.
inline uint16_t port_of(const meridian::forward::ForwardingTier& tier, const std::string& kind, std::size_t n = 0) {
  for (const auto& l : tier.listening()) {
    if (l.rfind(kind + " ", 0) != 0) continue;
    if (n-- == 0) return static_cast<uint16_t>(std::stoi(l.substr(l.rfind(':') + 1)));
  }
  return 0;
}

inline nlohmann::json backend_status(const meridian::forward::ForwardingTier& tier, const std::string& address) {
  const nlohmann::json st = tier.status();  // keep it alive: the loop walks a member of it
  for (const auto& b : st["backends"])
    if (b["address"] == address) return b;
  return {};
}

}  // namespace fwdtest
