#include "forward/l7/h2/server_connection.hpp"

#include <exception>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace meridian::forward::l7::h2 {

namespace http = boost::beast::http;

ServerConnection::ServerConnection(boost::asio::io_context& io, const ServerLimits& limits, StreamHandler handler,
                                   ServerCounters& counters)
    : Session(limits, counters), io_(io), handler_(std::move(handler)) {}

void ServerConnection::serve(const std::shared_ptr<Stream>& stream) {
  boost::asio::co_spawn(io_, run(stream), boost::asio::detached);
}

boost::asio::awaitable<void> ServerConnection::run(std::shared_ptr<Stream> s) {
  auto keep = shared_from_this();  // the session outlives the handlers it started
  try {
    co_await handler_(s->request, s->res);
  } catch (const std::exception&) {
    s->res = Response(http::status::bad_gateway, 11);
    s->res.body() = "502 bad gateway\n";
    s->res.prepare_payload();
  }
  answer(*s);
}

}  // namespace meridian::forward::l7::h2
