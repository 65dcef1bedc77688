#include "forward/l7/websocket.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "forward/l4/relay_watch.hpp"
#include "forward/l7/tls_relay.hpp"
#include "util/coarse_clock.hpp"
#include "util/log.hpp"

namespace meridian::forward::l7 {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

std::string_view sv(beast::string_view v) { return {v.data(), v.size()}; }

// Whether a comma-separated field value holds token (given in lower case; any case in value).
bool has_token(std::string_view value, std::string_view token) {
  return for_each_token(value, [&](std::string_view t) {
    return beast::iequals(beast::string_view(t.data(), t.size()), beast::string_view(token.data(), token.size()));
  });
}

// Whether any field `name` holds token (fields of one name may be repeated).
bool any_field_has(const Request& req, http::field name, std::string_view token) {
  for (const auto& f : req)
    if (f.name() == name && has_token(sv(f.value()), token)) return true;
  return false;
}

std::size_t count_fields(const Request& req, std::string_view name) {
  std::size_t n = 0;
  for (const auto& f : req)
    if (beast::iequals(f.name_string(), beast::string_view(name.data(), name.size()))) ++n;
  return n;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// The one Sec-WebSocket-Version: a number of up to three digits.
std::string_view check_version(const Request& req) {
  const std::string_view version = sv(req["Sec-WebSocket-Version"]);
  bool version_ok = !version.empty() && version.size() <= 3;
  for (const char c : version) version_ok = version_ok && c >= '0' && c <= '9';
  return version_ok ? std::string_view() : "Sec-WebSocket-Version is not a number";
}

bool timed_out(const Deadline& d, const boost::system::error_code& ec) {
  return d.expired() && ec == asio::error::operation_aborted;
}

}  // namespace

bool is_websocket_upgrade(const Request& req) {
  if (req.find(http::field::upgrade) == req.end()) return false;  // the usual request: one lookup
  return any_field_has(req, http::field::upgrade, "websocket") && any_field_has(req, http::field::connection, "upgrade");
}

std::string_view check_websocket_request(const Request& req) {
  if (req.method() != http::verb::get) return "a WebSocket upgrade is a GET";
  if (req.version() != 11) return "a WebSocket upgrade is HTTP/1.1";
  if (!req.body().empty()) return "a WebSocket upgrade has no body";
  if (count_fields(req, "Sec-WebSocket-Key") != 1) return "a WebSocket upgrade needs one Sec-WebSocket-Key";
  // 16 random bytes in base64: 22 characters and "=="
  const std::string_view key = sv(req["Sec-WebSocket-Key"]);
  bool key_ok = key.size() == 24 && key.substr(22) == "==";
  for (std::size_t i = 0; key_ok && i < 22; ++i) key_ok = is_base64_char(key[i]);
  if (!key_ok) return "Sec-WebSocket-Key is not 16 bytes in base64";
  if (count_fields(req, "Sec-WebSocket-Version") != 1) return "a WebSocket upgrade needs one Sec-WebSocket-Version";
  return check_version(req);
}

std::string_view check_websocket_connect(const Request& req) {
  if (count_fields(req, "Sec-WebSocket-Key") != 0) return "an extended CONNECT has no Sec-WebSocket-Key";
  if (count_fields(req, "Sec-WebSocket-Version") != 1) return "a WebSocket CONNECT needs one Sec-WebSocket-Version";
  return check_version(req);
}

std::string new_websocket_key() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  unsigned char out[25];
  EVP_EncodeBlock(out, raw, sizeof raw);
  return std::string(reinterpret_cast<const char*>(out), 24);
}

std::string websocket_accept(std::string_view key) {
  std::string in(key);
  in += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(in.data()), in.size(), digest);
  unsigned char out[29];
  EVP_EncodeBlock(out, digest, SHA_DIGEST_LENGTH);
  return std::string(reinterpret_cast<const char*>(out), 28);
}

