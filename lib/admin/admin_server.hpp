// The admin HTTP endpoint (Boost.Beast): a small GET-only server for /metrics,
// /status, /healthz, /readyz and /explain, loopback by default, with an optional
// bearer token and explicit limits on connections, header size and time.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "util/host_port.hpp"

namespace meridian::admin {

struct Request {
  std::string path;                           // without the query string
  std::map<std::string, std::string> query;   // decoded parameters
};

struct Response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using Handler = std::function<Response(const Request&)>;

struct AdminOptions {
  std::string token;                 // empty: no authentication
  std::size_t max_connections = 64;
  std::size_t max_header_bytes = 8192;
  std::chrono::milliseconds timeout{5000};
};

class AdminServer {
 public:
  explicit AdminServer(AdminOptions options);
  ~AdminServer();

  void route(const std::string& path, Handler handler) { routes_[path] = std::move(handler); }
  // Binds and starts serving; returns the bound address (port 0 picks one).
  util::HostPort start(const util::HostPort& where);
  void stop();

 private:
  class Session;
  void accept();
  Response dispatch(const Request& req, const std::string& authorization) const;

  AdminOptions options_;
  std::map<std::string, Handler> routes_;
  std::atomic<std::size_t> sessions_{0};
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
};

// Percent-decoding of a query string into parameters.
std::map<std::string, std::string> parse_query_string(const std::string& query);

}  // namespace meridian::admin
