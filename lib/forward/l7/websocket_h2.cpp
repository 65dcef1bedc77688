// WebSocket over HTTP/2 (RFC 8441): an extended CONNECT stream with :protocol websocket is
// routed and balanced like an HTTP/1.1 upgrade (as a GET of its :path), sent to the backend
// as an HTTP/1.1 Upgrade with a Sec-WebSocket-Key of the proxy's (the backend speaks plain
// RFC 6455), and when the backend answers 101 with the matching Sec-WebSocket-Accept, the
// client gets 200 and the stream's DATA and the backend's bytes are relayed (tunnel_relay).
#include <string_view>
#include <type_traits>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nghttp2/nghttp2.h>

#include "forward/l7/h2/server_connection.hpp"
#include "forward/l7/tunnel_relay.hpp"
#include "forward/l7/websocket.hpp"
#include "util/coarse_clock.hpp"
#include "util/log.hpp"

namespace meridian::forward::l7 {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

awaitable<void> HttpListener::websocket_h2(const L7Config& cfg, h2::StreamRequest& r, Response& res,
                                           std::string_view request_id, const std::string& client_ip,
                                           const std::string& client_bytes) {
  const L7Settings& s = cfg.s;
  Request& req = r.req;
  h2::Tunnel& tunnel = *r.tunnel;
  if (r.protocol.empty() || !beast::iequals(r.protocol, "websocket")) {
    // a plain CONNECT (a forward proxy's) or another protocol: not what a reverse proxy offers
    ++rejects_[bad_request];
    res = error_response(501, r.protocol.empty() ? "CONNECT is not supported" : "protocol not supported", 11,
                         request_id);
    co_return;
  }
  if (const std::string_view why = check_websocket_connect(req); !why.empty()) {
    ++rejects_[bad_request];
    util::log(util::LogLevel::debug, "forward_bad_request", {{"client", client_ip}, {"reason", std::string(why)}});
    res = error_response(400, "bad request: " + std::string(why), 11, request_id);
    co_return;
  }
  // routed as the GET of an HTTP/1.1 upgrade would be
  req.method(http::verb::get);
  req.body().clear();
  const std::string ws_key = new_websocket_key();
  UpgradedBackend up;
  if (!co_await upgrade_backend(cfg, req, "websocket", ws_key, 11, request_id, client_ip, client_bytes, res, up)) {
    // a 2xx to CONNECT would tell the client its tunnel is open: the backend did not switch
    if (res.result_int() / 100 == 2) {
      ++rejects_[bad_gateway];
      res = error_response(502, "the backend did not switch protocols", 11, request_id);
    }
    co_return;
  }
  const auto accept = res[http::field::sec_websocket_accept];
  if (std::string_view(accept.data(), accept.size()) != websocket_accept(ws_key)) {
    // the backend did not complete the handshake we started: not a WebSocket we can relay
    ++rejects_[bad_gateway];
    cfg.region->on_failure(*up.backend, util::coarse_now(), "upgrade: wrong Sec-WebSocket-Accept");
    res = error_response(502, "bad gateway", 11, request_id);
    co_return;
  }

  // 200 to the client: the backend's fields (Sec-WebSocket-Protocol, -Extensions...) without
  // the hop-by-hop ones and the Accept that answered our key, not the client's
  rewrite_response_for_client(res, request_id, 11, true, false);
  res.erase(http::field::sec_websocket_accept);
  res.erase(http::field::content_length);
  res.result(http::status::ok);
  res.body().clear();
  const auto early = up.early.data();
  tunnel.outbound.append(static_cast<const char*>(early.data()), early.size());
  websocket_.bytes_out += early.size();
  up.early.consume(up.early.size());
  if (tunnel.closed) co_return;  // the client gave up meanwhile
  tunnel.connection->open_tunnel(tunnel, res);
  ++responses_[2];

  ++websocket_.total;
  ScopedCount open(websocket_.active);
  util::log(util::LogLevel::debug, "forward_websocket_open",
            {{"listener", id_.listen}, {"client", client_ip}, {"backend", up.backend->address}, {"http", "2"}});
  const auto relay = [&](auto& upstream) -> awaitable<void> {
    TunnelRelay<std::remove_reference_t<decltype(upstream)>> relay(tunnel, upstream, websocket_.bytes_in,
                                                                   websocket_.bytes_out);
    const l4::RelayEnd end = co_await run_relay(relay, s);
    if (end == l4::RelayEnd::idle_timeout) ++websocket_.idle_timeouts;
    // settle the stream: our END_STREAM after what is left, or a reset
    if (!relay.clean()) {
      tunnel.connection->tunnel_reset(tunnel, NGHTTP2_CANCEL);
    } else if (!tunnel.backend_ended) {
      tunnel.backend_ended = true;
      tunnel.connection->tunnel_send(tunnel);
    } else if (!tunnel.client_ended) {
      tunnel.connection->tunnel_reset(tunnel, NGHTTP2_NO_ERROR);  // our end went; the client did not end its
    }
    if constexpr (!std::is_same_v<std::remove_reference_t<decltype(upstream)>, tcp::socket>) {
      if (relay.ended_by_client()) co_await close_notify(upstream);
    }
    util::log(util::LogLevel::debug, "forward_websocket_closed",
              {{"listener", id_.listen}, {"client", client_ip}, {"backend", up.backend->address},
               {"reason", end == l4::RelayEnd::idle_timeout ? "idle timeout" : "closed"}});
  };
  if (up.tls) co_await relay(*up.tls);
  else co_await relay(*up.socket);
}

}  // namespace meridian::forward::l7
