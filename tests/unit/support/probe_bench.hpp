// Test helpers for probes: one io_context that runs both the probe and the
// local listeners it talks to (127.0.0.1, port 0), and a bounded run of one
// attempt to its result.
#pragma once
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include "health/checks/probe.hpp"

namespace meridian::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

inline const asio::ip::address kLoopback = asio::ip::make_address("127.0.0.1");

// A port where nothing listens: a socket bound to it but not listening, so a
// connection is refused and no other program can take the port meanwhile.
class RefusingPort {
 public:
  explicit RefusingPort(asio::io_context& io) : socket_(io) {
    socket_.open(tcp::v4());
    socket_.bind(tcp::endpoint(kLoopback, 0));
  }
  tcp::endpoint endpoint() const { return socket_.local_endpoint(); }

 private:
  tcp::socket socket_;
};

// Listens without ever accepting: the kernel completes connections on its own.
class ListeningPort {
 public:
  explicit ListeningPort(asio::io_context& io, int backlog = asio::socket_base::max_listen_connections)
      : acceptor_(io) {
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(kLoopback, 0));
    acceptor_.listen(backlog);
  }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }

 private:
  tcp::acceptor acceptor_;
};

// Accepts, reads a request head and answers with `response` (the bytes as sent),
// or keeps the connection open without a word when `response` is empty.
class HttpResponder {
 public:
  HttpResponder(asio::io_context& io, std::string response) : io_(io), acceptor_(io), response_(std::move(response)) {
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(kLoopback, 0));
    acceptor_.listen();
    accept();
  }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  // Every request head received, in order.
  const std::vector<std::string>& requests() const { return requests_; }
  void close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    for (auto& c : connections_) c->socket.close(ignored);
  }

 private:
  struct Connection {
    explicit Connection(asio::io_context& io) : socket(io) {}
    tcp::socket socket;
    asio::streambuf in;
  };

  void accept() {
    auto c = std::make_shared<Connection>(io_);
    acceptor_.async_accept(c->socket, [this, c](const boost::system::error_code& ec) {
      if (ec) return;
      connections_.push_back(c);
      asio::async_read_until(c->socket, c->in, "\r\n\r\n", [this, c](const boost::system::error_code& e, std::size_t n) {
        if (e) return;
        requests_.emplace_back(asio::buffers_begin(c->in.data()), asio::buffers_begin(c->in.data()) + static_cast<std::ptrdiff_t>(n));
        if (response_.empty()) return;  // never answers
        asio::async_write(c->socket, asio::buffer(response_), [c](const boost::system::error_code&, std::size_t) {
          boost::system::error_code ignored;
          c->socket.shutdown(tcp::socket::shutdown_both, ignored);
          c->socket.close(ignored);
        });
      });
      accept();
    });
  }

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  std::string response_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::vector<std::string> requests_;
};

inline std::string http_response(unsigned status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

struct Attempt {
  health::ProbeResult result;
  std::chrono::steady_clock::duration took{};
  int reports = 0;  // how often `done` ran
};

// Runs one attempt against `target` with the given timeout, for at most 20 s;
// then stops `listeners` and runs what is left, so a second report would show.
template <class... Listener>
Attempt run_attempt(asio::io_context& io, health::Probe& probe, const tcp::endpoint& target,
                    std::chrono::milliseconds timeout, Listener&... listeners) {
  io.restart();
  Attempt a;
  std::optional<health::ProbeResult> result;
  const auto started = std::chrono::steady_clock::now();
  probe.start(target, started + timeout, [&](health::ProbeResult r) {
    ++a.reports;
    result = std::move(r);
    a.took = std::chrono::steady_clock::now() - started;
  });
  CHECK(a.reports == 0);  // never inside start()
  const auto limit = started + 20s;
  while (!result && std::chrono::steady_clock::now() < limit) io.run_one_for(100ms);
  REQUIRE(result.has_value());
  (listeners.close(), ...);
  io.run_for(200ms);  // returns early once nothing is left
  a.result = *result;
  return a;
}

}  // namespace meridian::test
