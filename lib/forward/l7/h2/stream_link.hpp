// What the HTTP/2 session and a stream's handler share about a stream whose bytes keep
// flowing while the handler runs (a tunnel, tunnel.hpp; a streamed request body,
// request_body.hpp): which stream, on which session, whether it is still there, and how
// to wake the handler. Plain data, single-threaded (the tier's io thread).
#pragma once
#include <cstdint>
#include <functional>

namespace meridian::forward::l7::h2 {

class Session;

struct StreamLink {
  int32_t stream_id = 0;
  // Valid while the stream's handler runs (the connection outlives the handlers it started).
  Session* connection = nullptr;
  bool closed = false;    // the stream closed (reset, both ends, or the connection ended)
  bool finished = false;  // the handler returned: DATA from now on is dropped

  std::function<void()> wake;  // the handler's: something changed
  void notify() {
    if (wake) wake();
  }
};

}  // namespace meridian::forward::l7::h2
