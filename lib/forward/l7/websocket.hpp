// WebSocket through the L7 listener: an HTTP/1.1 Upgrade (RFC 6455), or an HTTP/2 extended
// CONNECT (RFC 8441, websocket_h2.cpp), is routed and balanced like any request and sent to
// the backend as an HTTP/1.1 Upgrade on a connection of its own (TLS when the backend has
// "tls"); when the backend answers 101 Switching Protocols, the client gets the 101 (HTTP/2:
// 200) and both sides become a byte relay (the L4 relay when both are clear text,
// tls_relay when either is TLS, tunnel_relay for an HTTP/2 stream) with the listener's
// websocket.idle_timeout, counted as an active connection of the backend (least
// connections sees it) until it closes. The listener's part is HttpListener::websocket.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include <boost/beast/core/flat_buffer.hpp>

#include "forward/l7/http_listener.hpp"
#include "tls/client_tls.hpp"

namespace meridian::forward::l7 {

// One counted in `n` (requests pending, WebSockets open) for as long as this lives;
// release() ends it early.
template <class N>
class ScopedCount {
 public:
  explicit ScopedCount(N& n) : n_(&n) { ++n; }
  ~ScopedCount() { release(); }
  ScopedCount(const ScopedCount&) = delete;
  ScopedCount& operator=(const ScopedCount&) = delete;
  void release() {
    if (n_) --*n_;
    n_ = nullptr;
  }

 private:
  N* n_;
};

// Connection names "upgrade" and Upgrade names "websocket" (any case): the request asks for
// a WebSocket, valid or not (check_websocket_request says).
bool is_websocket_upgrade(const Request& req);

// Empty when the request is what RFC 6455 §4.1 requires of an opening handshake that a proxy
// can check (GET, HTTP/1.1, a Sec-WebSocket-Key of 16 bytes in base64, a numeric
// Sec-WebSocket-Version), else why not (the listener answers 400).
std::string_view check_websocket_request(const Request& req);

// Empty when an HTTP/2 extended CONNECT for a WebSocket (RFC 8441 §5) carries what the
// backend's opening handshake needs (one numeric Sec-WebSocket-Version, no Sec-WebSocket-Key:
// the proxy makes its own), else why not (400).
std::string_view check_websocket_connect(const Request& req);

// A Sec-WebSocket-Key (16 random bytes in base64) and the Sec-WebSocket-Accept that a
// backend must answer it with (RFC 6455 §4.2.2: base64 of SHA-1 of the key and the GUID).
std::string new_websocket_key();
std::string websocket_accept(std::string_view key);

// A backend connection that switched protocols: the backend counts it as active until
// this is destroyed.
struct UpgradedBackend {
  std::shared_ptr<Backend> backend;
  std::unique_ptr<tcp::socket> socket;
  std::unique_ptr<tls::ClientTlsStream> tls;  // over socket, when the backend has "tls"
  boost::beast::flat_buffer early;            // what the backend sent after its 101
  UpgradedBackend() = default;
  UpgradedBackend(const UpgradedBackend&) = delete;
  UpgradedBackend& operator=(const UpgradedBackend&) = delete;
  ~UpgradedBackend() {
    tls.reset();  // before the socket it is over
    if (backend) --backend->active;
  }
};

template <class Relay>
boost::asio::awaitable<l4::RelayEnd> HttpListener::run_relay(Relay& relay, const L7Settings& s) {
  // graceful or forced alike (http_listener.hpp says why); a relay that begins while the
  // tier drains ends at once, as the closers have run
  Tracked closer(core_, [&relay](bool) { relay.stop(); });
  if (core_.draining) relay.stop();
  co_return co_await relay.run(s.websocket_idle_timeout);
}

}  // namespace meridian::forward::l7
