#include "forward/l7/http_listener.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "forward/l7/framing.hpp"
#include "forward/resilience/backoff.hpp"
#include "util/log.hpp"

namespace meridian::forward::l7 {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

std::string lower(std::string_view v) {
  std::string o(v);
  for (auto& c : o) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return o;
}

bool host_matches(const std::string& pattern, const std::string& host) {
  if (pattern.empty()) return true;
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    const std::string_view suffix(pattern.data() + 1, pattern.size() - 1);
    return host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return pattern == host;
}

// Removes hop-by-hop headers (and those the Connection header names).
template <class Fields>
void strip_hop_by_hop(Fields& f) {
  std::vector<std::string> named;
  for (auto it = f.find(http::field::connection); it != f.end() && it->name() == http::field::connection; ++it) {
    const std::string_view v(it->value().data(), it->value().size());
    std::size_t start = 0;
    while (start <= v.size()) {
      std::size_t end = v.find(',', start);
      if (end == std::string_view::npos) end = v.size();
      std::string_view tok = v.substr(start, end - start);
      while (!tok.empty() && (tok.front() == ' ' || tok.front() == '\t')) tok.remove_prefix(1);
      while (!tok.empty() && (tok.back() == ' ' || tok.back() == '\t')) tok.remove_suffix(1);
      if (!tok.empty()) named.emplace_back(tok);
      start = end + 1;
    }
  }
  for (const auto& n : named) {
    const std::string l = lower(n);
    if (l != "close" && l != "keep-alive") f.erase(n);
  }
  for (const auto field : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                           http::field::te, http::field::trailer, http::field::transfer_encoding,
                           http::field::upgrade})
    f.erase(field);
}

const char* hex = "0123456789abcdef";

bool would_block(const boost::system::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// Writes what the socket takes right now (it is in non-blocking mode): a message that fits
// in the send buffer goes out with no async operation, no timer and no coroutine frame.
// Returns the bytes written; on a short write, ec says why (would_block: wait, then
// write the rest asynchronously).
std::size_t write_now(tcp::socket& s, std::string_view bytes, boost::system::error_code& ec) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    const std::size_t n = s.write_some(asio::buffer(bytes.data() + done, bytes.size() - done), ec);
    if (ec) break;
    done += n;
  }
  return done;
}

// The rest of a write that write_now could not finish, bounded by the stream's expiry.
awaitable<boost::system::error_code> write_rest(beast::tcp_stream& s, std::string_view rest) {
  boost::system::error_code ec;
  co_await asio::async_write(s, asio::buffer(rest.data(), rest.size()), redirect_error(use_awaitable, ec));
  co_return ec;
}

}  // namespace

std::shared_ptr<L7Config> L7Config::build(const L7Settings& s, std::shared_ptr<Region> region) {
  auto c = std::make_shared<L7Config>();
  c->s = s;
  c->region = std::move(region);
  std::vector<std::string> names;
  for (const auto& b : c->region->backends)
    if (std::find(names.begin(), names.end(), b->group) == names.end()) names.push_back(b->group);
  for (const auto& n : names) {
    std::vector<std::shared_ptr<Backend>> members;
    for (const auto& b : c->region->backends)
      if (b->group == n) members.push_back(b);
    c->groups.push_back(std::make_unique<Group>(n, std::move(members), s.balance));
    if (n == "default") c->fallback = c->groups.back().get();
  }
  for (const auto& r : s.routes)
    for (const auto& g : c->groups)
      if (g->name() == r.group) c->routes.emplace_back(r, g.get());
  return c;
}

Group* L7Config::route(std::string_view host_header, std::string_view target) const {
  if (routes.empty()) return fallback;
  std::string host = lower(host_header);
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close != std::string::npos) host = host.substr(0, close + 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  const std::string_view path = target.substr(0, target.find('?'));
  for (const auto& [r, g] : routes) {
    if (!host_matches(r.host, host)) continue;
    if (!r.path_prefix.empty() && path.substr(0, r.path_prefix.size()) != r.path_prefix) continue;
    return g;
  }
  return fallback;
}

