#include "cluster/etcd_client.hpp"

#include <functional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace meridian::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::use_awaitable;
using nlohmann::json;

namespace {

// Replies are small (a cluster's keys); a bound keeps a confused peer from filling memory.
constexpr std::size_t kReplyLimit = 64 * 1024 * 1024;

std::string member_text(const config::EtcdMember& m) {
  return (m.host.find(':') != std::string::npos ? "[" + m.host + "]" : m.host) + ":" + m.port;
}

asio::awaitable<void> connect(beast::tcp_stream& stream, const config::EtcdMember& member,
                              std::chrono::milliseconds deadline) {
  asio::ip::tcp::resolver resolver(stream.get_executor());
  const auto endpoints = co_await resolver.async_resolve(member.host, member.port, use_awaitable);
  stream.expires_after(deadline);
  co_await stream.async_connect(endpoints, use_awaitable);
}

http::request<http::string_body> post(const config::EtcdMember& member, const std::string& path, std::string body) {
  http::request<http::string_body> req{http::verb::post, path, 11};
  req.set(http::field::host, member_text(member));
  req.set(http::field::content_type, "application/json");
  req.set(http::field::user_agent, "meridian");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

// The first JSON object of a body (a keepalive reply is one message of a stream).
json first_message(const std::string& body) {
  const auto end = body.find('\n');
  return json::parse(end == std::string::npos ? body : body.substr(0, end));
}

class GatewayWatch final : public WatchStream {
 public:
  explicit GatewayWatch(beast::tcp_stream stream) : stream_(std::move(stream)) {
    parser_.body_limit(boost::none);  // a stream: no end
    // The parser keeps a reference to the callback: it lives here, beside it.
    on_chunk_ = [this](std::uint64_t, beast::string_view data, beast::error_code&) -> std::size_t {
      pending_.append(data.data(), data.size());
      return data.size();
    };
    parser_.on_chunk_body(on_chunk_);
  }

  asio::awaitable<void> start(const http::request<http::string_body>& req, std::chrono::milliseconds deadline) {
    stream_.expires_after(deadline);
    co_await http::async_write(stream_, req, use_awaitable);
    co_await http::async_read_header(stream_, buffer_, parser_, use_awaitable);
    if (parser_.get().result() != http::status::ok)
      throw std::runtime_error("watch refused: HTTP " + std::to_string(parser_.get().result_int()));
  }

  asio::awaitable<WatchMessage> next(std::chrono::milliseconds silent_after) override {
    for (;;) {
      const auto newline = pending_.find('\n');
      if (newline != std::string::npos) {
        const std::string line = pending_.substr(0, newline);
        pending_.erase(0, newline + 1);
        if (line.find_first_not_of(" \r\t") == std::string::npos) continue;
        co_return parse_watch_message(json::parse(line));
      }
      if (parser_.is_done()) throw std::runtime_error("the watch stream ended");
      stream_.expires_after(silent_after);
      co_await http::async_read_some(stream_, buffer_, parser_, use_awaitable);
    }
  }

  void close() override {
    beast::error_code ec;
    stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::function<std::size_t(std::uint64_t, beast::string_view, beast::error_code&)> on_chunk_;
  http::response_parser<http::empty_body> parser_;
  std::string pending_;  // received, not yet a whole message
};

}  // namespace

EtcdClient::EtcdClient(asio::any_io_executor executor, std::vector<config::EtcdMember> members, EtcdTimeouts timeouts)
    : executor_(std::move(executor)), members_(std::move(members)), timeouts_(timeouts) {
  if (members_.empty()) throw std::invalid_argument("etcd: no member");
}

std::string EtcdClient::current_member() const { return member_text(members_[current_]); }

void EtcdClient::rotate() { current_ = (current_ + 1) % members_.size(); }

asio::awaitable<json> EtcdClient::call_member(const config::EtcdMember& member, const std::string& path,
                                              const std::string& body) {
  beast::tcp_stream stream(executor_);
  co_await connect(stream, member, timeouts_.connect);
  stream.expires_after(timeouts_.call);
  auto req = post(member, path, body);
  req.keep_alive(false);
  co_await http::async_write(stream, req, use_awaitable);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kReplyLimit);
  co_await http::async_read(stream, buffer, parser, use_awaitable);
  beast::error_code ec;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  const auto& res = parser.get();
  json reply = json::parse(res.body(), nullptr, false);
  if (reply.is_discarded()) reply = first_message(res.body());
  if (res.result() != http::status::ok) {
    throw_if_error(reply);  // etcd's reason
    throw EtcdError(14, "HTTP " + std::to_string(res.result_int()));
  }
  co_return reply;
}

asio::awaitable<json> EtcdClient::call(const std::string& path, const json& body) {
  const std::string text = body.dump();
  std::string failures;
  for (std::size_t tried = 0; tried < members_.size(); ++tried) {
    const config::EtcdMember& member = members_[current_];
    try {
      co_return co_await call_member(member, path, text);
    } catch (const EtcdError& e) {
      if (!e.member_problem()) throw;
      failures += (failures.empty() ? "" : "; ") + member_text(member) + ": " + e.what();
    } catch (const std::exception& e) {
      failures += (failures.empty() ? "" : "; ") + member_text(member) + ": " + e.what();
    }
    rotate();
  }
  throw std::runtime_error("no etcd member answered " + path + " (" + failures + ")");
}

asio::awaitable<std::unique_ptr<WatchStream>> EtcdClient::watch(const json& create_request) {
  const std::string text = create_request.dump();
  std::string failures;
  for (std::size_t tried = 0; tried < members_.size(); ++tried) {
    const config::EtcdMember& member = members_[current_];
    try {
      beast::tcp_stream stream(executor_);
      co_await connect(stream, member, timeouts_.connect);
      auto watch = std::make_unique<GatewayWatch>(std::move(stream));
      co_await watch->start(post(member, "/v3/watch", text), timeouts_.call);
      co_return watch;
    } catch (const std::exception& e) {
      failures += (failures.empty() ? "" : "; ") + member_text(member) + ": " + e.what();
    }
    rotate();
  }
  throw std::runtime_error("no etcd member took the watch (" + failures + ")");
}

}  // namespace meridian::cluster
