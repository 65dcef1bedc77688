// The relay of a WebSocket over HTTP/2 (RFC 8441): the client's side is a stream's tunnel
// (h2/tunnel.hpp: DATA in, DATA out through the HTTP/2 session, flow control as the
// back-pressure), the backend's a socket or its TLS stream. Two coroutines move the bytes;
// run() watches the idle timeout and the ends.
#pragma once
#include <chrono>
#include <cstdint>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "forward/l4/relay_watch.hpp"
#include "forward/l7/h2/tunnel.hpp"

namespace meridian::forward::l7 {

// Upstream: tcp::socket or ssl::stream<tcp::socket&>.
// Ends when the stream closes (the client's reset, both ends, the connection gone), the
// backend closes (its bytes and END_STREAM go to the client first, then the client has a
// second to end its side), the client ends its side toward a TLS backend, a write or read
// fails, no byte moved for idle_timeout, or stop(). The caller then settles the stream
// (clean(): END_STREAM or RST_STREAM NO_ERROR, else RST_STREAM CANCEL).
template <class Upstream>
class TunnelRelay {
 public:
  TunnelRelay(h2::Tunnel& tunnel, Upstream& upstream, uint64_t& bytes_in, uint64_t& bytes_out);
  ~TunnelRelay();
  TunnelRelay(const TunnelRelay&) = delete;
  TunnelRelay& operator=(const TunnelRelay&) = delete;
  boost::asio::awaitable<l4::RelayEnd> run(std::chrono::steady_clock::duration idle_timeout);
  void stop();
  // Ended by either side closing, not by a failure, a timeout or stop().
  bool clean() const { return !failed_ && !forced_ && !idle_; }
  // The client ended its side toward a TLS backend: the caller sends close_notify.
  bool ended_by_client() const { return client_ended_; }

 private:
  struct Signal {
    explicit Signal(const boost::asio::any_io_executor& ex) : timer(ex) {}
    boost::asio::steady_timer timer;
    bool pending = false;
    void raise() {
      pending = true;
      timer.cancel();
    }
  };
  boost::asio::awaitable<void> wait(Signal& s);
  boost::asio::awaitable<void> client_to_upstream();
  boost::asio::awaitable<void> upstream_to_client();
  void finished();

  h2::Tunnel& t_;
  Upstream& upstream_;
  uint64_t& bytes_in_;
  uint64_t& bytes_out_;
  Signal main_, to_upstream_, to_client_;
  std::chrono::steady_clock::time_point last_;
  std::chrono::steady_clock::time_point upstream_ended_at_;
  int running_ = 0;
  bool stopping_ = false;
  bool forced_ = false;
  bool failed_ = false;
  bool idle_ = false;
  bool upstream_ended_ = false;
  bool client_ended_ = false;
};

}  // namespace meridian::forward::l7
