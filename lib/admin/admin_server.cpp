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
    timer_.expires_after(server_.options_.timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) {
        boost::system::error_code ignored;
        self->socket_.close(ignored);  // slow or idle client
      }
    });
    read();
  }

 private:
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
    if (req.method() != http::verb::get && req.method() != http::verb::head)
      return reply(http::status::method_not_allowed, "only GET\n", req.keep_alive());
    const std::string target(req.target());
    Request r;
    const auto q = target.find('?');
    r.path = target.substr(0, q);
    if (q != std::string::npos) r.query = parse_query_string(target.substr(q + 1));
    const std::string auth(req[http::field::authorization]);
    const Response res = server_.dispatch(r, auth);
    respond(res, req.keep_alive(), req.method() == http::verb::head);
  }

  void reply(http::status status, const std::string& body, bool keep_alive) {
    Response r;
    r.status = static_cast<unsigned>(status);
    r.body = body;
    respond(r, keep_alive, false);
  }

  void respond(const Response& r, bool keep_alive, bool head) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(r.status), 11);
    res->set(http::field::server, "meridian");
    res->set(http::field::content_type, r.content_type);
    if (r.status == 401) res->set(http::field::www_authenticate, "Bearer");
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
};

AdminServer::AdminServer(AdminOptions options) : options_(std::move(options)) {}

AdminServer::~AdminServer() { stop(); }

Response AdminServer::dispatch(const Request& req, const std::string& authorization) const {
  if (!options_.token.empty() && authorization != "Bearer " + options_.token) return {401, "text/plain", "unauthorized\n"};
  const auto it = routes_.find(req.path);
  if (it == routes_.end()) return {404, "text/plain", "not found\n"};
  try {
    return it->second(req);
  } catch (const std::exception& e) {
    return {500, "text/plain", std::string("error: ") + e.what() + "\n"};
  }
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
