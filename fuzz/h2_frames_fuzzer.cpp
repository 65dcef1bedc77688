// The server side of the L7 tier's HTTP/2 (lib/forward/l7/h2/session.*): after the client
// preface, the input goes to the session as a client's bytes would, in pieces (byte 0: the
// piece size, 0 for all at once), through nghttp2's framing, HPACK and callbacks and
// meridian's header handling, limits (concurrent streams, header list and body size) and
// flood accounting (resets, SETTINGS/PING). Every request is answered at once (200 "ok");
// an extended CONNECT for a WebSocket opens a tunnel that echoes its DATA back, or, when
// byte 1's low bit is set, never takes it (its window stays shut). Beyond crashes, leaks and
// UB: the output always drains, stays within a bound proportional to the input, the
// streams in the works stay within max_concurrent_streams, a tunnel holds at most one
// stream window (and one frame past it) of unconsumed DATA and its outbound within its bound.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "forward/l7/h2/session.hpp"

namespace {

namespace h2 = meridian::forward::l7::h2;
namespace http = boost::beast::http;

constexpr std::string_view kPreface{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"};
constexpr uint32_t kMaxStreams = 8;
constexpr std::size_t kStreamWindow = 65535;
constexpr std::size_t kMaxFrame = 16384;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "h2_frames_fuzzer: %s\n", why);
  std::abort();
}

class FuzzSession final : public h2::Session {
 public:
  FuzzSession(const h2::ServerLimits& limits, h2::ServerCounters& counters, bool stall)
      : Session(limits, counters), stall_(stall) {}

  // Echoes what the open tunnels received (unless stalled), and ends those whose stream
  // closed or whose client ended its side.
  void pump_tunnels() {
    for (std::size_t i = 0; i < open_.size();) {
      Stream& s = *open_[i];
      h2::Tunnel& t = *s.request.tunnel;
      // a client past its window gets RST_STREAM FLOW_CONTROL_ERROR, but nghttp2 still hands
      // over that one frame's payload (at most the 16 KiB SETTINGS_MAX_FRAME_SIZE we keep)
      if (t.unconsumed > kStreamWindow + kMaxFrame) fail("a tunnel holds more than its stream window and a frame");
      if (t.outbound_pending() > h2::Tunnel::kMaxOutbound + kStreamWindow) fail("a tunnel's outbound grew past its bound");
      if (!stall_ && !t.inbound.empty() && t.outbound_pending() < h2::Tunnel::kMaxOutbound) {
        const std::size_t n = t.inbound.size();
        t.outbound += t.inbound;
        t.inbound.clear();
        tunnel_consumed(t, n);
        tunnel_send(t);
      }
      if (t.closed || t.client_ended) {
        if (!t.closed) {
          t.backend_ended = true;
          tunnel_send(t);
        }
        answer(s);
        open_.erase(open_.begin() + static_cast<std::ptrdiff_t>(i));
        continue;
      }
      ++i;
    }
  }
  void finish() {
    end();
    for (auto& s : open_) answer(*s);
    open_.clear();
  }

 protected:
  void serve(const std::shared_ptr<Stream>& s) override {
    h2::Tunnel* t = s->request.tunnel.get();
    if (t && s->request.protocol == "websocket" && !s->request.refuse) {
      h2::Response ok(http::status::ok, 11);
      ok.set("sec-websocket-protocol", "chat");
      t->outbound = "hello";
      open_tunnel(*t, ok);
      open_.push_back(s);
      return;
    }
    s->res = h2::Response(t ? http::status::not_implemented : http::status::ok, 11);
    s->res.set(http::field::content_type, "text/plain");
    s->res.body() = s->request.refuse ? "refused" : "ok";
    s->res.prepare_payload();
    answer(*s);
  }

 private:
  bool stall_;
  std::vector<std::shared_ptr<Stream>> open_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t piece = data[0] == 0 ? size : data[0];
  const bool stall = data[1] & 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  meridian::forward::Http2Settings settings;
  settings.max_concurrent_streams = kMaxStreams;
  settings.max_resets = 20;
  settings.max_control_frames = 50;
  h2::ServerCounters counters;
  const h2::ServerLimits limits{settings, 4096, 8192};
  FuzzSession session(limits, counters, stall);

  std::string out;
  std::size_t written = 0;
  const auto drain = [&] {
    for (int i = 0; i < 100000; ++i) {
      out.clear();
      session.take_output(out);
      if (out.empty()) return;
      written += out.size();
      if (written > 8192 + 16 * (input.size() + kPreface.size())) fail("output out of proportion to the input");
    }
    fail("output does not drain");
  };
  const auto check = [&] {
    if (session.in_flight() > kMaxStreams) fail("more streams in the works than max_concurrent_streams");
  };

  bool reading = session.receive(kPreface.data(), kPreface.size());
  drain();
  for (std::size_t at = 0; reading && at < input.size(); at += piece) {
    const std::string_view chunk = input.substr(at, piece);
    reading = session.receive(chunk.data(), chunk.size());
    session.pump_tunnels();
    check();
    drain();
  }
  session.pump_tunnels();
  drain();
  session.finish();
  drain();
  if (session.in_flight() != 0) fail("a stream still in the works after the end");
  return 0;
}