HttpListener::HttpListener(TierCore& core, ListenerIdentity id, tcp::acceptor acceptor, std::shared_ptr<L7Config> cfg)
    : Listener(core, std::move(id), std::move(acceptor)),
      cfg_(std::move(cfg)),
      budget_(cfg_->s.retry.budget_ratio, cfg_->s.retry.budget_window, cfg_->s.retry.budget_min_retries) {
  update(cfg_);
}

void HttpListener::update(std::shared_ptr<L7Config> cfg) {
  const RetrySettings& old = cfg_->s.retry;
  const RetrySettings& now = cfg->s.retry;
  if (old.budget_ratio != now.budget_ratio || old.budget_window != now.budget_window ||
      old.budget_min_retries != now.budget_min_retries)
    budget_ = RetryBudget(now.budget_ratio, now.budget_window, now.budget_min_retries);
  const RateLimitSettings& rl = cfg->s.rate_limit;
  if (!rl.enabled) {
    limiter_.reset();
  } else if (!limiter_ || rl.rate != limiter_settings_.rate || rl.burst != limiter_settings_.burst ||
             rl.max_clients != limiter_settings_.max_clients) {
    limiter_ = std::make_unique<RateLimiter>(rl.rate, rl.burst, rl.max_clients);
  }
  limiter_settings_ = rl;
  cfg_ = std::move(cfg);
}

std::string HttpListener::new_request_id() {
  std::string id(32, '0');
  uint64_t a = core_.random(), b = core_.random();
  for (int i = 0; i < 16; ++i) {
    id[static_cast<std::size_t>(i)] = hex[(a >> (i * 4)) & 15];
    id[static_cast<std::size_t>(16 + i)] = hex[(b >> (i * 4)) & 15];
  }
  return id;
}

Response HttpListener::error_response(unsigned status, const std::string& text, unsigned version,
                                      const std::string& request_id) {
  Response res{static_cast<http::status>(status), version == 10 ? 10u : 11u};
  res.set(http::field::server, "meridian");
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  if (!request_id.empty()) res.set("X-Request-ID", request_id);
  res.body() = std::to_string(status) + " " + text + "\n";
  res.prepare_payload();
  return res;
}

uint64_t HttpListener::hash_key(const L7Config& cfg, const Request& req, const std::string& client_bytes) const {
  const HashKey& k = cfg.s.balance.key;
  if (k.kind == HashKey::Kind::header) {
    const auto it = req.find(k.name);
    if (it != req.end()) return hash_bytes(std::string_view(it->value().data(), it->value().size()), 1);
  } else if (k.kind == HashKey::Kind::cookie) {
    for (auto it = req.find(http::field::cookie); it != req.end() && it->name() == http::field::cookie; ++it) {
      std::string_view v(it->value().data(), it->value().size());
      while (!v.empty()) {
        std::size_t end = v.find(';');
        std::string_view pair = v.substr(0, end);
        v = end == std::string_view::npos ? std::string_view() : v.substr(end + 1);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        const std::size_t eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == k.name) return hash_bytes(pair.substr(eq + 1), 2);
      }
    }
  }
  return hash_bytes(client_bytes);
}

