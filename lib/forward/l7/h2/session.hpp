// The HTTP/2 server session of one client connection of an L7 listener, on libnghttp2 (no
// codec of our own): bytes from the client go in (receive), frames to send come out
// (take_output). Each request stream, once whole, becomes an HTTP/1.1-shaped Request handed
// to serve() (ServerConnection's runs the listener's handler as a coroutine), whose Response
// goes back on the stream through answer(). A gRPC request (content-type application/grpc*)
// is handed over once its head is in, its body following through a RequestBody
// (request_body.hpp) as it arrives. Socket- and coroutine-free, so that clang 14
// builds it for the h2_frames fuzz target; unit tests drive it with bytes.
//
// Limits: SETTINGS_MAX_CONCURRENT_STREAMS, and the same count bounds the requests still at
// backends (a stream the client reset keeps its slot until the backend answered, so resets
// cannot multiply work); header list size (431) and body size (413) as for HTTP/1.1; streams
// reset by the client and SETTINGS/PING frames per window (over either: GOAWAY with
// ENHANCE_YOUR_CALM, CVE-2023-44487 "rapid reset" and control-frame floods); nghttp2 bounds
// its queue of SETTINGS/PING acks (a client that does not read them is cut off).
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "forward/l7/framing.hpp"
#include "forward/l7/h2/request_body.hpp"
#include "forward/l7/h2/tunnel.hpp"
#include "forward/settings.hpp"

struct nghttp2_session;

namespace meridian::forward::l7::h2 {

using Request = boost::beast::http::request<boost::beast::http::string_body, Fields>;
using Response = boost::beast::http::response<boost::beast::http::string_body, Fields>;

struct ServerLimits {
  Http2Settings http2;
  std::size_t max_header_bytes = 16384;  // name + value + 32 per field, as SETTINGS_MAX_HEADER_LIST_SIZE counts
  std::size_t max_body_bytes = 10u << 20;
};

// What the listener reports (summed over its connections).
struct ServerCounters {
  uint64_t connections = 0;
  uint64_t streams = 0;           // request streams begun
  uint64_t refused_streams = 0;   // over max_concurrent_streams (RST_STREAM REFUSED_STREAM)
  uint64_t client_resets = 0;     // RST_STREAM frames from clients
  uint64_t goaway_resets = 0;     // connections ended for too many resets
  uint64_t goaway_control = 0;    // ... for too many SETTINGS/PING frames, or unread acks
  uint64_t protocol_errors = 0;   // connections nghttp2 ended (bad preface, framing)
};

class Session;

// A response relayed to the client as it arrives from an HTTP/2 backend (the head, then
// body pieces, then trailers), instead of handed back whole: what lets server-streaming
// gRPC through. Valid while the stream's handler runs. Once started, the handler's
// Response is not sent.
class ResponseRelay {
 public:
  using Trailers = std::vector<std::pair<std::string, std::string>>;
  // The client still wants the answer (its stream and the connection are open).
  bool open() const;
  bool started() const { return started_; }
  // Sends the head: res's status and fields (lower-cased, connection-specific ones
  // dropped); its body is ignored. end: nothing follows (a single HEADERS with END_STREAM).
  void start(const Response& res, bool end);
  void data(std::string_view bytes);
  // The body is complete; trailers (when any) end the stream.
  void finish(Trailers trailers);
  // The backend failed mid-response: RST_STREAM INTERNAL_ERROR to the client.
  void abort();
  // Body bytes queued and not yet taken by nghttp2 (the client's flow control holds them).
  std::size_t queued() const { return out_.size() - taken_; }
  // Called when nghttp2 took queued bytes (the client's window opened): the feeder may add more.
  std::function<void()> on_drain;