awaitable<bool> HttpListener::connect_upgrade(const L7Config& cfg, Group& group, uint64_t key, unsigned version,
                                              std::string_view request_id, Response& res, UpgradedBackend& up) {
  const L7Settings& s = cfg.s;
  Region& region = *cfg.region;
  boost::system::error_code ec;
  // A connection of its own (never pooled: it will carry the relay), to a backend of the
  // route's group, TLS when the backend has "tls"; a backend that refuses the connect or
  // fails the handshake is replaced by another, as for requests.
  boost::container::small_vector<Backend*, 4> tried;
  bool skipped_h2 = false;
  for (unsigned attempt = 0; attempt <= s.retry.max_retries; ++attempt) {
    const auto now = util::coarse_now();
    Backend* b = group.pick(now, key, std::span<Backend* const>(tried.data(), tried.size()));
    // An HTTP/2 backend ("protocol": "h2") would take the HTTP/1.1 Upgrade as a bad
    // preface: passed over, without spending an attempt.
    while (b && b->h2) {
      // pick() may hand back a backend already tried when nothing else is left
      if (std::find(tried.begin(), tried.end(), b) != tried.end()) {
        b = nullptr;
        break;
      }
      tried.push_back(b);
      skipped_h2 = true;
      b = group.pick(now, key, std::span<Backend* const>(tried.data(), tried.size()));
    }
    if (!b) break;
    tried.push_back(b);
    ++b->active;
    ++b->counters.requests;
    b->circuit.on_dispatch(now);
    auto socket = std::make_unique<tcp::socket>(core_.io);
    std::unique_ptr<tls::ClientTlsStream> stream;
    // Kept for the handshake: a reload may replace the backend's TLS context meanwhile.
    const std::shared_ptr<const tls::ClientTls> tls_context = b->tls;
    std::string error;
    {
      Deadline connect_deadline(core_, *socket);
      connect_deadline.expires_after(s.connect_timeout);
      co_await socket->async_connect(b->endpoint, redirect_error(use_awaitable, ec));
      if (ec) {
        error = "connect: " + (timed_out(connect_deadline, ec) ? std::string("timed out") : ec.message());
      } else if (tls_context) {
        stream = tls_context->stream(*socket);
        co_await stream->async_handshake(tls::ClientTlsStream::client, redirect_error(use_awaitable, ec));
        if (ec)
          error = timed_out(connect_deadline, ec) ? "tls handshake timed out"
                                                  : tls::ClientTls::handshake_error(*stream, ec);
      }
    }
    if (error.empty()) {
      for (const auto& m : group.members())
        if (m.get() == b) up.backend = m;
      up.tls = std::move(stream);
      up.socket = std::move(socket);
      break;
    }
    --b->active;
    ++b->counters.connect_failures;
    region.on_failure(*b, util::coarse_now(), error);
  }
  if (!up.backend && skipped_h2 && std::none_of(tried.begin(), tried.end(), [](const Backend* t) { return !t->h2; })) {
    ++rejects_[bad_gateway];
    res = error_response(502, "WebSocket toward an HTTP/2 backend is not supported", version, request_id);
    co_return false;
  }
  if (!up.backend) {
    ++rejects_[tried.empty() ? no_backend : bad_gateway];
    res = tried.empty() ? error_response(503, "no backend available", version, request_id)
                        : error_response(502, "bad gateway", version, request_id);
    if (tried.empty()) res.set(http::field::retry_after, "1");
    co_return false;
  }
  co_return true;
}

awaitable<bool> HttpListener::upgrade_backend(const L7Config& cfg, Request& req, std::string_view upgrade,
                                              std::string_view ws_key, unsigned version, std::string_view request_id,
                                              const std::string& client_ip, const std::string& client_bytes,
                                              Response& res, UpgradedBackend& up) {
  const L7Settings& s = cfg.s;
  Region& region = *cfg.region;
  if (reject_overloaded(s, version, request_id, res)) co_return false;
  const RouteChoice route = cfg.routes->choose(req.base(), client_bytes);
  if (!route.group) {
    ++rejects_[no_route];
    res = error_response(404, "no route", version, request_id);
    co_return false;
  }
  // the handshake is a request in flight (max_pending) until the backend answered it
  ScopedCount pending(pending_);

  // The request as the backend gets it: forwarding headers as for any request, and the
  // Upgrade (hop-by-hop, so removed with the others) put back.
  const uint64_t key = hash_key(cfg, req, client_bytes);
  const std::string upgrade_value(upgrade);  // may point into req, which the rewrite changes
  rewrite_request_for_backend(req, request_id, client_ip, s.forwarded_proto);
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::upgrade, upgrade_value);
  if (!ws_key.empty()) req.set(http::field::sec_websocket_key, beast::string_view(ws_key.data(), ws_key.size()));
  std::string wire;
  serialize(wire, req);
  if (!co_await connect_upgrade(cfg, *route.group, key, version, request_id, res, up)) co_return false;
  Backend& backend = *up.backend;
  boost::system::error_code ec;
  up.socket->set_option(tcp::no_delay(true), ec);

  // Send the upgrade and read the answer's header; a 101 has no body, any other answer is
  // read whole and goes to the client as usual.
  http::response_parser<http::string_body, PoolAllocator<char>> parser;
  parser.header_limit(65536);
  parser.body_limit(s.max_response_bytes);
  {
    Deadline upstream_deadline(core_, *up.socket);
    upstream_deadline.expires_after(s.backend_timeout);
    const auto exchange = [&](auto& stream) -> awaitable<void> {
      co_await asio::async_write(stream, asio::buffer(wire), redirect_error(use_awaitable, ec));
      if (!ec) co_await http::async_read_header(stream, up.early, parser, redirect_error(use_awaitable, ec));
      if (!ec && parser.get().result() != http::status::switching_protocols && !parser.is_done())
        co_await http::async_read(stream, up.early, parser, redirect_error(use_awaitable, ec));
    };
    if (up.tls) co_await exchange(*up.tls);
    else co_await exchange(*up.socket);
    if (ec) {
      const bool timeout = timed_out(upstream_deadline, ec);
      ++(timeout ? backend.counters.timeouts : backend.counters.connect_failures);
      region.on_failure(backend, util::coarse_now(), timeout ? std::string("timeout") : "upgrade: " + ec.message());
      ++rejects_[timeout ? gateway_timeout : bad_gateway];
      res = timeout ? error_response(504, "gateway timeout", version, request_id)
                    : error_response(502, "bad gateway", version, request_id);
      co_return false;
    }
  }
  res = parser.release();
  const unsigned code = res.result_int();
  if (code >= 500) region.on_failure(backend, util::coarse_now(), "status " + std::to_string(code));
  else region.on_success(backend, util::coarse_now());
  co_return code == 101;
}

