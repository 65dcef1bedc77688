// Hands a connected pair of sockets to the relay and keeps its idle timeout: what an L4
// connection and an upgraded (WebSocket) L7 connection both do once their bytes are opaque.
#pragma once
#include <chrono>
#include <memory>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "forward/l4/relay.hpp"

namespace meridian::forward::l4 {

enum class RelayEnd { closed, idle_timeout, refused };

// Returns when the pair is closed: by an end or error of its sockets (or anyone calling
// pair->close()), or here when no byte moved for idle_timeout. Sets pair->on_close.
inline boost::asio::awaitable<RelayEnd> relay_until_closed(boost::asio::io_context& io, Relay& relay,
                                                           std::shared_ptr<RelayedPair> pair,
                                                           std::chrono::steady_clock::duration idle_timeout) {
  boost::asio::steady_timer idle(io);
  pair->on_close = [&idle] { idle.cancel(); };
  if (!relay.add(pair)) co_return RelayEnd::refused;
  for (;;) {
    idle.expires_at(pair->last_activity() + idle_timeout);
    boost::system::error_code ec;
    co_await idle.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (pair->closed()) co_return RelayEnd::closed;
    // the precise clock: the timer fired by it, and the coarse one may still lag behind
    if (std::chrono::steady_clock::now() >= pair->last_activity() + idle_timeout) {
      pair->close();
      co_return RelayEnd::idle_timeout;
    }
  }
}

}  // namespace meridian::forward::l4