 private:
  friend class Session;
  Session* conn_ = nullptr;
  void* stream_ = nullptr;  // Session::Stream
  bool started_ = false, ended_ = false, deferred_ = false;
  std::string out_;
  std::size_t taken_ = 0;
  Trailers trailers_;
};

// A stream's request as the listener gets it. refuse: 431 (header list too large) or 413
// (body too large) when the stream is answered without being forwarded; else 0.
// A CONNECT stream (RFC 8441 extended CONNECT when :protocol is set) is handed over as soon
// as its HEADERS arrive, with a tunnel for the bytes that follow (tunnel.hpp).
struct StreamRequest {
  Request req;
  unsigned refuse = 0;
  std::string protocol;            // :protocol (RFC 8441), empty when none
  std::shared_ptr<Tunnel> tunnel;  // CONNECT streams only
  // trailers: the request's trailer fields (gRPC may send them); relay: to stream the answer.
  std::vector<std::pair<std::string, std::string>> trailers;
  ResponseRelay* relay = nullptr;
  // Set when the stream was handed over before its body ended (gRPC): the body arrives
  // here (req's body stays empty; trailers, when any, go to body->trailers).
  std::shared_ptr<RequestBody> body;
};
class Session {
 public:
  struct Stream;
  Session(const ServerLimits& limits, ServerCounters& counters);
  virtual ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Feeds bytes read from the client (the first ones start with the connection preface).
  // false: stop reading (protocol error or flood; what is queued, e.g. GOAWAY, still goes out).
  bool receive(const char* data, std::size_t size);
  // Appends the bytes nghttp2 has to send now.
  void take_output(std::string& out);
  // Nothing more to read or write: the connection is over.
  bool done() const;
  // Requests at the listener (handed over, not yet answered), and streams still arriving.
  std::size_t in_flight() const { return in_flight_; }
  bool receiving() const { return receiving_ > 0; }
  // Graceful end (reload, stop): GOAWAY, the streams already begun finish.
  void shutdown();
  // Called whenever output is queued outside receive() (an answer came back); the io loop
  // sets it and clears it before it ends (then answers still arriving are dropped).
  std::function<void()> on_output;

  // The handler of a CONNECT stream drives its tunnel with these (no effect once the stream
  // or the connection closed): the response (a 2xx, whose DATA then comes from outbound);
  // n bytes of inbound written to the backend (the window reopens); outbound grew or
  // backend_ended was set; RST_STREAM.
  void open_tunnel(Tunnel& t, const Response& res);
  void tunnel_consumed(Tunnel& t, std::size_t n);
  void tunnel_send(Tunnel& t);
  void tunnel_reset(Tunnel& t, uint32_t error_code);
  // A streamed request body's bytes up to offset `up_to` went to a backend stream: the
  // client's window reopens for them (once), and sent bytes past RequestBody::kKeep are dropped.
  void body_taken(RequestBody& b, std::size_t up_to);
  // The io loop is over: tunnels and streamed bodies still open are told their stream is gone.
  void end();

 protected:
  // A request to serve (whole, or a CONNECT's HEADERS): the subclass fills stream.res, then
  // calls answer(stream), now or later; stream.request is what it serves.
  virtual void serve(const std::shared_ptr<Stream>& stream) = 0;
  // The answer goes out, unless the stream or the connection ended meanwhile.
  void answer(Stream& stream);

 private:
  struct Callbacks;
  friend struct Callbacks;
  friend class ResponseRelay;
  void dispatch(const std::shared_ptr<Stream>& s);
  void submit(Stream& s);
  bool tunnel_usable(const Tunnel& t) const { return !t.closed && !failed_; }
  // HEADERS of res on stream id, then DATA when body is set: from the Stream's response,
  // or from the Tunnel's outbound.
  enum class Body { none, response, tunnel, relay };
  void submit_headers(int32_t id, const Response& res, Body body, void* source);
  // Counts a frame of a flood kind in the current window; true when over the limit.
  bool over_limit(uint32_t& count, uint32_t limit);
  void calm_down(uint64_t& counter);
  // Hands a gRPC stream over once its head is in (its body follows through a RequestBody).
  void dispatch_streaming(const std::shared_ptr<Stream>& s);

  ServerLimits limits_;
  ServerCounters& counters_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::shared_ptr<Stream>> streams_;
  std::size_t in_flight_ = 0;
  std::size_t receiving_ = 0;
  bool failed_ = false;  // stop reading
  std::chrono::steady_clock::time_point window_start_;
  uint32_t resets_in_window_ = 0;
  uint32_t control_in_window_ = 0;
};

// One stream of the session: what the client sent, and the answer.
struct Session::Stream {
  int32_t id = 0;
  StreamRequest request;
  Response res;
  std::string method, path, authority, cookies, protocol;
  std::size_t header_bytes = 0;
  std::size_t body_sent = 0;
  bool dispatched = false;  // handed to serve()
  bool closed = false;      // nghttp2 closed it (answered, reset, or the connection ended)
  ResponseRelay relay;      // when the listener streams the answer
};

}  // namespace meridian::forward::l7::h2
