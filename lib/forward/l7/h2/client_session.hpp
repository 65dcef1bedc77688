// One HTTP/2 connection toward a backend ("protocol": "h2"), on libnghttp2's client
// session: h2c with prior knowledge, or TLS with ALPN h2 when the backend has "tls". Its
// streams are requests of the L7 listener (ClientStream); the session owns the socket and
// runs a reader and a writer coroutine on the tier's io thread. Made and shared by the
// backend's ClientPool.
//
// A session that dies (TCP error, protocol error, GOAWAY, idle close) fails its streams
// still open; each says whether the backend cannot have processed it (`refused`: never
// sent, REFUSED_STREAM, or above GOAWAY's last stream id), which makes any request safe
// to retry.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "forward/core/tier_core.hpp"
#include "forward/l7/h2/header_translation.hpp"
#include "forward/l7/h2/request_body.hpp"

struct nghttp2_session;

namespace meridian::tls {
class ClientTls;
}  // namespace meridian::tls

namespace meridian::forward::l7::h2 {

using Ms = std::chrono::milliseconds;

// One request's exchange on a session: what goes out, and what came back so far. The
// session's callbacks fill it and wake its waiter (the listener's exchange).
struct ClientStream {
  explicit ClientStream(const boost::asio::any_io_executor& ex)
      : wake(ex, std::chrono::steady_clock::time_point::max()) {}

  // the request: its body whole, or streamed (then body_sent is the offset in it)
  HeaderList head;
  std::string body;
  std::size_t body_sent = 0;
  HeaderList request_trailers;
  std::shared_ptr<RequestBody> streamed;
  std::function<void(RequestBody&, std::size_t)> body_taken;  // bytes up to an offset went out
  bool body_deferred = false;  // nghttp2 waits for more of the streamed body (resume_body)

  // the response
  Response response;         // status and fields (the body goes to `data`)
  bool have_head = false;    // the final response head arrived
  bool head_ended = false;   // ... with END_STREAM (no body, no trailers: "trailers-only" in gRPC)
  std::string data;          // body bytes received and not yet taken (take_data: flow control)
  HeaderList trailers;
  std::size_t data_total = 0;

  bool ended = false;        // the backend's END_STREAM arrived (the answer is whole)
  bool closed = false;       // nothing more comes: see error_code, failure
  uint32_t error_code = 0;   // RST_STREAM / GOAWAY code; 0 with closed: ended normally
  bool sent = false;         // its HEADERS frame went out
  bool refused = false;      // the backend did not process it: safe to retry
  std::string failure;       // why it failed, when it did
  bool abandoned = false;    // the listener gave up on it (reset sent)
  int32_t id = -1;

  boost::asio::steady_timer wake;  // cancelled on every change above
  void notify() { wake.cancel(); }
};

class ClientSession : public std::enable_shared_from_this<ClientSession> {
 public:
  enum class State { connecting, ready, draining, dead };

  ClientSession(TierCore& core, boost::asio::ip::tcp::endpoint endpoint, std::shared_ptr<const tls::ClientTls> tls,
                Ms connect_timeout, Ms idle_timeout);
  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  // Connects (and handshakes) in the background; then reads and writes until it dies.
  void start();
  State state() const { return state_; }
  // Takes new streams: connecting or ready, not retired, no GOAWAY.
  bool accepts() const { return (state_ == State::connecting || state_ == State::ready) && !retired_; }
  // Streams reserved or open on it, and how many the backend allows at once
  // (SETTINGS_MAX_CONCURRENT_STREAMS; `assumed` until its SETTINGS arrive).
  std::size_t load() const { return reserved_ + streams_.size(); }
  std::size_t capacity(std::size_t assumed) const;
  bool settings_received() const { return settings_received_; }
  const std::shared_ptr<const tls::ClientTls>& tls() const { return tls_; }
  // Why it died (or failed to connect).
  const std::string& error() const { return error_; }
  // Whether the connect (and handshake) failed, as opposed to a later death.
  bool connect_failed() const { return connect_failed_; }
  // The TLS handshake's outcome, given once: the first exchange that sees the session after
  // it counts it for its backend (the per-backend TLS counters, as HTTP/1.1 connections do).
  struct Handshake {
    bool ok = false;
    bool resumed = false;
  };
  std::optional<Handshake> take_handshake() { return std::exchange(handshake_, std::nullopt); }

  // A slot taken by the pool for a stream that will be submitted once the session is ready.
  void reserve() { ++reserved_; }
  void unreserve() {
    if (reserved_ > 0) --reserved_;
    touch();
  }
  // While connecting: the stream is woken when the session becomes ready or dies.
  void wait_ready(const std::shared_ptr<ClientStream>& s) { ready_waiters_.push_back(s); }
  // Sends the stream's request (takes its reserved slot); false when the session cannot
  // (dead or draining): the stream is marked refused.
  bool submit(const std::shared_ptr<ClientStream>& s);
  // The listener gives up on the stream (timeout, client gone): RST_STREAM CANCEL.
  void cancel(ClientStream& s);
  // More of a streamed request body arrived (or it ended): DATA goes on.
  void resume_body(ClientStream& s);
  // The listener took n bytes of s.data: the backend's window reopens for them. Response
  // DATA is consumed only so, which is the back-pressure from a client that reads slowly.
  void consume(ClientStream& s, std::size_t n);
  // No new streams; closes (GOAWAY) once the last one ended.
  void retire();

 private:
  struct Callbacks;
  friend struct Callbacks;
  // self: the coroutines keep the session alive.
  boost::asio::awaitable<void> run(std::shared_ptr<ClientSession> self);
  boost::asio::awaitable<void> write_loop(std::shared_ptr<ClientSession> self);
  bool open_session();
  void fail(const std::string& why, bool while_connecting = false);
  void kick() { writer_wake_.cancel(); }
  void touch();

  TierCore& core_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::shared_ptr<const tls::ClientTls> tls_;
  Ms connect_timeout_, idle_timeout_;
  boost::asio::ip::tcp::socket socket_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_stream_;  // over socket_
  nghttp2_session* session_ = nullptr;
  State state_ = State::connecting;
  bool retired_ = false;
  bool connect_failed_ = false;
  std::optional<Handshake> handshake_;  // until taken
  std::string error_;
  std::size_t reserved_ = 0;
  std::map<int32_t, std::shared_ptr<ClientStream>> streams_;  // open on nghttp2 (until its stream-close)
  std::vector<std::weak_ptr<ClientStream>> ready_waiters_;
  boost::asio::steady_timer writer_wake_;
  bool settings_received_ = false;  // the backend's first SETTINGS
  std::chrono::steady_clock::time_point idle_since_;
};

}  // namespace meridian::forward::l7::h2
