// The admin HTTP server's routing rules, with its own client: the token (and
// the routes open without it), methods, the index at `/`, and asynchronous
// routes answered from another thread or, past their deadline, with 504.
#include <doctest/doctest.h>

#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "admin/admin_client.hpp"
#include "admin/admin_server.hpp"
#include "admin/status_page.hpp"

using namespace meridian;

namespace {

constexpr std::chrono::seconds kClientDeadline{30};

struct Served {
  admin::AdminServer server;
  util::HostPort at;
  explicit Served(const std::string& token) : server(admin::AdminOptions{.token = token}) {}
  admin::ClientResponse ask(const std::string& method, const std::string& target, const std::string& token) {
    return admin::admin_request(at, method, target, token, kClientDeadline);
  }
};

// GET target with this Accept header (a browser's navigation sends text/html).
boost::beast::http::response<boost::beast::http::string_body> get_accepting(const util::HostPort& at,
                                                                            const std::string& target,
                                                                            const std::string& accept) {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({at.address, at.port});
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "localhost");
  req.set(http::field::accept, accept);
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(socket, buffer, res);
  return res;
}

}  // namespace

TEST_CASE("admin server: the status page at / for browsers, without the token; the index for everyone else") {
  Served s("t0k");
  s.server.route("/status", [](const admin::Request&) { return admin::Response{200, "text/plain", "fine\n"}; },
                 {.description = "status"});
  s.server.page(admin::status_page_html());
  s.at = s.server.start(*util::parse_host_port("127.0.0.1:0"));
  REQUIRE(s.at.port != 0);

  const auto page = get_accepting(s.at, "/", "text/html,application/xhtml+xml,*/*;q=0.8");
  CHECK(page.result_int() == 200);
  CHECK(page[boost::beast::http::field::content_type] == "text/html; charset=utf-8");
  CHECK(page.body() == admin::status_page_html());
  CHECK(page.body().find("fetch(\"/status\"") != std::string::npos);
  // The browser may load nothing from elsewhere.
  CHECK(std::string(page["Content-Security-Policy"]).find("default-src 'none'") != std::string::npos);
  // The page holds no data: what it shows still needs the token.
  CHECK(get_accepting(s.at, "/status", "text/html").result_int() == 401);
  // curl and scrapers (Accept: */*) keep the list of routes, behind the token.
  CHECK(get_accepting(s.at, "/", "*/*").result_int() == 401);
  const auto index = s.ask("GET", "/", "t0k");
  CHECK(index.status == 200);
  CHECK(index.body.find("the status page") != std::string::npos);
  s.server.stop();
}

TEST_CASE("admin server: token, open routes, methods, index, asynchronous routes and their deadline") {
  Served s("t0k");
  s.server.route("/healthz", [](const admin::Request&) { return admin::Response{200, "text/plain", "ok\n"}; },
                 {.description = "liveness", .open = true});
  s.server.route("/status", [](const admin::Request&) { return admin::Response{200, "text/plain", "fine\n"}; },
                 {.description = "status"});
  std::thread worker;
  s.server.route_async("/later", [&worker](const admin::Request&, admin::Reply reply) {
    worker = std::thread([reply] { reply({200, "text/plain", "done later\n"}); });
  }, {.description = "answers from another thread", .post = true});
  s.server.route_async("/never", [](const admin::Request&, admin::Reply) {},
                       {.description = "never answers", .post = true, .deadline = std::chrono::milliseconds(200)});
  s.at = s.server.start(*util::parse_host_port("127.0.0.1:0"));
  REQUIRE(s.at.port != 0);

  CHECK(s.ask("GET", "/healthz", "").status == 200);
  CHECK(s.ask("GET", "/status", "").status == 401);
  CHECK(s.ask("GET", "/status", "wrong").status == 401);
  CHECK(s.ask("GET", "/status", "t0k").body == "fine\n");
  CHECK(s.ask("GET", "/", "").status == 401);
  const auto index = s.ask("GET", "/", "t0k");
  CHECK(index.status == 200);
  CHECK(index.body.find("POST /later") != std::string::npos);
  CHECK(index.body.find("GET  /healthz") != std::string::npos);
  CHECK(index.body.find("(no token needed)") != std::string::npos);
  CHECK(s.ask("GET", "/missing", "t0k").status == 404);
  CHECK(s.ask("POST", "/status", "t0k").status == 405);
  CHECK(s.ask("GET", "/later", "t0k").status == 405);

  const auto later = s.ask("POST", "/later", "t0k");
  CHECK(later.status == 200);
  CHECK(later.body == "done later\n");
  if (worker.joinable()) worker.join();

  const auto never = s.ask("POST", "/never", "t0k");
  CHECK(never.ok);
  CHECK(never.status == 504);
  s.server.stop();
}

TEST_CASE("admin client: nobody listening is an error, not an answer") {
  // A port that was free a moment ago: bound by a server that stopped.
  util::HostPort at;
  {
    admin::AdminServer server(admin::AdminOptions{});
    at = server.start(*util::parse_host_port("127.0.0.1:0"));
    server.stop();
  }
  const auto r = admin::admin_request(at, "GET", "/status", "", kClientDeadline);
  CHECK_FALSE(r.ok);
  CHECK_FALSE(r.error.empty());
}
