#include "forward/l7/tunnel_relay.hpp"

#include <array>
#include <string>
#include <type_traits>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "forward/l7/h2/server_connection.hpp"
#include "util/coarse_clock.hpp"

namespace meridian::forward::l7 {

namespace asio = boost::asio;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {
bool ended(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}
// After the backend's end went out, how long the client has to end its side.
constexpr auto kEndGrace = std::chrono::seconds(1);
}  // namespace

template <class Upstream>
TunnelRelay<Upstream>::TunnelRelay(h2::Tunnel& tunnel, Upstream& upstream, uint64_t& bytes_in, uint64_t& bytes_out)
    : t_(tunnel), upstream_(upstream), bytes_in_(bytes_in), bytes_out_(bytes_out), main_(upstream.get_executor()),
      to_upstream_(upstream.get_executor()), to_client_(upstream.get_executor()), last_(util::coarse_now()) {
  t_.wake = [this] {
    to_upstream_.raise();
    to_client_.raise();
    main_.raise();
  };
}

template <class Upstream>
TunnelRelay<Upstream>::~TunnelRelay() {
  t_.wake = nullptr;
}

template <class Upstream>
awaitable<void> TunnelRelay<Upstream>::wait(Signal& s) {
  if (!s.pending) {
    s.timer.expires_at(Clock::time_point::max());
    boost::system::error_code ec;
    co_await s.timer.async_wait(redirect_error(use_awaitable, ec));
  }
  s.pending = false;
}

template <class Upstream>
awaitable<l4::RelayEnd> TunnelRelay<Upstream>::run(Clock::duration idle_timeout) {
  const auto executor = co_await asio::this_coro::executor;
  running_ = 2;
  // Both directions report here when they end; this coroutine outlives them.
  asio::co_spawn(executor, client_to_upstream(), [this](std::exception_ptr) { finished(); });
  asio::co_spawn(executor, upstream_to_client(), [this](std::exception_ptr) { finished(); });
  while (running_ > 0) {
    if (!stopping_) {
      const auto now = Clock::now();
      if (t_.closed || failed_ || client_ended_) {
        stop();
      } else if (upstream_ended_ && t_.end_sent) {
        if (now >= upstream_ended_at_ + kEndGrace) stop();
      } else if (now >= last_ + idle_timeout) {
        idle_ = true;
        stop();
      }
    }
    Clock::time_point wake_at = Clock::time_point::max();
    if (!stopping_) wake_at = upstream_ended_ && t_.end_sent ? upstream_ended_at_ + kEndGrace : last_ + idle_timeout;
    if (!main_.pending) {
      main_.timer.expires_at(wake_at);
      boost::system::error_code ec;
      co_await main_.timer.async_wait(redirect_error(use_awaitable, ec));
    }
    main_.pending = false;
  }
  co_return idle_ ? l4::RelayEnd::idle_timeout : l4::RelayEnd::closed;
}

template <class Upstream>
void TunnelRelay<Upstream>::stop() {
  if (!stopping_ && !t_.closed && !failed_ && !idle_ && !client_ended_ && !(upstream_ended_ && t_.end_sent))
    forced_ = true;  // from outside (the tier's forced close)
  stopping_ = true;
  boost::system::error_code ignored;
  if constexpr (std::is_same_v<Upstream, tcp::socket>) {
    upstream_.close(ignored);
  } else if (!client_ended_) {
    upstream_.next_layer().close(ignored);
  } else {
    upstream_.next_layer().cancel(ignored);  // the caller sends close_notify
  }
  to_upstream_.raise();
  to_client_.raise();
  main_.raise();
}

template <class Upstream>
void TunnelRelay<Upstream>::finished() {
  --running_;
  main_.raise();
}

template <class Upstream>
awaitable<void> TunnelRelay<Upstream>::client_to_upstream() {
  std::string chunk;
  for (;;) {
    if (stopping_ || t_.closed) co_return;
    if (!t_.inbound.empty()) {
      chunk.swap(t_.inbound);
      boost::system::error_code ec;
      co_await asio::async_write(upstream_, asio::buffer(chunk), redirect_error(use_awaitable, ec));
      if (ec) {
        failed_ = !stopping_ && !upstream_ended_;
        main_.raise();
        co_return;
      }
      last_ = util::coarse_now();
      bytes_in_ += chunk.size();
      t_.connection->tunnel_consumed(t_, chunk.size());  // the client may send more
      chunk.clear();
      continue;
    }
    if (t_.client_ended) {
      if constexpr (std::is_same_v<Upstream, tcp::socket>) {
        boost::system::error_code ec;
        upstream_.shutdown(tcp::socket::shutdown_send, ec);  // the half-close, passed on
      } else {
        client_ended_ = true;  // a TLS half-close cannot go out while the other way reads: the relay ends
        main_.raise();
      }
      co_return;
    }
    co_await wait(to_upstream_);
  }
}

template <class Upstream>
awaitable<void> TunnelRelay<Upstream>::upstream_to_client() {
  std::array<char, 16384> buf;
  for (;;) {
    if (stopping_ || t_.closed) co_return;
    if (t_.outbound_pending() >= h2::Tunnel::kMaxOutbound) {  // the client reads slower: wait for it
      co_await wait(to_client_);
      continue;
    }
    boost::system::error_code ec;
    const std::size_t n = co_await upstream_.async_read_some(asio::buffer(buf), redirect_error(use_awaitable, ec));
    if (n > 0 && !t_.closed) {
      last_ = util::coarse_now();
      bytes_out_ += n;
      t_.outbound.append(buf.data(), n);
      t_.connection->tunnel_send(t_);
    }
    if (!ec) continue;
    if (ended(ec) && !stopping_) {
      // the backend closed: what it sent, then END_STREAM, go to the client
      upstream_ended_ = true;
      upstream_ended_at_ = Clock::now();
      t_.backend_ended = true;
      t_.connection->tunnel_send(t_);
    } else if (!stopping_) {
      failed_ = true;
    }
    main_.raise();
    co_return;
  }
}

template class TunnelRelay<tcp::socket>;
template class TunnelRelay<asio::ssl::stream<tcp::socket&>>;

}  // namespace meridian::forward::l7