template <class Stream>
awaitable<void> HttpListener::relay_upgraded(Stream& client, Deadline& deadline, UpgradedBackend& up,
                                             const L7Settings& s, const std::string& client_ip) {
  ++websocket_.total;
  ScopedCount open(websocket_.active);
  util::log(util::LogLevel::debug, "forward_websocket_open",
            {{"listener", id_.listen}, {"client", client_ip}, {"backend", up.backend->address}});
  (void)deadline;  // a TLS client's only
  boost::system::error_code ec;
  l4::RelayEnd end = l4::RelayEnd::closed;
  if constexpr (std::is_same_v<Stream, tcp::socket>) {
    if (!up.tls) {
      // Clear text both ways: both sockets go to the listener's epoll relay, as an L4 connection's do.
      if (!relay_) relay_ = std::make_shared<l4::Relay>(core_.io);
      boost::system::error_code released;
      auto pair = std::make_shared<l4::RelayedPair>(client.release(released), up.socket->release(released), 16384,
                                                    websocket_.bytes_in, websocket_.bytes_out);
      Tracked closer(core_, [pair](bool) { pair->close(); });  // as run_relay's
      if (core_.draining) pair->close();
      else end = co_await l4::relay_until_closed(core_.io, *relay_, pair, s.websocket_idle_timeout);
    } else {
      StreamRelay<tcp::socket, tls::ClientTlsStream> relay(client, *up.tls, websocket_.bytes_in, websocket_.bytes_out);
      end = co_await run_relay(relay, s);
      if (relay.ended_by_upstream() && client.is_open()) client.shutdown(tcp::socket::shutdown_send, ec);
      if (relay.ended_by_client()) co_await close_notify(*up.tls);
    }
  } else {
    // a TLS client: through the ssl::stream (tls_relay.hpp says why not the epoll relay)
    const auto finish = [&](auto& relay) -> awaitable<void> {
      if (relay.ended_by_upstream() && client.next_layer().is_open()) {
        deadline.expires_after(std::chrono::seconds(1));  // close_notify, waiting briefly for the client's
        co_await client.async_shutdown(redirect_error(use_awaitable, ec));
        deadline.expires_never();
      }
    };
    if (up.tls) {
      StreamRelay<TlsStream, tls::ClientTlsStream> relay(client, *up.tls, websocket_.bytes_in, websocket_.bytes_out);
      end = co_await run_relay(relay, s);
      co_await finish(relay);
      if (relay.ended_by_client()) co_await close_notify(*up.tls);
    } else {
      TlsRelay relay(client, *up.socket, websocket_.bytes_in, websocket_.bytes_out);
      end = co_await run_relay(relay, s);
      co_await finish(relay);
    }
  }
  if (end == l4::RelayEnd::idle_timeout) ++websocket_.idle_timeouts;
  util::log(util::LogLevel::debug, "forward_websocket_closed",
            {{"listener", id_.listen}, {"client", client_ip}, {"backend", up.backend->address},
             {"reason", end == l4::RelayEnd::idle_timeout ? "idle timeout" : "closed"}});
}

