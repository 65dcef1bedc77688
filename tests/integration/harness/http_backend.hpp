// Test backends on 127.0.0.1 (port 0: the kernel picks a free one), header-only:
// TcpServer runs a function per accepted connection, each on its own thread;
// HttpBackend is an HTTP/1.1 server on it whose answers the test controls: a reply
// per request (a handler, a script for the next requests, or one for all), with a
// status, body, headers, a delay, or no answer at all ("hang": read the request
// and never answer; "reset": close the connection at once), and stop/start of the
// listener itself (stopped: connection refused). Used by the health-check, admin,
// reload and forwarding tests.
#pragma once
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace meridian::test {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

inline void set_timeouts(int fd, int ms) {
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Accepts on 127.0.0.1 and runs `serve` for each connection on its own thread.
class TcpServer {
 public:
  using tcp = boost::asio::ip::tcp;
  using Serve = std::function<void(tcp::socket&)>;
  explicit TcpServer(Serve serve, uint16_t port = 0) : serve_(std::move(serve)) { start(port); }
  ~TcpServer() { stop(); }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Throws when it cannot listen (then nothing runs).
  void start(uint16_t port) {
    auto a = std::make_unique<tcp::acceptor>(io_);
    const tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
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
  boost::asio::io_context io_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  std::vector<Conn> conns_;
  std::mutex mutex_;
  std::vector<tcp::socket*> open_;
};


// One answer of an HttpBackend.
struct Reply {
  unsigned status = 200;
  std::string body;  // empty with status 200: the backend's default body
  std::map<std::string, std::string> headers;
  std::chrono::milliseconds delay{0};
  bool hang = false;   // read the request, never answer (a timeout for the client)
  bool reset = false;  // close the connection without an answer (RST)

  Reply() = default;
  Reply(unsigned code, std::string text, std::map<std::string, std::string> extra_headers = {})
      : status(code), body(std::move(text)), headers(std::move(extra_headers)) {}

  static Reply ok(std::string text = "OK healthy\n") { return Reply(200, std::move(text)); }
  static Reply status_code(unsigned code, std::string text = "nope\n") { return Reply(code, std::move(text)); }
  // The default answer, sent after a delay.
  static Reply after(std::chrono::milliseconds wait) {
    Reply r;
    r.delay = wait;
    return r;
  }
  static Reply hanging() {
    Reply r(0, "");
    r.hang = true;
    return r;
  }
  static Reply reset_connection() {
    Reply r(0, "");
    r.reset = true;
    return r;
  }
};

// HTTP/1.1 backend with keep-alive (as the request asks). Answers carry
// X-Backend: NAME; by default 200 with NAME as body ("OK healthy\n" without a name).
class HttpBackend {
 public:
  using Handler = std::function<Reply(const HttpRequest&)>;
  explicit HttpBackend(std::string name = "")
      : name_(std::move(name)), default_body_(name_.empty() ? "OK healthy\n" : name_),
        server_([this](boost::asio::ip::tcp::socket& s) { serve(s); }) {}
  HttpBackend(const HttpBackend&) = delete;
  HttpBackend& operator=(const HttpBackend&) = delete;

  const std::string& name() const { return name_; }
  std::string address() const { return server_.address(); }
  uint16_t port() const { return server_.port(); }

  // The answer to every request (replaces the script and the handler).
  void set_reply(Reply r) {
    std::lock_guard l(mutex_);
    default_ = std::move(r);
    script_.clear();
    handler_ = nullptr;
  }
  // Answers for the next requests, in order; then `then` for every request.
  void script(std::vector<Reply> replies, Reply then) {
    std::lock_guard l(mutex_);
    script_.assign(replies.begin(), replies.end());
    default_ = std::move(then);
    handler_ = nullptr;
  }
  // The answer chosen per request (replaces the script and the reply).
  void set(Handler h) {
    std::lock_guard l(mutex_);
    handler_ = std::move(h);
    script_.clear();
  }

  // Closes the listener and every open connection: connects are refused.
  void stop_listening() { server_.stop(); }
  // Listens again on the same port (retrying, bounded, while a client socket holds it);
  // false when it could not.
  bool start_listening() {
    try {
      server_.restart();
      return true;
    } catch (const std::exception&) {
      return false;
    }
  }

  // Connections accepted.
  uint64_t connections() const { return connections_; }
  // Requests read completely.
  uint64_t requests() const { return requests_; }
  // Responses sent with this status.
  uint64_t served(unsigned status) const {
    std::lock_guard l(mutex_);
    const auto it = served_.find(status);
    return it == served_.end() ? 0 : it->second;
  }
  std::optional<HttpRequest> last() const {
    std::lock_guard l(mutex_);
    return last_;
  }

 private:
  Reply next_reply(const HttpRequest& req) {
    std::lock_guard l(mutex_);
    last_ = req;
    if (handler_) return handler_(req);
    if (!script_.empty()) {
      Reply r = std::move(script_.front());
      script_.pop_front();
      return r;
    }
    return default_;
  }

  void serve(boost::asio::ip::tcp::socket& s) {
    namespace http = boost::beast::http;
    ++connections_;
    boost::beast::flat_buffer buf;
    for (;;) {
      HttpRequest req;
      boost::system::error_code ec;
      http::read(s, buf, req, ec);
      if (ec) return;
      ++requests_;
      Reply r = next_reply(req);
      if (r.reset) {
        s.set_option(boost::asio::socket_base::linger(true, 0), ec);
        s.close(ec);
        return;
      }
      if (r.hang) {  // until the client closes or the backend stops (the socket has a read timeout)
        char sink[4096];
        for (;;) {
          s.read_some(boost::asio::buffer(sink), ec);
          if (ec && ec != boost::asio::error::would_block && ec != boost::asio::error::try_again) return;
        }
      }
      if (r.body.empty() && r.status == 200) r.body = default_body_;
      if (r.delay.count() > 0) std::this_thread::sleep_for(r.delay);
      http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
      if (!name_.empty()) res.set("X-Backend", name_);
      res.set(http::field::content_type, "text/plain");
      for (const auto& [k, v] : r.headers) res.set(k, v);
      res.body() = r.body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(s, res, ec);
      {
        std::lock_guard l(mutex_);
        ++served_[r.status];
      }
      if (ec || !req.keep_alive()) return;
    }
  }

  const std::string name_;
  const std::string default_body_;
  mutable std::mutex mutex_;
  Reply default_;
  std::deque<Reply> script_;
  Handler handler_;
  std::optional<HttpRequest> last_;
  std::map<unsigned, uint64_t> served_;
  std::atomic<uint64_t> connections_{0};
  std::atomic<uint64_t> requests_{0};
  TcpServer server_;  // last: its threads use the members above
};

}  // namespace meridian::test
