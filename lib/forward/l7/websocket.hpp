// WebSocket over HTTP/1.1 (RFC 6455) through the L7 listener: an Upgrade request is routed
// and balanced like any request and sent to the backend with its Upgrade kept; when the
// backend answers 101 Switching Protocols, the 101 goes to the client and both connections
// become a byte relay (the L4 relay for clear-text clients, tls_relay for TLS ones) with the
// listener's websocket.idle_timeout, counted as an active connection of the backend (least
// connections sees it) until it closes. The listener's part is HttpListener::websocket.
#pragma once
#include <string_view>

#include "forward/l7/http_listener.hpp"

namespace meridian::forward::l7 {

// Connection names "upgrade" and Upgrade names "websocket" (any case): the request asks for
// a WebSocket, valid or not (check_websocket_request says).
bool is_websocket_upgrade(const Request& req);

// Empty when the request is what RFC 6455 §4.1 requires of an opening handshake that a proxy
// can check (GET, HTTP/1.1, a Sec-WebSocket-Key of 16 bytes in base64, a numeric
// Sec-WebSocket-Version), else why not (the listener answers 400).
std::string_view check_websocket_request(const Request& req);

}  // namespace meridian::forward::l7