awaitable<void> HttpListener::close_notify(tls::ClientTlsStream& backend) {
  tcp::socket& socket = backend.next_layer();
  if (!socket.is_open()) co_return;
  Deadline d(core_, socket);
  d.expires_after(std::chrono::seconds(1));  // waiting briefly for the backend's
  boost::system::error_code ec;
  co_await backend.async_shutdown(redirect_error(use_awaitable, ec));
}

template <class Stream>
awaitable<HttpListener::UpgradeEnd> HttpListener::websocket(Stream& client, Deadline& deadline, const L7Config& cfg,
                                                            Request& req, Response& res,
                                                            beast::flat_buffer& client_buffer,
                                                            std::string_view request_id, const std::string& client_ip,
                                                            const std::string& client_bytes) {
  const L7Settings& s = cfg.s;
  const unsigned version = req.version();
  if (const std::string_view why = check_websocket_request(req); !why.empty()) {
    ++rejects_[bad_request];
    util::log(util::LogLevel::debug, "forward_bad_request", {{"client", client_ip}, {"reason", std::string(why)}});
    res = error_response(400, "bad request: " + std::string(why), version, request_id);
    co_return UpgradeEnd::refused;
  }
  UpgradedBackend up;
  if (!co_await upgrade_backend(cfg, req, sv(req[http::field::upgrade]), {}, version, request_id, client_ip,
                                client_bytes, res, up))
    co_return UpgradeEnd::answered;

  // 101: to the client with its Upgrade and Connection (hop-by-hop, put back), and whatever
  // the backend sent after it; the client's bytes after its request go to the backend.
  const std::string accepted(sv(res[http::field::upgrade]));
  rewrite_response_for_client(res, request_id, 11, true, false);
  res.set(http::field::connection, "Upgrade");
  if (!accepted.empty()) res.set(http::field::upgrade, accepted);
  ++responses_[1];
  std::string out;
  serialize(out, res);
  const auto early = up.early.data();
  out.append(static_cast<const char*>(early.data()), early.size());
  websocket_.bytes_out += early.size();
  up.early.consume(up.early.size());
  boost::system::error_code ec;
  deadline.expires_after(s.request_timeout);
  co_await asio::async_write(client, asio::buffer(out), redirect_error(use_awaitable, ec));
  deadline.expires_never();
  if (ec) co_return UpgradeEnd::relayed;  // the client is gone: so is the upgrade
  if (client_buffer.size() > 0) {
    websocket_.bytes_in += client_buffer.size();
    Deadline upstream_deadline(core_, *up.socket);
    upstream_deadline.expires_after(s.request_timeout);
    if (up.tls) co_await asio::async_write(*up.tls, client_buffer.data(), redirect_error(use_awaitable, ec));
    else co_await asio::async_write(*up.socket, client_buffer.data(), redirect_error(use_awaitable, ec));
    client_buffer.consume(client_buffer.size());
    if (ec) co_return UpgradeEnd::relayed;
  }
  co_await relay_upgraded(client, deadline, up, s, client_ip);
  co_return UpgradeEnd::relayed;
}

template awaitable<HttpListener::UpgradeEnd> HttpListener::websocket<tcp::socket>(
    tcp::socket&, Deadline&, const L7Config&, Request&, Response&, beast::flat_buffer&, std::string_view,
    const std::string&, const std::string&);
template awaitable<HttpListener::UpgradeEnd> HttpListener::websocket<TlsStream>(
    TlsStream&, Deadline&, const L7Config&, Request&, Response&, beast::flat_buffer&, std::string_view,
    const std::string&, const std::string&);

void HttpListener::websocket_metrics(MetricSink& m, const std::string& l) const {
  m.add("meridian_forward_websocket_active", "gauge", "Upgraded (WebSocket) connections being relayed.", l,
        double(websocket_.active));
  m.add("meridian_forward_websocket_total", "counter", "Connections upgraded to WebSocket (the backend answered 101).",
        l, double(websocket_.total));
  m.add("meridian_forward_websocket_idle_timeouts_total", "counter",
        "WebSocket relays closed by websocket.idle_timeout.", l, double(websocket_.idle_timeouts));
  m.add("meridian_forward_websocket_bytes_total", "counter", "Bytes relayed over WebSocket connections, by direction.",
        l + ",direction=\"in\"", double(websocket_.bytes_in));
  m.add("meridian_forward_websocket_bytes_total", "counter", "Bytes relayed over WebSocket connections, by direction.",
        l + ",direction=\"out\"", double(websocket_.bytes_out));
}

nlohmann::json HttpListener::websocket_status() const {
  return {{"active", websocket_.active}, {"total", websocket_.total}, {"idle_timeouts", websocket_.idle_timeouts}};
}

}  // namespace meridian::forward::l7
