// The HTTP/1.1 reverse proxy of one region: Beast on the tier's io thread, one
// coroutine per client connection, keep-alive pools to backends, routes by Host and
// path prefix, forwarding headers, framing checks, limits, rate limiting, and
// retries with backoff under a retry budget.
#pragma once
#include <array>
#include <functional>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "forward/core/backend.hpp"
#include "forward/core/listener.hpp"
#include "forward/l4/relay.hpp"
#include "forward/l4/relay_watch.hpp"
#include "forward/l7/framing.hpp"
#include "forward/l7/h2/server_connection.hpp"
#include "forward/l7/route_table.hpp"
#include "forward/resilience/rate_limiter.hpp"
#include "forward/resilience/retry_budget.hpp"

namespace meridian::forward::l7 {

using Request = boost::beast::http::request<boost::beast::http::string_body, Fields>;
using Response = boost::beast::http::response<boost::beast::http::string_body, Fields>;
// A client connection of a TLS listener: OpenSSL over the session's own socket.
using TlsStream = boost::asio::ssl::stream<tcp::socket&>;

// The request as a backend gets it (hop-by-hop fields removed, X-Forwarded-For, X-Real-IP,
// X-Forwarded-Proto and X-Request-ID set) and the response as the client gets it (see
// finish_response in http_listener.cpp). The WebSocket upgrade (websocket.cpp) puts its
// Upgrade and Connection back afterwards.
void rewrite_request_for_backend(Request& req, std::string_view request_id, const std::string& client_ip,
                                 const std::string& forwarded_proto);
// rewrite_request_for_backend in two steps: the hop-by-hop fields and the client's
// X-Forwarded-For, X-Real-IP, X-Forwarded-Proto and X-Request-ID removed (the X-Forwarded-For
// the backend gets is returned), then the four fields added.
std::string strip_request_for_backend(Request& req, const std::string& client_ip);
void add_forwarding_fields(Request& req, std::string_view request_id, std::string_view xff,
                           std::string_view client_ip, std::string_view forwarded_proto);
// Appends what serialize() writes for a stripped request once add_forwarding_fields and
// as_http11 have made it the backend's, without changing req (no field is added to it):
// what an HTTP/1.1 backend is sent. Throws std::invalid_argument for a TRACE with a body,
// as as_http11 does.
void write_request_for_backend(std::string& out, const Request& req, std::string_view request_id,
                               std::string_view xff, std::string_view client_ip, std::string_view forwarded_proto);
void rewrite_response_for_client(Response& res, std::string_view request_id, unsigned version, bool keep,
                                 bool fix_length);

// Everything a request needs, swapped as a whole on reload.
struct L7Config {
  L7Settings s;
  std::shared_ptr<Region> region;
  std::vector<std::unique_ptr<Group>> groups;
  Group* fallback = nullptr;  // the "default" group, when there is one
  std::unique_ptr<RouteTable> routes;  // the group for a request (its split state is per configuration)

  static std::shared_ptr<L7Config> build(const L7Settings& s, std::shared_ptr<Region> region);
};

struct UpgradedBackend;  // websocket.hpp

class HttpListener final : public Listener {
 public:
  HttpListener(TierCore& core, ListenerIdentity id, tcp::acceptor acceptor, std::shared_ptr<L7Config> cfg);
  void update(std::shared_ptr<L7Config> cfg);
  void metrics(MetricSink& out) const override;
  nlohmann::json status() const override;

  // One attempt's outcome toward a backend (public for the leased buffers that hold it).
  struct Exchange {
    enum class Kind { response, connect_failed, failed, timeout } kind = Kind::failed;
    Response res;
    std::string error;
    // HTTP/2 backends (h2_exchange.cpp): the backend cannot have processed the request
    // (REFUSED_STREAM, above GOAWAY's last stream id, never sent), so any request may be
    // retried; the response head already went to the client (relayed: no retry), res
    // holding it; the response's grpc-status (trailers, or a trailers-only head).
    bool refused = false;
    bool committed = false;
    std::string grpc_status;
  };

 private:
  enum Reject { bad_request, header_too_large, body_too_large, header_timeout, request_timeout, rate_limited,
                overloaded, no_route, no_backend, bad_gateway, gateway_timeout, reject_kinds };

  // What admit() decided for a request.
  enum class Admission {
    forward,                 // send it to a backend
    forward_after_continue,  // likewise, once "100 Continue" has asked for its body
    answer_and_keep,         // answer with res; the connection goes on
    answer_and_close,        // answer with res and close
  };
  // The request id of the request being served (a client's may be up to 200 bytes).
  struct RequestIdBuffer {
    std::array<char, 200> bytes;
    std::size_t length = 0;
  };

