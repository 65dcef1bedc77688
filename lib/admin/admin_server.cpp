#include "admin/admin_server.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include <optional>
#include <variant>

namespace meridian::admin {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::map<std::string, std::string> parse_query_string(const std::string& query) {
  std::map<std::string, std::string> out;
  auto decode = [](const std::string& s) {
    std::string r;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') r += ' ';
      else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
        r += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else r += s[i];
    }
    return r;
  };
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string part = query.substr(start, end - start);
    const auto eq = part.find('=');
    if (!part.empty()) out[decode(part.substr(0, eq))] = eq == std::string::npos ? "" : decode(part.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

class AdminServer::Session : public std::enable_shared_from_this<Session> {
 public:
  Session(AdminServer& server, tcp::socket socket) : server_(server), socket_(std::move(socket)), timer_(socket_.get_executor()) {}
  ~Session() { server_.sessions_.fetch_sub(1); }

  void start() {
    arm_timer(server_.options_.timeout);
    read();
  }

 private:
  // One timer per session: its deadline (slow or idle client), or while an
  // asynchronous route works, that route's deadline.
  void arm_timer(std::chrono::milliseconds after) {
    timer_.expires_after(after);  // a pending wait ends with operation_aborted
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return;
      if (self->waiting_) {
        self->waiting_ = false;
        return self->respond({504, "text/plain; charset=utf-8", "no answer in time\n"}, false, false);
      }
      boost::system::error_code ignored;
      self->socket_.close(ignored);
    });
  }

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.options_.max_header_bytes));
    parser_->body_limit(0);
    http::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return self->close();
      if (ec) return self->reply(http::status::bad_request, "bad request: " + ec.message() + "\n", false);
      self->handle();
    });
  }

  void handle() {
    const auto& req = parser_->get();
    const bool keep_alive = req.keep_alive();
    const bool head = req.method() == http::verb::head;
    const std::string target(req.target());
    Request r;
    r.method = std::string(req.method_string());
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = parse_query_string(target.substr(q + 1));
    const std::string auth(req[http::field::authorization]);
    const std::string accept(req[http::field::accept]);
    const auto found = server_.find_route(r, auth, accept);
    if (const auto* answer = std::get_if<Response>(&found))
      return respond(*answer, keep_alive, head, answer->status == 405 ? server_.allowed_methods(r.path) : "");
    const Route& route = *std::get<const Route*>(found);
    if (route.handler) {
      Response res;
      try {
        res = route.handler(r);
      } catch (const std::exception& e) {
        res = {500, "text/plain; charset=utf-8", std::string("error: ") + e.what() + "\n"};
      }
      return respond(res, keep_alive, head);
    }
    waiting_ = true;
    arm_timer(route.options.deadline);
    Reply answer = [self = shared_from_this(), keep_alive, head](Response res) {
      asio::post(self->socket_.get_executor(), [self, keep_alive, head, res = std::move(res)] {
        if (!self->waiting_) return;  // the deadline answered
        self->waiting_ = false;
        self->arm_timer(self->server_.options_.timeout);
        self->respond(res, keep_alive, head);
      });
    };
    try {
      route.async(r, answer);
    } catch (const std::exception& e) {
      answer({500, "text/plain; charset=utf-8", std::string("error: ") + e.what() + "\n"});
    }
  }

  void reply(http::status status, const std::string& body, bool keep_alive) {
    Response r;
    r.status = static_cast<unsigned>(status);
    r.body = body;
    respond(r, keep_alive, false);
  }

  void respond(const Response& r, bool keep_alive, bool head, const std::string& allow = {}) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "meridian");
    res->set(http::field::content_type, r.content_type);
    if (r.status == 401) res->set(http::field::www_authenticate, "Bearer");
    if (!allow.empty()) res->set(http::field::allow, allow);
    for (const auto& [field, value] : r.headers) res->set(field, value);
    res->keep_alive(keep_alive);
    res->body() = head ? std::string() : r.body;
    res->prepare_payload();
    if (head) res->content_length(r.body.size());
    http::async_write(socket_, *res, [self = shared_from_this(), res, keep_alive](const boost::system::error_code& ec, std::size_t) {
      if (ec || !keep_alive) return self->close();
      self->read();
    });
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  AdminServer& server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  bool waiting_ = false;  // an asynchronous route has not answered yet
};

