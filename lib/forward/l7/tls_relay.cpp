#include "forward/l7/tls_relay.hpp"

#include <array>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "util/coarse_clock.hpp"

namespace meridian::forward::l7 {

namespace asio = boost::asio;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

TlsRelay::TlsRelay(TlsClientStream& client, tcp::socket& upstream, uint64_t& bytes_in, uint64_t& bytes_out)
    : client_(client), upstream_(upstream), bytes_in_(bytes_in), bytes_out_(bytes_out),
      wake_(upstream.get_executor()), last_(util::coarse_now()) {}

awaitable<l4::RelayEnd> TlsRelay::run(std::chrono::steady_clock::duration idle_timeout) {
  const auto executor = co_await asio::this_coro::executor;
  running_ = 2;
  // Both directions report here when they end; this coroutine outlives them (it returns
  // only when running_ is back to 0), so they may refer to it.
  asio::co_spawn(executor, client_to_upstream(), [this](std::exception_ptr) { finished(); });
  asio::co_spawn(executor, upstream_to_client(), [this](std::exception_ptr) { finished(); });
  bool idle = false;
  while (running_ > 0) {
    // after the backend's end, the client's read is being cancelled: wait for it
    const bool watch_idle = !stopping_ && !upstream_ended_;
    wake_.expires_at(watch_idle ? last_ + idle_timeout : std::chrono::steady_clock::time_point::max());
    boost::system::error_code ec;
    co_await wake_.async_wait(redirect_error(use_awaitable, ec));
    if (running_ == 0 || stopping_) continue;
    if (failed_) {
      stop();
    } else if (!upstream_ended_ && std::chrono::steady_clock::now() >= last_ + idle_timeout) {
      idle = true;
      stop();
    }
  }
  co_return idle ? l4::RelayEnd::idle_timeout : l4::RelayEnd::closed;
}

void TlsRelay::stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  client_.next_layer().close(ignored);
  upstream_.close(ignored);
}

void TlsRelay::finished() {
  --running_;
  wake_.cancel();
}

awaitable<void> TlsRelay::client_to_upstream() {
  std::array<char, 16384> buf;
  for (;;) {
    boost::system::error_code ec, write_ec;
    const std::size_t n = co_await client_.async_read_some(asio::buffer(buf), redirect_error(use_awaitable, ec));
    if (n > 0) {
      last_ = util::coarse_now();
      bytes_in_ += n;
      co_await asio::async_write(upstream_, asio::buffer(buf.data(), n), redirect_error(use_awaitable, write_ec));
      if (write_ec) {
        failed_ = !stopping_;
        co_return;
      }
    }
    if (!ec) continue;
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      // the client ended its side (close_notify, or just FIN): pass the half-close on
      upstream_.shutdown(tcp::socket::shutdown_send, ec);
    } else if (!stopping_ && !upstream_ended_) {
      failed_ = true;
    }
    co_return;
  }
}

awaitable<void> TlsRelay::upstream_to_client() {
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
    if (ec == asio::error::eof) {
      // The backend closed: the client's side ends too (its read is cancelled, the caller
      // then sends close_notify).
      upstream_ended_ = true;
      client_.next_layer().cancel(ec);
    } else if (!stopping_) {
      failed_ = true;
    }
    co_return;
  }
}

}  // namespace meridian::forward::l7