  // What a client connection's closer (TierCore::track) and its requests share.
  struct Connection {
    bool idle = true;        // between requests: a graceful stop may close it now
    bool closing = false;    // close after the request in progress
    bool clean_end = false;  // ended by a close the protocol allows (TLS: send close_notify)
  };

  // How a WebSocket upgrade request ended (websocket.cpp).
  enum class UpgradeEnd {
    relayed,   // the backend switched protocols; the relay has ended: the connection is over
    answered,  // res holds the answer (the backend's, or an error); the connection goes on
    refused,   // res holds a 400 (not a valid upgrade request): close after it
  };

  uint64_t max_connections() const override { return cfg_->s.max_connections; }
  // An Upgrade: websocket request: routed and balanced like any, sent on a connection of its
  // own; when the backend answers 101, both connections become a byte relay (websocket.cpp).
  template <class Stream>
  boost::asio::awaitable<UpgradeEnd> websocket(Stream& client, Deadline& deadline, const L7Config& cfg, Request& req,
                                               Response& res, boost::beast::flat_buffer& client_buffer,
                                               std::string_view request_id, const std::string& client_ip,
                                               const std::string& client_bytes);
  // An HTTP/2 CONNECT stream: an extended CONNECT for a WebSocket (RFC 8441) is upgraded as
  // above and answered 200, then relayed over the stream (websocket_h2.cpp); other CONNECTs
  // are refused (501).
  boost::asio::awaitable<void> websocket_h2(const L7Config& cfg, h2::StreamRequest& request, Response& res,
                                            std::string_view request_id, const std::string& client_ip,
                                            const std::string& client_bytes);
  // What both upgrades share once the request is valid: overload check, route, balancing
  // key; the request goes to a backend of the route's group with the forwarding headers,
  // `Connection: Upgrade`, `Upgrade: upgrade` and (when set) `Sec-WebSocket-Key: ws_key`,
  // retried on another backend when the connect or TLS handshake fails. It counts toward
  // max_pending until answered. True with the backend's 101 in res and the connection in up;
  // false with the answer for the client in res (the backend's, or an error).
  boost::asio::awaitable<bool> upgrade_backend(const L7Config& cfg, Request& req, std::string_view upgrade,
                                               std::string_view ws_key, unsigned version,
                                               std::string_view request_id, const std::string& client_ip,
                                               const std::string& client_bytes, Response& res,
                                               UpgradedBackend& up);
  // The connect (and TLS handshake) part of upgrade_backend: a connection in up, or false
  // with the answer for the client in res.
  boost::asio::awaitable<bool> connect_upgrade(const L7Config& cfg, Group& group, uint64_t key, unsigned version,
                                               std::string_view request_id, Response& res, UpgradedBackend& up);
  // An upgraded HTTP/1.1 connection and its backend, relayed until either ends.
  template <class Stream>
  boost::asio::awaitable<void> relay_upgraded(Stream& client, Deadline& deadline, UpgradedBackend& up,
                                              const L7Settings& s, const std::string& client_ip);
  // A relay's run with websocket.idle_timeout, stopped when the tier stops (a graceful stop
  // too: a WebSocket would not end within the drain, and its client may reconnect elsewhere).
  template <class Relay>
  boost::asio::awaitable<l4::RelayEnd> run_relay(Relay& relay, const L7Settings& s);
  // close_notify to a TLS backend, waiting up to a second for its own.
  boost::asio::awaitable<void> close_notify(TlsStream& backend);
  void websocket_metrics(MetricSink& out, const std::string& labels) const;
  nlohmann::json websocket_status() const;
  // One client connection: its requests one after the other, each read (head, then
  // admitted, then its body), forwarded and answered, until the client or a
  // Connection: close ends it. The steps that decide without waiting are below.
  boost::asio::awaitable<void> session(tcp::socket socket) override;
  // The requests of one connection, over the plain socket or its TLS stream.
  template <class Stream>
  boost::asio::awaitable<void> serve(Stream& stream, Deadline& deadline, Connection& conn,
                                     const std::string& client_text, const std::string& client_bytes);
  // An HTTP/2 connection (ALPN h2, or the h2c preface in `initial`): its streams go
  // through serve_stream.
  template <class Stream>
  boost::asio::awaitable<void> serve_h2(Stream& stream, Deadline& deadline, Connection& conn, std::string_view initial,
                                        const std::string& client_text, const std::string& client_bytes);
  // One HTTP/2 request stream, whole: the HTTP/1.1 path's steps (request id, admit,
  // overload, forward, finish_response) on it.
  boost::asio::awaitable<void> serve_stream(h2::StreamRequest& request, Response& res, const std::string& client_text,
                                            const std::string& client_bytes);
  // A request head or body that could not be read: false when nothing is to be sent
  // (the client left or was too slow), else true with the error response in res.
  bool reject_unreadable_head(const boost::system::error_code& ec, bool timed_out, Response& res);
  bool reject_unreadable_body(const boost::system::error_code& ec, bool timed_out, unsigned version,
                              std::string_view request_id, Response& res);
  // The client's X-Request-ID when it sent a usable one, else a new one; kept in id.
  std::string_view take_request_id(const Request& head, RequestIdBuffer& id);
  // Framing, rate limit and Expect checks of a request whose head was read; an answer
  // other than forward is written into res. body_unread: the body is still to be read.
  Admission admit(Request& head, bool has_body, bool body_unread, unsigned version, std::string_view request_id,
                  const std::string& client_ip, const std::string& client_bytes, Response& res);
  // true (503 in res) when max_pending requests are already in flight.
  bool reject_overloaded(const L7Settings& s, unsigned version, std::string_view request_id, Response& res);
  // Sends req to a backend of cfg (with retries) and stores the answer in res. cfg is kept
  // alive by the caller; wire, rbuf: the session's buffers for the bytes to and from backends.
  // stream: the HTTP/2 client stream the request came on (its trailers, and its relay for
  // streaming the answer of an HTTP/2 backend), else nullptr.
  boost::asio::awaitable<void> forward(const L7Config& cfg, Request& req, Response& res, std::string_view request_id,
                                       const std::string& client_ip, const std::string& client_bytes,
                                       std::string& wire, boost::beast::flat_buffer& rbuf, Exchange& x,
                                       h2::StreamRequest* stream = nullptr);
  boost::asio::awaitable<void> exchange(const L7Config& cfg, Backend& b, std::string_view wire, bool head,
                                        boost::beast::flat_buffer& rbuf, Exchange& out);
  // One attempt toward a backend with "protocol": "h2" (h2_exchange.cpp): a stream on one of
  // its pooled sessions. With a relay on `stream`, a response that will not be retried is
  // relayed as it arrives (decorate prepares its head for the client); otherwise buffered
  // whole into out.res as the HTTP/1.1 exchange does.
  boost::asio::awaitable<void> exchange_h2(const L7Config& cfg, Backend& b, const Request& req, bool te_trailers,
                                           bool idempotent, h2::StreamRequest* stream,
                                           const std::function<void(Response&)>& decorate, Exchange& out);
  // An HTTP/1.1 backend takes a body whole: a streamed one (an HTTP/2 client's gRPC request)
  // is gathered into req first, within `timeout`; false: it did not end (too large, the
  // client left, the timeout, or part of it already went to an HTTP/2 backend and is gone).
  boost::asio::awaitable<bool> gather_body(h2::RequestBody& body, Request& req, Ms timeout);
  void h2_backend_metrics(MetricSink& out, const std::string& labels) const;
  Response error_response(unsigned status, std::string_view text, unsigned version, std::string_view request_id);
  uint64_t hash_key(const L7Config& cfg, const Request& req, const std::string& client_bytes) const;
  // 32 lower-case hex digits.
  void new_request_id(char* out);

