// The HTTP/2 side of one client connection of an L7 listener: the session (session.hpp:
// nghttp2, limits, tunnels) whose requests run as coroutines on the tier's io thread, each
// through the listener's StreamHandler (the same route, balance, retry, timeout, rate-limit
// and header steps as an HTTP/1.1 request). Socket-free: the io loop that owns the socket
// is serve() in serve.hpp; unit tests drive it with bytes.
#pragma once
#include <functional>
#include <memory>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "forward/l7/h2/session.hpp"

namespace meridian::forward::l7::h2 {

// Serves one request: fills res (a complete HTTP/1.1-shaped response). Runs on the io
// thread as its own coroutine; the connection may be gone when it returns (then the
// answer is dropped).
using StreamHandler = std::function<boost::asio::awaitable<void>(StreamRequest& request, Response& res)>;

class ServerConnection : public Session, public std::enable_shared_from_this<ServerConnection> {
 public:
  ServerConnection(boost::asio::io_context& io, const ServerLimits& limits, StreamHandler handler,
                   ServerCounters& counters);

 private:
  void serve(const std::shared_ptr<Stream>& stream) override;
  boost::asio::awaitable<void> run(std::shared_ptr<Stream> s);

  boost::asio::io_context& io_;
  StreamHandler handler_;
};

}  // namespace meridian::forward::l7::h2