awaitable<void> HttpListener::session(tcp::socket socket) {
  auto self = std::static_pointer_cast<HttpListener>(shared_from_this());
  ++connections_total_;
  ++connections_active_;
  struct Count {
    uint64_t& n;
    ~Count() { --n; }
  } count{connections_active_};

  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  socket.non_blocking(true, ec);  // for write_now's direct attempt
  const tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) co_return;
  auto addr = peer.address();
  if (addr.is_v6() && addr.to_v6().is_v4_mapped()) addr = asio::ip::make_address_v4(asio::ip::v4_mapped, addr.to_v6());
  const std::string client_ip = addr.to_string();
  std::string client_bytes;
  if (addr.is_v4()) {
    const auto b = addr.to_v4().to_bytes();
    client_bytes.assign(reinterpret_cast<const char*>(b.data()), b.size());
  } else {
    const auto b = addr.to_v6().to_bytes();
    client_bytes.assign(reinterpret_cast<const char*>(b.data()), b.size());
  }

  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  bool idle = true, closing = false;
  Tracked tracked(core_, [&](bool force) {
    if (force || idle) {
      boost::system::error_code e;
      stream.socket().close(e);
    } else {
      closing = true;
    }
  });

  std::string out;  // the response bytes, buffer reused for every response of the connection
  std::string wire;  // the request as it goes to backends, likewise
  beast::flat_buffer rbuf;  // backend responses are read into it, likewise
  // Serialises res and writes what the socket takes now; true when all of it went out,
  // else wec says why (would_block: finish_send() writes the rest).
  boost::system::error_code wec;
  auto send_now = [&](Response& res) {
    ++responses_[std::min<std::size_t>(5, res.result_int() / 100)];
    out.clear();
    serialize(out, res);
    wec = {};
    const std::size_t done = write_now(stream.socket(), out, wec);
    out.erase(0, done);
    return out.empty();
  };
  auto finish_send = [&]() -> awaitable<bool> {
    if (!would_block(wec)) co_return false;
    stream.expires_after(cfg_->s.request_timeout);
    wec = co_await write_rest(stream, out);
    co_return !wec;
  };
  auto send = [&](Response& res) -> awaitable<bool> {
    if (send_now(res)) co_return true;
    co_return co_await finish_send();
  };

  bool first = true;
  try {
    for (;;) {
      // wait for the first byte of the next request
      idle = true;
      if (closing || core_.draining) break;
      if (buffer.size() == 0) {
        stream.expires_after(first ? cfg_->s.header_timeout : cfg_->s.keepalive_timeout);
        const std::size_t n =
            co_await stream.async_read_some(buffer.prepare(4096), redirect_error(use_awaitable, ec));
        buffer.commit(n);
        if (ec) break;  // closed, or idle too long: nothing to answer
      }
      idle = false;
      first = false;
      // the configuration in force when the request arrives (a reload may have come meanwhile)
      std::shared_ptr<L7Config> cfg = cfg_;
      const L7Settings& s = cfg->s;
      const auto started = std::chrono::steady_clock::now();

      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(s.max_header_bytes));
      parser.body_limit(s.max_body_bytes);
      stream.expires_after(s.header_timeout);
      // The whole header is usually in the buffer already: parse it here, and read (with
      // the header timeout) only when it is not complete yet.
      buffer.consume(parser.put(buffer.data(), ec));
      if (ec == http::error::need_more) {
        ec = {};
        co_await http::async_read_header(stream, buffer, parser, redirect_error(use_awaitable, ec));
      }
      if (ec) {
        if (ec == beast::error::timeout) {
          ++rejects_[header_timeout];
          // the socket is closed by the timeout: nothing more can be sent
          break;
        }
        if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset)
          break;
        const bool too_big = ec == http::error::header_limit;
        const bool body_big = ec == http::error::body_limit;  // Content-Length over the limit
        ++rejects_[too_big ? header_too_large : body_big ? body_too_large : bad_request];
        Response res = error_response(too_big ? 431 : body_big ? 413 : 400,
                                      too_big ? "header too large" : body_big ? "body too large" : "bad request", 11, "");
        res.keep_alive(false);
        co_await send(res);
        break;
      }
      ++requests_;
      Request& head = parser.get();
      const unsigned version = head.version();
      std::string request_id;
      if (const auto it = head.find("X-Request-ID"); it != head.end() && !it->value().empty() &&
                                                      it->value().size() <= 200)
        request_id = std::string(it->value());
      else
        request_id = new_request_id();

      if (const std::string why = check_request_framing(head.base()); !why.empty()) {
        ++rejects_[bad_request];
        util::log(util::LogLevel::debug, "forward_bad_request", {{"client", client_ip}, {"reason", why}});
        Response res = error_response(400, "bad request: " + why, version, request_id);
        res.keep_alive(false);
        co_await send(res);
        break;
      }
      const bool has_body = parser.content_length().value_or(0) > 0 || parser.chunked();
      if (limiter_) {
        unsigned retry_after = 1;
        if (!limiter_->allow(client_bytes, std::chrono::steady_clock::now(), retry_after)) {
          ++rejects_[rate_limited];
          Response res = error_response(429, "too many requests", version, request_id);
          res.set(http::field::retry_after, std::to_string(retry_after));
          const bool keep = head.keep_alive() && !has_body;  // an unread body cannot stay on the connection
          res.keep_alive(keep);
          if (!co_await send(res) || !keep) break;
          continue;
        }
      }
      if (head[http::field::expect].size() > 0) {
        if (!beast::iequals(head[http::field::expect], "100-continue")) {
          ++rejects_[bad_request];
          Response res = error_response(417, "expectation failed", version, request_id);
          res.keep_alive(false);
          co_await send(res);
          break;
        }
        head.erase(http::field::expect);
        if (!parser.is_done()) {
          static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
          co_await asio::async_write(stream, asio::buffer(cont, sizeof cont - 1), redirect_error(use_awaitable, ec));
          if (ec) break;
        }
      }
      if (!parser.is_done()) {
        stream.expires_at(started + s.request_timeout);
        co_await http::async_read(stream, buffer, parser, redirect_error(use_awaitable, ec));
        if (ec) {
          if (ec == beast::error::timeout) {
            ++rejects_[request_timeout];
            break;
          }
          const bool too_big = ec == http::error::body_limit;
          ++rejects_[too_big ? body_too_large : bad_request];
          Response res = error_response(too_big ? 413 : 400, too_big ? "body too large" : "bad request", version,
                                        request_id);
          res.keep_alive(false);
          co_await send(res);
          break;
        }
      }
      stream.expires_never();
      Request req = parser.release();
      const bool keep = req.keep_alive() && !closing && !core_.draining;
      req.set("X-Request-ID", request_id);

      Response res;
      if (pending_ >= s.max_pending) {
        ++rejects_[overloaded];
        res = error_response(503, "overloaded", version, request_id);
        res.set(http::field::retry_after, "1");
      } else {
        ++pending_;
        struct Dec {
          uint32_t& n;
          ~Dec() { --n; }
        } dec{pending_};
        res = co_await forward(cfg, req, client_ip, client_bytes, wire, rbuf);
      }
      res.version(version == 10 ? 10 : 11);
      if (res.find("X-Request-ID") == res.end()) res.set("X-Request-ID", request_id);
      res.keep_alive(keep && !closing);
      if (!send_now(res) && !co_await finish_send()) break;  // the usual case needs no coroutine
      if (!res.keep_alive()) break;
    }
  } catch (const std::exception& e) {
    util::log(util::LogLevel::warn, "forward_session_error", {{"listener", id_.listen}, {"error", e.what()}});
  }
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.socket().close(ec);
}