  std::shared_ptr<L7Config> cfg_;
  RetryBudget budget_;
  std::unique_ptr<RateLimiter> limiter_;
  RateLimitSettings limiter_settings_;
  uint32_t pending_ = 0;
  uint64_t requests_ = 0;
  std::array<uint64_t, 6> responses_{};  // by status class 1xx..5xx (index 1-5)
  std::array<uint64_t, reject_kinds> rejects_{};
  uint64_t retries_ = 0;
  uint64_t budget_exhausted_ = 0;
  uint64_t pool_reuses_ = 0;
  uint64_t tls_handshakes_ = 0;
  uint64_t tls_handshake_failures_ = 0;
  uint64_t tls_resumed_ = 0;
  h2::ServerCounters h2_;
  uint64_t h2_backend_streams_ = 0;             // streams sent to HTTP/2 backends
  std::size_t h2_relay_queued_peak_ = 0;        // most relayed bytes held for one slow client
  uint64_t h2_relay_pauses_ = 0;                // backend reads paused for a slow client
  std::array<uint64_t, 18> grpc_statuses_{};    // gRPC responses by grpc-status (0-16, other)
  std::shared_ptr<l4::Relay> relay_;  // made at the first upgrade: moves upgraded connections' bytes
  struct WebSocketCounters {
    uint64_t active = 0, total = 0, idle_timeouts = 0, bytes_in = 0, bytes_out = 0;
  } websocket_;
};

}  // namespace meridian::forward::l7
