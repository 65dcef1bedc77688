// The io loop of an HTTP/2 client connection: a reader (socket -> ServerConnection) and a
// writer (ServerConnection -> socket) on the tier's io thread, over the plain socket (h2c)
// or its TLS stream (ALPN h2). Timeouts use the socket's Deadline (swept by the tier):
// idle (no stream) -> keep-alive timeout; a stream arriving or an answer being written
// -> request timeout from the last progress; only waiting for backends -> none (their own
// timeouts bound it).
#pragma once
#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include "forward/core/tier_core.hpp"
#include "forward/l7/h2/server_connection.hpp"

namespace meridian::forward::l7::h2 {

// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 3.4), what an h2c client with prior knowledge sends first.
inline constexpr std::string_view kPreface{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"};
enum class PrefaceMatch { no, partial, yes };
// Whether the first bytes of a clear-text connection are the HTTP/2 preface; partial: a
// proper prefix of it (read more). No HTTP/1.1 request starts with "PRI".
inline PrefaceMatch match_preface(std::string_view first_bytes) {
  const std::size_t n = std::min(first_bytes.size(), kPreface.size());
  if (first_bytes.substr(0, n) != kPreface.substr(0, n)) return PrefaceMatch::no;
  return n == kPreface.size() ? PrefaceMatch::yes : PrefaceMatch::partial;
}

struct ServeTimeouts {
  Ms idle{60000};
  Ms request{60000};
};

// What the listener's closer and the loop share (HttpListener::Connection's fields).
struct ServeFlags {
  bool& idle;           // no stream: a graceful stop may close the socket now
  const bool& closing;  // a graceful stop asks for GOAWAY
};

namespace detail {

struct LoopState {
  explicit LoopState(const boost::asio::any_io_executor& ex)
      : wake(ex, std::chrono::steady_clock::time_point::max()),
        finished(ex, std::chrono::steady_clock::time_point::max()) {}
  boost::asio::steady_timer wake;      // cancelled: the writer looks for output
  boost::asio::steady_timer finished;  // cancelled: the writer ended
  bool writing = false;
  bool stop = false;
  bool writer_running = true;
  bool shut = false;  // GOAWAY sent for a graceful stop
};

inline void rearm(Deadline& d, const ServerConnection& c, const LoopState& st, const ServeTimeouts& t, bool& idle) {
  idle = c.in_flight() == 0 && !c.receiving();
  if (st.writing || c.receiving()) d.expires_after(t.request);
  else if (c.in_flight() > 0) d.expires_never();
  else d.expires_after(t.idle);
}

template <class Stream>
boost::asio::awaitable<void> write_loop(Stream& s, Deadline& d, ServerConnection& c, LoopState& st,
                                        const ServeTimeouts& t, ServeFlags flags) {
  namespace asio = boost::asio;
  std::string out;
  boost::system::error_code ec;
  try {
    while (!st.stop) {
      if (flags.closing && !st.shut) {
        st.shut = true;
        c.shutdown();
      }
      out.clear();
      c.take_output(out);
      if (!out.empty()) {
        st.writing = true;
        rearm(d, c, st, t, flags.idle);
        co_await asio::async_write(s, asio::buffer(out), asio::redirect_error(asio::use_awaitable, ec));
        st.writing = false;
        if (ec) break;
        rearm(d, c, st, t, flags.idle);
        continue;
      }
      if (c.done()) break;
      rearm(d, c, st, t, flags.idle);  // an answer went out: the connection may be idle now
      st.wake.expires_at(std::chrono::steady_clock::time_point::max());
      co_await st.wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  } catch (const std::exception&) {
  }
  st.writer_running = false;
  st.finished.cancel();
  // the reader may be waiting for bytes that no longer matter
  boost::beast::get_lowest_layer(s).cancel(ec);
}

}  // namespace detail

// Serves the connection until it ends: the client closed, a timeout, GOAWAY after a flood
// or a protocol error (flushed, then the rest of the client's bytes are drained for a
// moment so that the GOAWAY is not lost to a reset), or a graceful stop. `initial`: bytes
// already read (the preface of an h2c connection). Requests still at backends when it
// returns finish there; their answers are dropped.
template <class Stream>
boost::asio::awaitable<void> serve(Stream& s, Deadline& d, std::shared_ptr<ServerConnection> c,
                                   std::string_view initial, ServeTimeouts t, ServeFlags flags) {
  namespace asio = boost::asio;
  const auto ex = co_await asio::this_coro::executor;
  detail::LoopState st(ex);
  c->on_output = [&st] { st.wake.cancel(); };
  asio::co_spawn(ex, detail::write_loop(s, d, *c, st, t, flags), asio::detached);

  bool refused = !initial.empty() && !c->receive(initial.data(), initial.size());
  st.wake.cancel();
  boost::system::error_code ec;
  auto buffer = std::make_unique<std::array<char, 16384>>();
  while (!refused && st.writer_running) {
    if (flags.closing && !st.shut) st.wake.cancel();  // the writer sends GOAWAY
    detail::rearm(d, *c, st, t, flags.idle);
    const std::size_t n =
        co_await s.async_read_some(asio::buffer(*buffer), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    refused = !c->receive(buffer->data(), n);
    st.wake.cancel();
  }
  if (!refused) {
    st.stop = true;  // the client left, a timeout, or the writer ended
    st.wake.cancel();
    boost::beast::get_lowest_layer(s).cancel(ec);
  }
  while (st.writer_running) co_await st.finished.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  c->on_output = nullptr;
  c->end();  // tunnels still open end with the connection
  if (refused && boost::beast::get_lowest_layer(s).is_open()) {
    // GOAWAY is out: stop sending, and read what the client still sends for up to a second
    // (closing with unread bytes would reset the connection, and the reset can overtake it)
    boost::beast::get_lowest_layer(s).shutdown(asio::socket_base::shutdown_send, ec);
    d.expires_after(std::chrono::seconds(1));
    for (int i = 0; i < 4096; ++i) {
      co_await boost::beast::get_lowest_layer(s).async_read_some(asio::buffer(*buffer), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
  }
}

}  // namespace meridian::forward::l7::h2