awaitable<Response> HttpListener::forward(std::shared_ptr<L7Config> cfg, Request& req, const std::string& client_ip,
                                          const std::string& client_bytes, std::string& wire,
                                          beast::flat_buffer& rbuf) {
  const L7Settings& s = cfg->s;
  const std::string request_id(req["X-Request-ID"]);
  const unsigned version = req.version();
  const auto host = req[http::field::host];
  const auto target = req.target();
  Group* group = cfg->route(std::string_view(host.data(), host.size()), std::string_view(target.data(), target.size()));
  if (!group) {
    ++rejects_[no_route];
    co_return error_response(404, "no route", version, request_id);
  }

  // what the backend sees
  strip_hop_by_hop(req);
  {
    std::string xff;
    for (auto it = req.find("X-Forwarded-For"); it != req.end() &&
                                                           beast::iequals(it->name_string(), "X-Forwarded-For");
         ++it) {
      if (!xff.empty()) xff += ", ";
      xff += std::string_view(it->value().data(), it->value().size());
    }
    xff += xff.empty() ? client_ip : ", " + client_ip;
    req.set("X-Forwarded-For", xff);
  }
  req.set("X-Real-IP", client_ip);
  req.set("X-Forwarded-Proto", s.forwarded_proto);
  req.version(11);
  req.prepare_payload();
  const bool head = req.method() == http::verb::head;
  const bool idempotent = is_idempotent(req.base());
  const uint64_t key = hash_key(*cfg, req, client_bytes);
  wire.clear();
  serialize(wire, req);  // once: every attempt sends the same bytes

  budget_.on_request(std::chrono::steady_clock::now());
  boost::container::small_vector<Backend*, 4> tried;  // no allocation for the usual attempts
  std::optional<Response> last;
  unsigned retries = 0;
  Region& region = *cfg->region;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    Backend* b = group->pick(now, key, std::span<Backend* const>(tried.data(), tried.size()));
    if (!b) {
      if (last) co_return std::move(*last);
      ++rejects_[no_backend];
      Response res = error_response(503, "no backend available", version, request_id);
      res.set(http::field::retry_after, "1");
      co_return res;
    }
    tried.push_back(b);
    // keep the backend alive across the exchange even if a reload drops it
    std::shared_ptr<Backend> hold;
    for (const auto& m : group->members())
      if (m.get() == b) hold = m;
    Exchange x = co_await exchange(*cfg, *b, wire, head, rbuf);
    now = std::chrono::steady_clock::now();

    bool retryable = false;
    Ms delay{-1};
    switch (x.kind) {
      case Exchange::Kind::connect_failed:
        ++b->counters.connect_failures;
        region.on_failure(*b, now, "connect: " + x.error);
        retryable = true;  // nothing was sent
        last = error_response(502, "bad gateway", version, request_id);
        break;
      case Exchange::Kind::timeout:
        ++b->counters.timeouts;
        region.on_failure(*b, now, "timeout");
        retryable = idempotent;
        last = error_response(504, "gateway timeout", version, request_id);
        break;
      case Exchange::Kind::failed:
        region.on_failure(*b, now, x.error);
        retryable = idempotent;
        last = error_response(502, "bad gateway", version, request_id);
        break;
      case Exchange::Kind::response: {
        const unsigned code = x.res.result_int();
        if (code >= 500) region.on_failure(*b, now, "status " + std::to_string(code));
        else region.on_success(*b, now);
        if ((code == 502 || code == 503 || code == 504) && idempotent) {
          retryable = true;
        } else if (code == 429 && idempotent) {
          const auto ra_text = x.res[http::field::retry_after];
          // delta-seconds or an HTTP-date (a past date: now); unusable: the 429 passes
          const int64_t ra = retry_after_ms(std::string_view(ra_text.data(), ra_text.size()),
                                            std::chrono::system_clock::now());
          if (ra >= 0 && Ms(ra) <= s.retry.retry_after_cap) {
            retryable = true;
            delay = Ms(ra);
          }
        }
        last = std::move(x.res);
        break;
      }
    }
    if (!retryable || retries >= s.retry.max_retries) break;
    if (!budget_.try_retry(now)) {
      ++budget_exhausted_;
      break;
    }
    if (delay.count() < 0) delay = full_jitter(retries, s.retry.backoff_base, s.retry.backoff_cap, core_.random());
    ++retries;
    ++retries_;
    if (delay.count() > 0) {
      asio::steady_timer t(core_.io, delay);
      boost::system::error_code ec;
      co_await t.async_wait(redirect_error(use_awaitable, ec));
    }
  }
  if (last->result_int() == 502) ++rejects_[bad_gateway];
  if (last->result_int() == 504) ++rejects_[gateway_timeout];
  Response res = std::move(*last);
  strip_hop_by_hop(res);
  const unsigned code = res.result_int();
  if (!head && code != 204 && code != 304 && code >= 200) res.prepare_payload();
  co_return res;
}

