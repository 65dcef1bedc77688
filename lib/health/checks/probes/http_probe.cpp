#include "health/checks/probes/http_probe.hpp"

#include <algorithm>
#include <optional>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "health/checks/probes/connection_attempt.hpp"

namespace meridian::health {

namespace http = boost::beast::http;

namespace {
// Asked of the parser as before; Boost 1.74's http::async_read does not enforce it
// on a Content-Length body (a 9 MB body reads whole), left as it was.
constexpr std::size_t kBodyLimit = 64 * 1024;

class HttpAttempt final : public ConnectionAttempt {
 public:
  HttpAttempt(boost::asio::any_io_executor executor, const CheckConfig& config, Probe::Done done)
      : ConnectionAttempt(std::move(executor), config.timeout, std::move(done)), config_(config) {}

 private:
  void on_connected() override {
    request_.method(http::verb::get);
    request_.target(config_.path);
    request_.version(11);
    request_.set(http::field::host, config_.host.empty() ? target_.address().to_string() : config_.host);
    request_.set(http::field::user_agent, "meridian-check");
    request_.set(http::field::connection, "close");
    http::async_write(socket_, request_, [self = self<HttpAttempt>()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->finish(false, "send: " + ec.message());
      self->read_response();
    });
  }

  void read_response() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    http::async_read(socket_, buffer_, *parser_, [self = self<HttpAttempt>()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->finish(false, "read: " + ec.message());
      self->judge(self->parser_->get());
    });
  }

  void judge(const http::response<http::string_body>& response) {
    const unsigned status = response.result_int();
    const auto& expect = config_.expect;
    if (std::find(expect.begin(), expect.end(), status) == expect.end())
      return finish(false, "HTTP status " + std::to_string(status));
    if (!config_.body_contains.empty() && response.body().find(config_.body_contains) == std::string::npos)
      return finish(false, "body lacks \"" + config_.body_contains + "\"");
    finish(true, "HTTP status " + std::to_string(status));
  }

  const CheckConfig config_;  // a copy: the attempt may outlive its probe
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  boost::beast::flat_buffer buffer_;
};
}  // namespace

std::unique_ptr<Probe> make_http_probe(boost::asio::any_io_executor executor, const CheckConfig& config) {
  return std::make_unique<ConnectionProbe<HttpAttempt>>(std::move(executor), config);
}

}  // namespace meridian::health
