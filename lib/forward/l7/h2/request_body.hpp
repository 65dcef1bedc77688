// The body of a request streamed to an HTTP/2 backend as it arrives (gRPC requests from an
// HTTP/2 client: ping-pong streaming needs it, and uploads are not held whole), between
// the client's session (session.cpp appends the client's DATA, sets `ended` at END_STREAM)
// and the backend's stream (client_session.cpp sends it as DATA). Flow control is the
// back-pressure: the client's window is given back only for bytes a backend stream has
// taken (Session::body_taken), so at most one stream window waits here unsent. Bytes sent
// are kept while the body is under kKeep, which lets a refused stream or a failed attempt
// be sent again; past that they are dropped and the request is no longer retried.
// Plain data, single-threaded (the tier's io thread).
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "forward/l7/h2/stream_link.hpp"

namespace meridian::forward::l7::h2 {

// closed: the client's stream closed (reset, or the connection ended); wake: the backend
// stream's (StreamLink).
struct RequestBody : StreamLink {
  static constexpr std::size_t kKeep = 65536;

  std::string data;           // the body from offset `base` on
  std::size_t base = 0;       // bytes dropped from the front (sent, past kKeep)
  std::size_t received = 0;   // bytes received from the client so far
  std::size_t consumed = 0;   // of those, given back to the client's flow control
  std::vector<std::pair<std::string, std::string>> trailers;

  bool ended = false;      // END_STREAM received (trailers, when any, are in)
  bool too_large = false;  // over limits.max_body_bytes: the stream is answered 413 or reset

  // The whole body can still be sent from the start (a retry or a resend).
  bool replayable() const { return base == 0; }
  std::size_t end() const { return base + data.size(); }
  // The client left before the body ended.
  bool abandoned() const { return closed && !ended; }
};

}  // namespace meridian::forward::l7::h2