awaitable<HttpListener::Exchange> HttpListener::exchange(const L7Config& cfg, Backend& b, std::string_view wire,
                                                         bool head, beast::flat_buffer& rbuf) {
  const L7Settings& s = cfg.s;
  Exchange out;
  auto now = std::chrono::steady_clock::now();
  ++b.active;
  ++b.counters.requests;
  b.circuit.on_dispatch(now);
  struct Release {
    Backend& b;
    ~Release() { --b.active; }
  } release{b};

  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<beast::tcp_stream> conn;
    if (round == 0) conn = b.take_idle(now, s.pool_idle_timeout);
    const bool reused = conn != nullptr;
    boost::system::error_code ec;
    if (reused) {
      ++pool_reuses_;
    } else {
      conn = std::make_unique<beast::tcp_stream>(core_.io);
      conn->expires_after(s.connect_timeout);
      co_await conn->async_connect(b.endpoint, redirect_error(use_awaitable, ec));
      if (ec) {
        out.kind = Exchange::Kind::connect_failed;
        out.error = ec == beast::error::timeout ? "timed out" : ec.message();
        co_return out;
      }
      conn->socket().set_option(tcp::no_delay(true), ec);
      conn->socket().non_blocking(true, ec);  // for write_now's direct attempt
      ec = {};
    }
    conn->expires_after(s.backend_timeout);  // the write and the whole response
    if (const std::size_t done = write_now(conn->socket(), wire, ec); done < wire.size() && would_block(ec))
      ec = co_await write_rest(*conn, wire.substr(done));
    if (ec) {
      if (reused && ec != beast::error::timeout) continue;  // stale keep-alive connection: try a fresh one
      out.kind = ec == beast::error::timeout ? Exchange::Kind::timeout : Exchange::Kind::failed;
      out.error = "write: " + ec.message();
      co_return out;
    }
    http::response_parser<http::string_body> p;
    p.header_limit(65536);
    p.body_limit(s.max_response_bytes);
    if (head) p.skip(true);
    beast::flat_buffer& rb = rbuf;  // the session's: its memory is kept between requests
    rb.clear();
    if (rb.capacity() > 65536) rb.shrink_to_fit();  // a large response does not pin its memory
    co_await http::async_read(*conn, rb, p, redirect_error(use_awaitable, ec));
    if (ec) {
      if (reused && !p.got_some() && ec != beast::error::timeout) continue;
      out.kind = ec == beast::error::timeout ? Exchange::Kind::timeout : Exchange::Kind::failed;
      out.error = "read: " + ec.message();
      co_return out;
    }
    out.kind = Exchange::Kind::response;
    out.res = p.release();
    if (out.res.keep_alive() && rb.size() == 0 && s.pool_size > 0)
      b.put_idle(std::move(conn), std::chrono::steady_clock::now(), s.pool_size);
    co_return out;
  }
  out.kind = Exchange::Kind::failed;
  out.error = "connection closed";
  co_return out;
}

