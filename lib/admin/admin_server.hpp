// The admin HTTP endpoint (Boost.Beast): a small server for /metrics, /status,
// /healthz, /readyz, /explain and POST /reload, loopback by default, with an
// optional bearer token (every route needs it but the probes) and explicit
// limits on connections, header size and time. `/` lists the routes, or serves
// the status page (page()) to a browser.
#pragma once
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "util/host_port.hpp"

namespace meridian::admin {

struct Request {
  std::string method;                         // "GET", "HEAD" or "POST"
  std::string path;                           // without the query string
  std::map<std::string, std::string> query;   // decoded parameters
};

struct Response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};  // more header fields
};

using Handler = std::function<Response(const Request&)>;
// Answers later, from any thread, exactly once (or not at all: the deadline answers).
using Reply = std::function<void(Response)>;
using AsyncHandler = std::function<void(const Request&, Reply)>;

struct RouteOptions {
  std::string description;           // one line in the index at `/`
  bool post = false;                 // POST only (else GET and HEAD)
  bool open = false;                 // answers without the token (liveness and readiness probes)
  // Asynchronous routes: answered with 504 when the handler has not replied by then.
  std::chrono::milliseconds deadline{60000};
};

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

  void route(const std::string& path, Handler handler, RouteOptions options = {});
  void route_async(const std::string& path, AsyncHandler handler, RouteOptions options = {});
  // The HTML page `/` serves to clients that accept text/html (others get the list of
  // routes). It answers without the token: it holds no data, and its script fetches
  // the routes with the token the user gives it.
  void page(std::string_view html);
  // Binds and starts serving; returns the bound address (port 0 picks one).
  util::HostPort start(const util::HostPort& where);
  void stop();

 private:
  class Session;
  void accept();
  struct Route {
    Handler handler;       // one of these two
    AsyncHandler async;
    RouteOptions options;
  };
  // The route for req, or the answer when there is none or it may not be used.
  std::variant<const Route*, Response> find_route(const Request& req, const std::string& authorization,
                                                 const std::string& accept) const;
  Response index() const;
  // For the Allow header of a 405.
  std::string allowed_methods(const std::string& path) const;

  AdminOptions options_;
  std::map<std::string, Route> routes_;
  std::string page_;
  std::atomic<std::size_t> sessions_{0};
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
};

// Percent-decoding of a query string into parameters.
std::map<std::string, std::string> parse_query_string(const std::string& query);

}  // namespace meridian::admin