AdminServer::AdminServer(AdminOptions options) : options_(std::move(options)) {}

AdminServer::~AdminServer() { stop(); }

void AdminServer::route(const std::string& path, Handler handler, RouteOptions options) {
  routes_[path] = Route{std::move(handler), nullptr, std::move(options)};
}

void AdminServer::page(std::string_view html) { page_ = html; }

namespace {

// A browser's navigation asks for text/html; curl and scrapers send */* or nothing.
bool accepts_html(const std::string& accept) { return accept.find("text/html") != std::string::npos; }

// The page's script and style are inline and it talks only to this endpoint: the
// browser enforces that nothing else is loaded or framed.
const char* const kPagePolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

}  // namespace

void AdminServer::route_async(const std::string& path, AsyncHandler handler, RouteOptions options) {
  routes_[path] = Route{nullptr, std::move(handler), std::move(options)};
}

std::variant<const AdminServer::Route*, Response> AdminServer::find_route(const Request& req,
                                                                          const std::string& authorization,
                                                                          const std::string& accept) const {
  const auto it = routes_.find(req.path);
  if (it == routes_.end() && req.path == "/" && !page_.empty() && accepts_html(accept) &&
      (req.method == "GET" || req.method == "HEAD"))
    return Response{200, "text/html; charset=utf-8", page_,
                    {{"Content-Security-Policy", kPagePolicy}, {"X-Content-Type-Options", "nosniff"},
                     {"Cache-Control", "no-cache"}}};
  const bool open = it != routes_.end() && it->second.options.open;
  if (!open && !options_.token.empty() && authorization != "Bearer " + options_.token)
    return Response{401, "text/plain; charset=utf-8", "unauthorized\n"};
  const bool post = it != routes_.end() && it->second.options.post;
  const bool allowed = post ? req.method == "POST" : req.method == "GET" || req.method == "HEAD";
  if (it == routes_.end() && req.path == "/") {
    if (allowed) return index();
  } else if (it == routes_.end()) {
    return Response{404, "text/plain; charset=utf-8", "not found; GET / lists the routes\n"};
  }
  if (!allowed) return Response{405, "text/plain; charset=utf-8", "method not allowed; use " + allowed_methods(req.path) + "\n"};
  return &it->second;
}

std::string AdminServer::allowed_methods(const std::string& path) const {
  const auto it = routes_.find(path);
  return it != routes_.end() && it->second.options.post ? "POST" : "GET, HEAD";
}

Response AdminServer::index() const {
  std::string text = "meridian admin endpoint\n\n";
  if (!page_.empty()) text += "GET  /               in a browser (Accept: text/html): the status page (no token needed)\n";
  for (const auto& [path, route] : routes_) {
    std::string line = std::string(route.options.post ? "POST " : "GET  ") + path;
    if (line.size() < 20) line.resize(20, ' ');
    text += line + " " + route.options.description;
    if (route.options.open && !options_.token.empty()) text += " (no token needed)";
    text += "\n";
  }
  return {200, "text/plain; charset=utf-8", text};
}

util::HostPort AdminServer::start(const util::HostPort& where) {
  acceptor_ = std::make_unique<tcp::acceptor>(io_);
  const tcp::endpoint ep(where.address, where.port);
  acceptor_->open(ep.protocol());
  acceptor_->set_option(asio::socket_base::reuse_address(true));
  if (ep.address().is_v6()) acceptor_->set_option(asio::ip::v6_only(true));
  acceptor_->bind(ep);
  acceptor_->listen();
  util::HostPort bound = where;
  bound.port = acceptor_->local_endpoint().port();
  accept();
  thread_ = std::thread([this] { io_.run(); });
  return bound;
}

void AdminServer::accept() {
  acceptor_->async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      if (sessions_.load() >= options_.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        sessions_.fetch_add(1);
        std::make_shared<Session>(*this, std::move(socket))->start();
      }
    }
    accept();
  });
}

void AdminServer::stop() {
  if (acceptor_) {
    asio::post(io_, [this] {
      boost::system::error_code ignored;
      acceptor_->close(ignored);
    });
  }
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace meridian::admin