void HttpListener::metrics(MetricSink& m) const {
  connection_metrics(m);
  const std::string l = labels();
  m.add("meridian_forward_http_requests_total", "counter", "HTTP requests read by an L7 listener.", l,
        double(requests_));
  for (int c = 1; c <= 5; ++c)
    m.add("meridian_forward_http_responses_total", "counter", "HTTP responses sent by an L7 listener, by class.",
          l + ",code=\"" + std::to_string(c) + "xx\"", double(responses_[static_cast<std::size_t>(c)]));
  static const char* names[] = {"bad_request",     "header_too_large", "body_too_large", "header_timeout",
                                "request_timeout", "rate_limited",     "overloaded",     "no_route",
                                "no_backend",      "bad_gateway",      "gateway_timeout"};
  for (int r = 0; r < reject_kinds; ++r)
    m.add("meridian_forward_http_errors_total", "counter",
          "Requests the L7 listener answered itself (or cut), by reason.", l + ",reason=\"" + names[r] + "\"",
          double(rejects_[static_cast<std::size_t>(r)]));
  m.add("meridian_forward_http_pending", "gauge", "Requests in flight to backends.", l, double(pending_));
  m.add("meridian_forward_http_retries_total", "counter", "Retries sent to a backend.", l, double(retries_));
  m.add("meridian_forward_http_retry_budget_exhausted_total", "counter",
        "Retries not sent because the retry budget was spent.", l, double(budget_exhausted_));
  m.add("meridian_forward_http_pool_reuses_total", "counter", "Requests sent on a pooled keep-alive connection.", l,
        double(pool_reuses_));
  if (limiter_)
    m.add("meridian_forward_http_rate_limit_clients", "gauge", "Client IPs with a token bucket.", l,
          double(limiter_->clients()));
}

nlohmann::json HttpListener::status() const {
  nlohmann::json j = {{"kind", "l7"},
                      {"listen", id_.listen},
                      {"bound", bound()},
                      {"service", id_.service},
                      {"region", id_.region},
                      {"balance", algorithm_name(cfg_->s.balance.algorithm)},
                      {"connections_active", connections_active_},
                      {"connections_total", connections_total_},
                      {"requests", requests_},
                      {"pending", pending_},
                      {"retries", retries_},
                      {"retry_budget_exhausted", budget_exhausted_}};
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& g : cfg_->groups) {
    nlohmann::json members = nlohmann::json::array();
    for (const auto& b : g->members()) members.push_back(b->address);
    groups[g->name()] = members;
  }
  j["groups"] = groups;
  return j;
}

}  // namespace meridian::forward::l7
