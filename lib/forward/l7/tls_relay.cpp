#include "forward/l7/tls_relay.hpp"

#include <array>
#include <type_traits>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "util/coarse_clock.hpp"

namespace meridian::forward::l7 {

namespace asio = boost::asio;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace {
// The end of a stream: EOF, or a TLS peer that closed without close_notify.
bool ended(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
}
}  // namespace

template <class Client, class Upstream>
StreamRelay<Client, Upstream>::StreamRelay(Client& client, Upstream& upstream, uint64_t& bytes_in, uint64_t& bytes_out)
    : client_(client), upstream_(upstream), bytes_in_(bytes_in), bytes_out_(bytes_out),
      wake_(upstream.get_executor()), last_(util::coarse_now()) {}

template <class Client, class Upstream>
awaitable<l4::RelayEnd> StreamRelay<Client, Upstream>::run(std::chrono::steady_clock::duration idle_timeout) {
  const auto executor = co_await asio::this_coro::executor;
  running_ = 2;
  // Both directions report here when they end; this coroutine outlives them (it returns
  // only when running_ is back to 0), so they may refer to it.
  asio::co_spawn(executor, client_to_upstream(), [this](std::exception_ptr) { finished(); });
  asio::co_spawn(executor, upstream_to_client(), [this](std::exception_ptr) { finished(); });
  bool idle = false;
  while (running_ > 0) {
    // after one side's end, the other's read is being cancelled: wait for it
    const bool watch_idle = !stopping_ && !upstream_ended_ && !client_ended_;
    wake_.expires_at(watch_idle ? last_ + idle_timeout : std::chrono::steady_clock::time_point::max());
    boost::system::error_code ec;
    co_await wake_.async_wait(redirect_error(use_awaitable, ec));
    if (running_ == 0 || stopping_) continue;
    if (failed_) {
      stop();
    } else if (watch_idle && std::chrono::steady_clock::now() >= last_ + idle_timeout) {
      idle = true;
      stop();
    }
  }
  co_return idle ? l4::RelayEnd::idle_timeout : l4::RelayEnd::closed;
}

template <class Client, class Upstream>
void StreamRelay<Client, Upstream>::stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  boost::beast::get_lowest_layer(client_).close(ignored);
  boost::beast::get_lowest_layer(upstream_).close(ignored);
}

template <class Client, class Upstream>
void StreamRelay<Client, Upstream>::finished() {
  --running_;
  wake_.cancel();
}

template <class Client, class Upstream>
awaitable<void> StreamRelay<Client, Upstream>::client_to_upstream() {
  std::array<char, 16384> buf;
  for (;;) {
    boost::system::error_code ec, write_ec;
    const std::size_t n = co_await client_.async_read_some(asio::buffer(buf), redirect_error(use_awaitable, ec));
    if (n > 0) {
      last_ = util::coarse_now();
      bytes_in_ += n;
      co_await asio::async_write(upstream_, asio::buffer(buf.data(), n), redirect_error(use_awaitable, write_ec));
      if (write_ec) {
        failed_ = !stopping_ && !upstream_ended_;
        co_return;
      }
    }
    if (!ec) continue;
    if (ended(ec) && !upstream_ended_) {
      if constexpr (std::is_same_v<Upstream, tcp::socket>) {
        // the client ended its side (close_notify, or just FIN): pass the half-close on
        upstream_.shutdown(tcp::socket::shutdown_send, ec);
      } else {
        // toward a TLS backend: the relay ends (the caller sends close_notify)
        client_ended_ = true;
        boost::beast::get_lowest_layer(upstream_).cancel(ec);
      }
    } else if (!stopping_ && !upstream_ended_) {
      failed_ = true;
    }
    co_return;
  }
}

template <class Client, class Upstream>
awaitable<void> StreamRelay<Client, Upstream>::upstream_to_client() {
  std::array<char, 16384> buf;
  for (;;) {
    boost::system::error_code ec, write_ec;
    const std::size_t n = co_await upstream_.async_read_some(asio::buffer(buf), redirect_error(use_awaitable, ec));
    if (n > 0) {
      last_ = util::coarse_now();
      bytes_out_ += n;
      co_await asio::async_write(client_, asio::buffer(buf.data(), n), redirect_error(use_awaitable, write_ec));
      if (write_ec) {
        failed_ = !stopping_;
        co_return;
      }
    }
    if (!ec) continue;
    if (ended(ec) && !client_ended_) {
      // The backend closed: the client's side ends too (its read is cancelled, the caller
      // then tells the client).
      upstream_ended_ = true;
      boost::beast::get_lowest_layer(client_).cancel(ec);
    } else if (!stopping_ && !client_ended_) {
      failed_ = true;
    }
    co_return;
  }
}

template class StreamRelay<TlsClientStream, tcp::socket>;
template class StreamRelay<TlsClientStream, TlsClientStream>;
template class StreamRelay<tcp::socket, TlsClientStream>;

}  // namespace meridian::forward::l7
