// The bytes of an extended CONNECT stream (RFC 8441: WebSocket over HTTP/2) between the
// HTTP/2 session (Session fills `inbound` from the client's DATA and drains
// `outbound` into DATA frames) and the relay that moves them to and from the backend
// (l7/websocket_h2.cpp). Flow control is the back-pressure: DATA is consumed (the
// stream's window reopened) only once the relay wrote it to the backend, so `inbound`
// holds at most one stream window; the relay reads the backend only while `outbound`
// holds less than kMaxOutbound, and nghttp2 drains it only as the client's window allows.
// Plain data, single-threaded (the tier's io thread); the relay's wake-up is a callback.
#pragma once
#include <cstddef>
#include <string>

#include "forward/l7/h2/stream_link.hpp"

namespace meridian::forward::l7::h2 {

struct Tunnel : StreamLink {
  static constexpr std::size_t kMaxOutbound = 65536;

  // client -> backend
  std::string inbound;          // DATA received, not yet taken by the relay
  std::size_t unconsumed = 0;   // bytes received and not yet given back to flow control
  bool client_ended = false;    // END_STREAM received
  // backend -> client
  std::string outbound;         // for DATA frames; outbound_sent of it already taken
  std::size_t outbound_sent = 0;
  bool backend_ended = false;   // END_STREAM after outbound
  bool end_sent = false;        // the DATA frame with END_STREAM was produced

  bool opened = false;  // the 2xx went out: DATA flows

  std::size_t outbound_pending() const { return outbound.size() - outbound_sent; }
};

}  // namespace meridian::forward::l7::h2
