#include "forward/l7/http_listener.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/container/small_vector.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include "forward/l7/framing.hpp"
#include "forward/l7/h2/header_translation.hpp"
#include "forward/l7/h2/serve.hpp"
#include "forward/l7/websocket.hpp"
#include "forward/resilience/backoff.hpp"
#include "tls/client_tls.hpp"
#include "forward/tls/server_tls.hpp"
#include "util/coarse_clock.hpp"
#include "util/ip_address.hpp"
#include "util/log.hpp"

namespace meridian::forward::l7 {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string_view sv(beast::string_view v) { return {v.data(), v.size()}; }
beast::string_view bsv(std::string_view v) { return {v.data(), v.size()}; }

// Calls tok for each token of the message's Connection fields.
template <class Message, class Tok>
void connection_tokens(const Message& f, Tok tok) {
  for (auto it = f.find(http::field::connection); it != f.end() && it->name() == http::field::connection; ++it) {
    for_each_token(sv(it->value()), [&](std::string_view t) {
      tok(t);
      return false;
    });
  }
}

// Removes hop-by-hop headers (and those the Connection header names) in one pass over the
// fields. `visit` sees every other field and returns true to remove it as well.
template <class Message, class Visit>
void strip_hop_by_hop(Message& f, Visit visit) {
  boost::container::small_vector<std::string_view, 4> named;  // views into the Connection values
  connection_tokens(f, [&](std::string_view t) {
    if (!iequal(t, "close") && !iequal(t, "keep-alive")) named.push_back(t);
  });
  // With names to compare, Connection fields go last (the views point into them).
  const bool keep_connection = !named.empty();
  for (auto it = f.begin(); it != f.end();) {
    switch (it->name()) {
      case http::field::connection:
        if (keep_connection) {
          ++it;
          continue;
        }
        [[fallthrough]];
      case http::field::keep_alive:
      case http::field::proxy_connection:
      case http::field::te:
      case http::field::trailer:
      case http::field::transfer_encoding:
      case http::field::upgrade: it = f.erase(it); continue;
      default: break;
    }
    bool drop = false;
    if (keep_connection) {
      const std::string_view name = sv(it->name_string());
      for (const auto n : named) drop = drop || iequal(n, name);
    }
    if (drop || visit(*it)) it = f.erase(it);
    else ++it;
  }
  if (keep_connection) f.erase(http::field::connection);
}

template <class Message>
void strip_hop_by_hop(Message& f) {
  strip_hop_by_hop(f, [](const auto&) { return false; });
}

// The response as the client gets it: no hop-by-hop fields (the backend's or ours), the
// X-Request-ID (the backend's when it sent one, else the request's), Connection as this
// connection goes on (what Beast's keep_alive(bool) writes on a message without one), and
// with fix_length, framed by one Content-Length for the body (a chunked body arrived whole;
// prepare_payload only when the backend's is not already right).
void finish_response(Response& res, std::string_view request_id, unsigned version, bool keep, bool fix_length) {
  bool has_id = false;
  int lengths = 0;
  bool length_ok = false;
  char digits[24];
  const auto [end, err] = std::to_chars(digits, digits + sizeof digits, res.body().size());
  const std::string_view size(digits, err == std::errc() ? static_cast<std::size_t>(end - digits) : 0);
  strip_hop_by_hop(res, [&](const auto& f) {
    if (f.name() == http::field::content_length) {
      ++lengths;
      length_ok = sv(f.value()) == size;
    } else if (!has_id && f.name() == http::field::unknown && iequal(sv(f.name_string()), "X-Request-ID")) {
      has_id = true;
    }
    return false;
  });
  if (fix_length && !(lengths == 1 && length_ok)) res.prepare_payload();
  if (!has_id) res.insert(http::field::unknown, "X-Request-ID", bsv(request_id));
  if (version >= 11 && !keep) res.insert(http::field::connection, "close");
  else if (version < 11 && keep) res.insert(http::field::connection, "keep-alive");
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

// A TLS stream is written asynchronously only: a synchronous SSL write on a non-blocking
// socket could encrypt a record and then fail to send it.
std::size_t write_now(TlsStream&, std::string_view, boost::system::error_code& ec) {
  ec = asio::error::would_block;
  return 0;
}

// The rest of a write that write_now could not finish, bounded by the socket's deadline.
template <class Stream>
awaitable<boost::system::error_code> write_rest(Stream& s, std::string_view rest) {
  boost::system::error_code ec;
  co_await asio::async_write(s, asio::buffer(rest.data(), rest.size()), redirect_error(use_awaitable, ec));
  co_return ec;
}

// Feeds parser p from b, reading from s while it needs more, until done(p): what Beast's
// http::async_read / async_read_header do, on a plain socket (the deadline is the
// caller's). On EOF: put_eof when the parser got some (a message delimited by the close),
// else end_of_stream.
template <class Parser, class Done>
bool parse_buffered(Parser& p, beast::flat_buffer& b, Done done, boost::system::error_code& ec) {
  // true: done, or ec set (not need_more); false: read more
  while (!done(p) && b.size() > 0) {
    const std::size_t used = p.put(b.data(), ec);
    b.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return true;
    if (used == 0) return done(p);
  }
  return done(p);
}

template <class Stream, class Parser, class Done>
awaitable<void> read_message(Stream& s, beast::flat_buffer& b, Parser& p, Done done,
                             boost::system::error_code& ec) {
  ec = {};
  while (!parse_buffered(p, b, done, ec)) {
    const std::size_t size = beast::read_size(b, 65536);
    if (size == 0) {
      ec = http::error::buffer_overflow;
      co_return;
    }
    const std::size_t n = co_await s.async_read_some(b.prepare(size), redirect_error(use_awaitable, ec));
    b.commit(n);
    if (ec == asio::error::eof) {
      if (!p.got_some()) {
        ec = http::error::end_of_stream;
        co_return;
      }
      ec = {};
      p.put_eof(ec);
      co_return;
    }
    if (ec) co_return;
  }
}

constexpr auto header_done = [](const auto& p) { return p.is_header_done(); };
constexpr auto message_done = [](const auto& p) { return p.is_done(); };

// An operation cut by its deadline (the sweep cancelled it).
bool timed_out(const Deadline& d, const boost::system::error_code& ec) {
  return d.expired() && ec == asio::error::operation_aborted;
}

}  // namespace

// What the backend sees: no hop-by-hop fields; X-Forwarded-For with the client appended,
// X-Real-IP, X-Forwarded-Proto and X-Request-ID set (one pass over the fields).
std::string strip_request_for_backend(Request& req, const std::string& client_ip) {
  std::string xff;
  strip_hop_by_hop(req, [&](const auto& f) {
    if (f.name() != http::field::unknown) return false;
    const std::string_view name = sv(f.name_string());
    if (iequal(name, "X-Forwarded-For")) {
      if (!xff.empty()) xff += ", ";
      xff += sv(f.value());
      return true;
    }
    return iequal(name, "X-Real-IP") || iequal(name, "X-Forwarded-Proto") || iequal(name, "X-Request-ID");
  });
  if (!xff.empty()) xff += ", ";
  xff += client_ip;
  return xff;
}

void add_forwarding_fields(Request& req, std::string_view request_id, std::string_view xff,
                           std::string_view client_ip, std::string_view forwarded_proto) {
  req.insert(http::field::unknown, "X-Request-ID", bsv(request_id));
  req.insert(http::field::unknown, "X-Forwarded-For", bsv(xff));
  req.insert(http::field::unknown, "X-Real-IP", bsv(client_ip));
  req.insert(http::field::unknown, "X-Forwarded-Proto", bsv(forwarded_proto));
}

void rewrite_request_for_backend(Request& req, std::string_view request_id, const std::string& client_ip,
                                 const std::string& forwarded_proto) {
  const std::string xff = strip_request_for_backend(req, client_ip);
  add_forwarding_fields(req, request_id, xff, client_ip, forwarded_proto);
}

namespace {

// A field value as Beast stores it (without surrounding spaces and tabs).
std::string_view trim_ows(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// The backend's request head (and body) as a sequence of pieces, emitted to a Sink twice:
// once to count them, once to copy them into a buffer sized for them (one allocation check,
// no per-piece append).
struct CountingSink {
  std::size_t size = 0;
  void put(std::string_view s) { size += s.size(); }
};

struct CopyingSink {
  char* at;
  void put(std::string_view s) {
    if (s.empty()) return;  // an empty view's data() may be null, which memcpy must not get
    std::memcpy(at, s.data(), s.size());
    at += s.size();
  }
};

template <class Sink>
void put_field(Sink& out, std::string_view name, std::string_view value) {
  out.put(name);
  out.put(": ");
  out.put(value);
  out.put("\r\n");
}

template <class Sink>
void emit_request_for_backend(Sink& out, const Request& req, std::string_view request_id, std::string_view xff,
                              std::string_view client_ip, std::string_view forwarded_proto,
                              std::string_view content_length) {
  out.put(sv(req.method_string()));
  out.put(" ");
  out.put(sv(req.target()));
  out.put(" HTTP/1.1\r\n");
  bool host = false;
  for (const auto& f : req) {
    if (f.name() == http::field::host) host = true;
    else if (f.name() == http::field::content_length) continue;
    put_field(out, sv(f.name_string()), sv(f.value()));
  }
  put_field(out, "X-Request-ID", trim_ows(request_id));
  put_field(out, "X-Forwarded-For", trim_ows(xff));
  put_field(out, "X-Real-IP", trim_ows(client_ip));
  put_field(out, "X-Forwarded-Proto", trim_ows(forwarded_proto));
  if (!host) out.put("Host: \r\n");
  if (!content_length.empty()) put_field(out, "Content-Length", content_length);
  out.put("\r\n");
  out.put(req.body());
}

}  // namespace

void write_request_for_backend(std::string& out, const Request& req, std::string_view request_id,
                               std::string_view xff, std::string_view client_ip, std::string_view forwarded_proto) {
  // as_http11's prepare_payload: the Content-Length sent goes in any case; a new one, last,
  // for a body, or for OPTIONS, PUT and POST; a TRACE with a body is refused as there.
  const http::verb method = req.method();
  const std::size_t body = req.body().size();
  if (method == http::verb::trace && body > 0) throw std::invalid_argument("invalid request body");
  const bool set_length =
      body > 0 || method == http::verb::options || method == http::verb::put || method == http::verb::post;
  char digits[24];
  std::string_view content_length;
  if (set_length) {
    const auto [end, err] = std::to_chars(digits, digits + sizeof digits, body);
    content_length = std::string_view(digits, static_cast<std::size_t>(end - digits));
  }
  CountingSink count;
  emit_request_for_backend(count, req, request_id, xff, client_ip, forwarded_proto, content_length);
  const std::size_t start = out.size();
  out.resize(start + count.size);
  CopyingSink copy{out.data() + start};
  emit_request_for_backend(copy, req, request_id, xff, client_ip, forwarded_proto, content_length);
}

void rewrite_response_for_client(Response& res, std::string_view request_id, unsigned version, bool keep,
                                 bool fix_length) {
  finish_response(res, request_id, version, keep, fix_length);
}

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
  c->routes = std::make_unique<RouteTable>(c->s.routes, c->groups, c->fallback);
  return c;
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

void HttpListener::new_request_id(char* id) {
  uint64_t a = core_.random(), b = core_.random();
  for (int i = 0; i < 16; ++i) {
    id[i] = hex[(a >> (i * 4)) & 15];
    id[16 + i] = hex[(b >> (i * 4)) & 15];
  }
}

Response HttpListener::error_response(unsigned status, std::string_view text, unsigned version,
                                      std::string_view request_id) {
  Response res{static_cast<http::status>(status), version == 10 ? 10u : 11u};
  res.set(http::field::server, "meridian");
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  if (!request_id.empty()) res.set("X-Request-ID", bsv(request_id));
  std::string& body = res.body();
  body = std::to_string(status);
  body += ' ';
  body += text;
  body += '\n';
  res.prepare_payload();
  return res;
}


uint64_t HttpListener::hash_key(const L7Config& cfg, const Request& req, const std::string& client_bytes) const {
  const HashKey& k = cfg.s.balance.key;
  if (k.kind == HashKey::Kind::header) {
    const auto it = req.find(k.name);
    if (it != req.end()) return hash_bytes(std::string_view(it->value().data(), it->value().size()), 1);
  } else if (k.kind == HashKey::Kind::cookie) {
    if (const auto value = find_cookie(req.base(), k.name)) return hash_bytes(*value, 2);
  }
  return hash_bytes(client_bytes);
}

namespace {

// The client as the listener keys it: its address as text (for logs and forwarding
// headers) and as bytes (rate limiting and hashing); an IPv4-mapped IPv6 peer is IPv4.
struct PeerAddress {
  std::string text;
  std::string bytes;
};

PeerAddress peer_address(const asio::ip::address& peer) {
  const asio::ip::address addr = util::unmapped(peer);
  const auto ip = util::IpAddress::from_asio(addr);
  return {addr.to_string(), std::string(reinterpret_cast<const char*>(ip.bytes()), ip.size())};
}

// Writes the responses of one client connection. Its buffer is reused for every
// response; a response that fits in the socket's send buffer goes out at once,
// with no coroutine (send_now), and only the rest of a longer one waits (finish).
template <class Stream>
class ResponseWriter {
 public:
  ResponseWriter(Stream& socket, Deadline& deadline, std::array<uint64_t, 6>& by_class)
      : socket_(socket), deadline_(deadline), by_class_(by_class) {}

  // Serialises r and writes what the socket takes now; true when all of it went out,
  // else finish() writes the rest.
  bool send_now(const Response& r) {
    ++by_class_[std::min<std::size_t>(5, r.result_int() / 100)];
    out_.clear();
    serialize(out_, r);
    error_ = {};
    const std::size_t done = write_now(socket_, out_, error_);
    out_.erase(0, done);
    return out_.empty();
  }
  // The rest of what send_now could not write, within timeout; false when the
  // client is gone.
  awaitable<bool> finish(Ms timeout) {
    if (!would_block(error_)) co_return false;
    deadline_.expires_after(timeout);
    error_ = co_await write_rest(socket_, out_);
    deadline_.expires_never();
    co_return !error_;
  }
  awaitable<bool> send(const Response& r, Ms timeout) {
    if (send_now(r)) co_return true;
    co_return co_await finish(timeout);
  }

 private:
  Stream& socket_;
  Deadline& deadline_;
  std::array<uint64_t, 6>& by_class_;  // responses by status class
  std::string out_;
  boost::system::error_code error_;
};

// The buffers a request uses toward HTTP/1.1 backends (its bytes, the response read) and
// its exchange's state, for HTTP/2 streams: an HTTP/1.1 connection keeps its own from one
// request to the next, but a stream is one request, and a connection has many at once.
// Leased from a free list of the io thread's instead of allocated and grown for every
// stream. The exchange's state lives here rather than in forward()'s coroutine frame, which
// it would push past glibc's per-thread cache sizes (1,032 bytes): a malloc from the bins
// for every request.
struct BackendBuffers {
  std::string wire;
  beast::flat_buffer rbuf;
  HttpListener::Exchange exchange;

  class Lease {
   public:
    Lease() {
      auto& free = free_list();
      if (free.empty()) {
        buffers_ = std::make_unique<BackendBuffers>();
      } else {
        buffers_ = std::move(free.back());
        free.pop_back();
      }
    }
    ~Lease() {
      auto& free = free_list();
      // a large request or response does not pin its memory; the list is bounded (at most
      // kMaxFree leases of two buffers up to kMaxKept each are kept after a burst)
      if (free.size() >= kMaxFree || buffers_->wire.capacity() > kMaxKept || buffers_->rbuf.capacity() > kMaxKept)
        return;
      buffers_->wire.clear();
      buffers_->rbuf.clear();
      free.push_back(std::move(buffers_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    BackendBuffers* operator->() const { return buffers_.get(); }

   private:
    static constexpr std::size_t kMaxFree = 1024, kMaxKept = 16384;
    static std::vector<std::unique_ptr<BackendBuffers>>& free_list() {
      thread_local std::vector<std::unique_ptr<BackendBuffers>> free;
      return free;
    }
    std::unique_ptr<BackendBuffers> buffers_;
  };
};

// A request read ended early because the client closed its side or went away.
bool client_left(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::operation_aborted;
}

}  // namespace

bool HttpListener::reject_unreadable_head(const boost::system::error_code& ec, bool timed_out, Response& res) {
  if (timed_out) {
    ++rejects_[header_timeout];
    return false;  // nothing is sent: the client did not finish its request in time
  }
  if (client_left(ec)) return false;
  const bool too_big = ec == http::error::header_limit;
  const bool body_big = ec == http::error::body_limit;  // Content-Length over the limit
  ++rejects_[too_big ? header_too_large : body_big ? body_too_large : bad_request];
  res = error_response(too_big ? 431 : body_big ? 413 : 400,
                       too_big ? "header too large" : body_big ? "body too large" : "bad request", 11, "");
  res.keep_alive(false);
  return true;
}

bool HttpListener::reject_unreadable_body(const boost::system::error_code& ec, bool timed_out, unsigned version,
                                          std::string_view request_id, Response& res) {
  if (timed_out) {
    ++rejects_[request_timeout];
    return false;
  }
  const bool too_big = ec == http::error::body_limit;
  ++rejects_[too_big ? body_too_large : bad_request];
  res = error_response(too_big ? 413 : 400, too_big ? "body too large" : "bad request", version, request_id);
  res.keep_alive(false);
  return true;
}

std::string_view HttpListener::take_request_id(const Request& head, RequestIdBuffer& id) {
  if (const auto it = head.find("X-Request-ID"); it != head.end() && !it->value().empty() &&
                                                  it->value().size() <= id.bytes.size()) {
    id.length = it->value().size();
    std::memcpy(id.bytes.data(), it->value().data(), id.length);
  } else {
    new_request_id(id.bytes.data());
    id.length = 32;
  }
  return {id.bytes.data(), id.length};
}

HttpListener::Admission HttpListener::admit(Request& head, bool has_body, bool body_unread, unsigned version,
                                            std::string_view request_id, const std::string& client_ip,
                                            const std::string& client_bytes, Response& res) {
  if (const std::string why = check_request_framing(head.base()); !why.empty()) {
    ++rejects_[bad_request];
    util::log(util::LogLevel::debug, "forward_bad_request", {{"client", client_ip}, {"reason", why}});
    res = error_response(400, "bad request: " + why, version, request_id);
    res.keep_alive(false);
    return Admission::answer_and_close;
  }
  if (limiter_) {
    unsigned retry_after = 1;
    if (!limiter_->allow(client_bytes, util::coarse_now(), retry_after)) {
      ++rejects_[rate_limited];
      res = error_response(429, "too many requests", version, request_id);
      res.set(http::field::retry_after, std::to_string(retry_after));
      const bool keep = head.keep_alive() && !has_body;  // an unread body cannot stay on the connection
      res.keep_alive(keep);
      return keep ? Admission::answer_and_keep : Admission::answer_and_close;
    }
  }
  if (head[http::field::expect].size() > 0) {
    if (!beast::iequals(head[http::field::expect], "100-continue")) {
      ++rejects_[bad_request];
      res = error_response(417, "expectation failed", version, request_id);
      res.keep_alive(false);
      return Admission::answer_and_close;
    }
    head.erase(http::field::expect);
    if (body_unread) return Admission::forward_after_continue;
  }
  return Admission::forward;
}

bool HttpListener::reject_overloaded(const L7Settings& s, unsigned version, std::string_view request_id,
                                     Response& res) {
  if (pending_ < s.max_pending) return false;
  ++rejects_[overloaded];
  res = error_response(503, "overloaded", version, request_id);
  res.set(http::field::retry_after, "1");
  return true;
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
  const PeerAddress client = peer_address(peer.address());

  Deadline deadline(core_, socket);  // handshake, header, keep-alive, body and write timeouts
  Connection conn;
  Tracked tracked(core_, [&](bool force) {
    if (force || conn.idle) {
      boost::system::error_code e;
      socket.close(e);
    } else {
      conn.closing = true;
    }
  });

  try {
    // The TLS contexts of the configuration in force at accept: a reload (a renewed
    // certificate) changes them for later handshakes, not for this connection's.
    const std::shared_ptr<const ServerTls> tls =
        cfg_->s.tls ? cfg_->s.tls->loaded : std::shared_ptr<const ServerTls>();
    if (!tls) {
      co_await serve(socket, deadline, conn, client.text, client.bytes);
    } else {
      TlsStream stream(socket, tls->context());
      deadline.expires_after(cfg_->s.header_timeout);
      co_await stream.async_handshake(TlsStream::server, redirect_error(use_awaitable, ec));
      if (ec) {
        ++tls_handshake_failures_;
        util::log(util::LogLevel::debug, "forward_tls_handshake_failed",
                  {{"listener", id_.listen}, {"client", client.text},
                   {"error", timed_out(deadline, ec) ? std::string("timed out") : ec.message()}});
      } else {
        ++tls_handshakes_;
        if (SSL_session_reused(stream.native_handle())) ++tls_resumed_;
        const unsigned char* alpn = nullptr;
        unsigned alpn_length = 0;
        SSL_get0_alpn_selected(stream.native_handle(), &alpn, &alpn_length);
        if (alpn_length == 2 && alpn[0] == 'h' && alpn[1] == '2') {
          // Asio asks OpenSSL to free a connection's record buffers whenever they empty (16 KB
          // each way, allocated again at the next record); an HTTP/2 connection carries many
          // streams at once and is rarely empty for long, so it keeps them.
          SSL_clear_mode(stream.native_handle(), SSL_MODE_RELEASE_BUFFERS);
          co_await serve_h2(stream, deadline, conn, {}, client.text, client.bytes);
        } else
          co_await serve(stream, deadline, conn, client.text, client.bytes);
        if (conn.clean_end && socket.is_open()) {
          // close_notify, waiting briefly for the client's
          deadline.expires_after(std::chrono::seconds(1));
          co_await stream.async_shutdown(redirect_error(use_awaitable, ec));
        }
      }
    }
  } catch (const std::exception& e) {
    util::log(util::LogLevel::warn, "forward_session_error", {{"listener", id_.listen}, {"error", e.what()}});
  }
  socket.shutdown(tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

template <class Stream>
awaitable<void> HttpListener::serve(Stream& socket, Deadline& deadline, Connection& conn,
                                    const std::string& client_text, const std::string& client_bytes) {
  boost::system::error_code ec;
  beast::flat_buffer buffer;
  bool& idle = conn.idle;
  bool& closing = conn.closing;
  ResponseWriter<Stream> writer(socket, deadline, responses_);
  std::string wire;  // the request as it goes to backends, reused for every request of the connection
  beast::flat_buffer rbuf;  // backend responses are read into it, likewise
  Exchange exchange;        // an attempt's outcome, likewise
  Response res;  // likewise (its fields' memory comes from the pool)
  // The request id, kept here (a request's own fields may drop it: Connection can name it).
  RequestIdBuffer rid;

  bool first = true;
  for (;;) {
    // wait for the first byte of the next request
    idle = true;
    if (closing || core_.draining) break;
    if (buffer.size() == 0) {
      if (!first) co_await asio::post(core_.io, use_awaitable);  // likewise (see exchange)
      deadline.expires_after(first ? cfg_->s.header_timeout : cfg_->s.keepalive_timeout);
      const std::size_t n = co_await socket.async_read_some(buffer.prepare(4096), redirect_error(use_awaitable, ec));
      buffer.commit(n);
      if (ec) {
        conn.clean_end = ec == asio::error::eof || timed_out(deadline, ec);
        break;  // closed, or idle too long: nothing to answer
      }
    }
    if (first) {  // h2c with prior knowledge: the connection starts with the HTTP/2 preface
      auto bytes = [&] { return std::string_view(static_cast<const char*>(buffer.data().data()), buffer.size()); };
      while (!ec && h2::match_preface(bytes()) == h2::PrefaceMatch::partial) {
        const std::size_t n = co_await socket.async_read_some(buffer.prepare(4096), redirect_error(use_awaitable, ec));
        buffer.commit(n);
      }
      if (ec) break;
      if (h2::match_preface(bytes()) == h2::PrefaceMatch::yes) {
        co_await serve_h2(socket, deadline, conn, bytes(), client_text, client_bytes);
        co_return;
      }
    }
    idle = false;
    first = false;
    // the configuration in force when the request arrives (a reload may have come meanwhile)
    const std::shared_ptr<L7Config> cfg = cfg_;
    const L7Settings& s = cfg->s;
    const auto started = util::coarse_now();

    // Read the request head.
    http::request_parser<http::string_body, PoolAllocator<char>> parser;
    parser.header_limit(static_cast<std::uint32_t>(s.max_header_bytes));
    parser.body_limit(s.max_body_bytes);
    deadline.expires_at(started + s.header_timeout);
    // The whole header is usually in the buffer already: parse it here, and read (with
    // the header timeout) only when it is not complete yet.
    if (!parse_buffered(parser, buffer, header_done, ec)) co_await read_message(socket, buffer, parser, header_done, ec);
    if (ec) {
      if (reject_unreadable_head(ec, timed_out(deadline, ec), res)) co_await writer.send(res, cfg_->s.request_timeout);
      break;
    }
    ++requests_;
    auto& head = parser.get();
    const unsigned version = head.version();
    const std::string_view request_id = take_request_id(head, rid);

    // Admit it (framing, rate limit, Expect), then read its body.
    const bool has_body = parser.content_length().value_or(0) > 0 || parser.chunked();
    const Admission admission =
        admit(head, has_body, !parser.is_done(), version, request_id, client_text, client_bytes, res);
    if (admission == Admission::answer_and_keep || admission == Admission::answer_and_close) {
      if (!co_await writer.send(res, cfg_->s.request_timeout) || admission == Admission::answer_and_close) break;
      continue;
    }
    if (admission == Admission::forward_after_continue) {
      static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await asio::async_write(socket, asio::buffer(cont, sizeof cont - 1), redirect_error(use_awaitable, ec));
      if (ec) break;
    }
    if (!parser.is_done()) {
      deadline.expires_at(started + s.request_timeout);
      co_await read_message(socket, buffer, parser, message_done, ec);
      if (ec) {
        if (reject_unreadable_body(ec, timed_out(deadline, ec), version, request_id, res))
          co_await writer.send(res, cfg_->s.request_timeout);
        break;
      }
    }
    deadline.expires_never();
    Request req = parser.release();
    const bool keep = req.keep_alive() && !closing && !core_.draining;

    // Forward it to a backend (route, retries: forward()) unless too many are in flight.
    if (is_websocket_upgrade(req)) {  // websocket.cpp: a relay, or an answer as any other
      const UpgradeEnd end =
          co_await websocket(socket, deadline, *cfg, req, res, buffer, request_id, client_text, client_bytes);
      if (end == UpgradeEnd::relayed) break;
      if (end == UpgradeEnd::refused) closing = true;
    } else if (!reject_overloaded(s, version, request_id, res)) {
      ++pending_;
      struct Dec {
        uint32_t& n;
        ~Dec() { --n; }
      } dec{pending_};
      co_await forward(*cfg, req, res, request_id, client_text, client_bytes, wire, rbuf, exchange);
    }

    // Write the response and decide whether the connection goes on.
    res.version(version == 10 ? 10 : 11);
    const bool keep_now = keep && !closing;
    const unsigned code = res.result_int();
    finish_response(res, request_id, version, keep_now,
                    req.method() != http::verb::head && code != 204 && code != 304 && code >= 200);
    // the usual case needs no coroutine
    if (!writer.send_now(res) && !co_await writer.finish(cfg_->s.request_timeout)) break;
    if (!keep_now) {
      conn.clean_end = true;
      break;
    }
  }
}

template <class Stream>
awaitable<void> HttpListener::serve_h2(Stream& stream, Deadline& deadline, Connection& conn, std::string_view initial,
                                       const std::string& client_text, const std::string& client_bytes) {
  auto self = std::static_pointer_cast<HttpListener>(shared_from_this());
  const L7Settings& s = cfg_->s;
  const h2::ServerLimits limits{s.http2, s.max_header_bytes, s.max_body_bytes};
  auto c = std::make_shared<h2::ServerConnection>(
      core_.io, limits,
      [self, text = client_text, bytes = client_bytes](h2::StreamRequest& r, Response& res) {
        return self->serve_stream(r, res, text, bytes);
      },
      h2_);
  co_await h2::serve(stream, deadline, c, initial, {s.keepalive_timeout, s.request_timeout}, {conn.idle, conn.closing});
}

awaitable<void> HttpListener::serve_stream(h2::StreamRequest& r, Response& res, const std::string& client_text,
                                           const std::string& client_bytes) {
  ++requests_;
  Request& req = r.req;
  RequestIdBuffer rid;
  const std::string_view request_id = take_request_id(req, rid);
  const std::shared_ptr<L7Config> cfg = cfg_;  // the configuration in force when the stream arrived
  if (r.refuse) {
    ++rejects_[r.refuse == 431 ? header_too_large : body_too_large];
    res = error_response(r.refuse, r.refuse == 431 ? "header too large" : "body too large", 11, request_id);
  } else if (r.tunnel) {  // CONNECT (websocket_h2.cpp)
    co_await websocket_h2(*cfg, r, res, request_id, client_text, client_bytes);
    if (r.tunnel->opened) co_return;  // answered (200) and relayed
  } else {
    const Admission admission = admit(req, !req.body().empty(), false, 11, request_id, client_text, client_bytes, res);
    if ((admission == Admission::forward || admission == Admission::forward_after_continue) &&
        !reject_overloaded(cfg->s, 11, request_id, res)) {
      ++pending_;
      struct Dec {
        uint32_t& n;
        ~Dec() { --n; }
      } dec{pending_};
      const BackendBuffers::Lease buffers;
      co_await forward(*cfg, req, res, request_id, client_text, client_bytes, buffers->wire, buffers->rbuf,
                       buffers->exchange, &r);
    }
    if (r.body && r.body->too_large && !r.relay->started()) {  // a streamed body over max_body_bytes
      ++rejects_[body_too_large];
      res = error_response(413, "body too large", 11, request_id);
    }
  }
  const unsigned code = res.result_int();
  res.version(11);
  finish_response(res, request_id, 11, true,
                  req.method() != http::verb::head && code != 204 && code != 304 && code >= 200);
  ++responses_[std::min<std::size_t>(5, code / 100)];
}

awaitable<void> HttpListener::forward(const L7Config& cfg, Request& req, Response& res, std::string_view request_id,
                                      const std::string& client_ip, const std::string& client_bytes,
                                      std::string& wire, beast::flat_buffer& rbuf, Exchange& x,
                                      h2::StreamRequest* stream) {
  const L7Settings& s = cfg.s;
  const unsigned version = req.version();
  const RouteChoice route = cfg.routes->choose(req.base(), client_bytes);
  Group* group = route.group;
  if (!group) {
    ++rejects_[no_route];
    res = error_response(404, "no route", version, request_id);
    co_return;
  }

  const bool te_trailers = h2::wants_trailers(req);  // read before the hop-by-hop fields go
  const std::string xff = strip_request_for_backend(req, client_ip);
  // The forwarding fields and the HTTP/1.1 framing go into req (rewrite_request_for_backend,
  // as_http11) only where they are read from it: an HTTP/2 backend's header block, a hash
  // key on a header (it may name one of them), a TRACE with a body (refused there, before
  // any backend is picked). An HTTP/1.1 backend's request is written with them straight from
  // the stripped request (write_request_for_backend), without adding fields.
  bool completed = false;
  const auto complete = [&] {
    if (completed) return;
    completed = true;
    add_forwarding_fields(req, request_id, xff, client_ip, s.forwarded_proto);
    as_http11(req);
  };
  if (s.balance.key.kind == HashKey::Kind::header || (req.method() == http::verb::trace && !req.body().empty()))
    complete();
  const bool head = req.method() == http::verb::head;
  // gRPC (application/grpc, +proto, +json...) is retried only where its route says so:
  // a gRPC method's side effects do not follow its HTTP method (always POST)
  const bool grpc = h2::is_grpc(req);
  const bool idempotent = route.idempotent || (!grpc && is_idempotent(req.base()));
  const uint64_t key = hash_key(cfg, req, client_bytes);
  wire.clear();  // serialised at the first HTTP/1.1 attempt: every attempt sends the same bytes
  // A relayed (HTTP/2 backend) response's head, as the client gets it.
  // Captures one pointer, so that std::function keeps it without an allocation.
  struct DecorateContext {
    std::string_view request_id;
    const RouteChoice& route;
    const Group& group;
  } decorate_context{request_id, route, *group};
  std::function<void(Response&)> decorate;
  if (stream && stream->relay)
    decorate = [c = &decorate_context](Response& head) {
      rewrite_response_for_client(head, c->request_id, 11, true, false);
      if (c->route.pin_cookie)
        head.insert(http::field::set_cookie, *c->route.pin_cookie + "=" + c->group.name() + "; Path=/");
    };

  budget_.on_request(util::coarse_now());
  boost::container::small_vector<Backend*, 4> tried;  // no allocation for the usual attempts
  bool have_last = false;  // res holds the last answer (or the error for the last failure)
  unsigned retries = 0;
  Region& region = *cfg.region;
  x = Exchange{};  // the caller's, reused: it keeps this coroutine's frame within malloc's small sizes
  for (;;) {
    auto now = util::coarse_now();
    Backend* b = group->pick(now, key, std::span<Backend* const>(tried.data(), tried.size()));
    if (!b) {
      if (have_last) break;
      ++rejects_[no_backend];
      res = error_response(503, "no backend available", version, request_id);
      res.set(http::field::retry_after, "1");
      co_return;
    }
    tried.push_back(b);
    // keep the backend alive across the exchange even if a reload drops it
    std::shared_ptr<Backend> hold;
    for (const auto& m : group->members())
      if (m.get() == b) hold = m;
    x.refused = x.committed = false;
    x.grpc_status.clear();
    if (b->h2) {
      complete();
      co_await exchange_h2(cfg, *b, req, te_trailers, idempotent, stream, decorate, x);
    } else {
      if (stream && stream->body && wire.empty() && !co_await gather_body(*stream->body, req, s.request_timeout)) {
        res = error_response(400, "request body incomplete", version, request_id);  // 413: serve_stream
        co_return;
      }
      if (wire.empty() && completed) serialize(wire, req);
      else if (wire.empty()) write_request_for_backend(wire, req, request_id, xff, client_ip, s.forwarded_proto);
      co_await exchange(cfg, *b, wire, head, rbuf, x);
    }
    now = util::coarse_now();
    if (x.committed) {  // relayed to the client as it came: whatever happened, no retry
      if (x.kind == Exchange::Kind::timeout) ++b->counters.timeouts;
      if (x.kind == Exchange::Kind::response && x.res.result_int() < 500) region.on_success(*b, now);
      else if (x.kind == Exchange::Kind::response) region.on_failure(*b, now, "status " + std::to_string(x.res.result_int()));
      else region.on_failure(*b, now, x.kind == Exchange::Kind::timeout ? "timeout" : x.error);
      res = std::move(x.res);
      have_last = true;
      break;
    }

    bool retryable = false;
    Ms delay{-1};
    switch (x.kind) {
      case Exchange::Kind::connect_failed:
        ++b->counters.connect_failures;
        region.on_failure(*b, now, "connect: " + x.error);
        retryable = true;  // nothing was sent
        res = error_response(502, "bad gateway", version, request_id);
        break;
      case Exchange::Kind::timeout:
        ++b->counters.timeouts;
        region.on_failure(*b, now, "timeout");
        retryable = idempotent;
        res = error_response(504, "gateway timeout", version, request_id);
        break;
      case Exchange::Kind::failed:
        region.on_failure(*b, now, x.error);
        retryable = idempotent || x.refused;  // refused: the backend never processed it
        res = error_response(502, "bad gateway", version, request_id);
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
        res = std::move(x.res);
        break;
      }
    }
    have_last = true;
    // a streamed body (h2/request_body.hpp) whose start went and is no longer kept cannot go again
    if (stream && stream->body && !stream->body->replayable()) retryable = false;
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
  if (res.result_int() == 502) ++rejects_[bad_gateway];
  if (res.result_int() == 504) ++rejects_[gateway_timeout];
  if (grpc) {
    const auto header_status = res["grpc-status"];
    const std::string_view status =
        !x.grpc_status.empty() ? std::string_view(x.grpc_status) : std::string_view(header_status.data(), header_status.size());
    if (!status.empty()) ++grpc_statuses_[h2::grpc_status_index(status)];
  }
  if (route.pin_cookie && !x.committed) {  // a sticky split chose the group: keep the client on it
    std::string cookie = *route.pin_cookie;
    cookie += '=';
    cookie += group->name();
    cookie += "; Path=/";
    res.insert(http::field::set_cookie, cookie);
  }
}

awaitable<void> HttpListener::exchange(const L7Config& cfg, Backend& b, std::string_view wire, bool head,
                                       beast::flat_buffer& rbuf, Exchange& out) {
  const L7Settings& s = cfg.s;
  auto now = util::coarse_now();
  ++b.active;
  ++b.counters.requests;
  b.circuit.on_dispatch(now);
  struct Release {
    Backend& b;
    ~Release() { --b.active; }
  } release{b};

  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<tcp::socket> conn;
    std::unique_ptr<TlsStream> tls;  // over conn, when the backend has "tls"
    // Kept for the exchange: a reload may replace the backend's TLS context meanwhile.
    const std::shared_ptr<const tls::ClientTls> tls_context = b.tls;
    if (round == 0) conn = b.take_idle(now, s.pool_idle_timeout, &tls);
    const bool reused = conn != nullptr;
    if (!reused) conn = std::make_unique<tcp::socket>(core_.io);
    Deadline deadline(core_, *conn);  // after conn: it goes first
    boost::system::error_code ec;
    if (reused) {
      ++pool_reuses_;
    } else {
      deadline.expires_after(s.connect_timeout);
      co_await conn->async_connect(b.endpoint, redirect_error(use_awaitable, ec));
      if (ec) {
        out.kind = Exchange::Kind::connect_failed;
        out.error = timed_out(deadline, ec) ? "timed out" : ec.message();
        co_return;
      }
      conn->set_option(tcp::no_delay(true), ec);
      conn->non_blocking(true, ec);  // for write_now's direct attempt
      ec = {};
      if (tls_context) {  // a failed handshake is a failed connect (retried, breaker, outlier detection)
        tls = tls_context->stream(*conn);
        co_await tls->async_handshake(TlsStream::client, redirect_error(use_awaitable, ec));
        if (ec) {
          ++b.counters.tls_handshake_failures;
          out.kind = Exchange::Kind::connect_failed;
          out.error = timed_out(deadline, ec) ? "tls handshake timed out" : tls::ClientTls::handshake_error(*tls, ec);
          co_return;
        }
        ++b.counters.tls_handshakes;
        if (SSL_session_reused(tls->native_handle())) ++b.counters.tls_resumed;
      }
    }
    deadline.expires_after(s.backend_timeout);  // the write and the whole response
    if (tls) ec = co_await write_rest(*tls, wire);
    else if (const std::size_t done = write_now(*conn, wire, ec); done < wire.size() && would_block(ec))
      ec = co_await write_rest(*conn, wire.substr(done));
    if (ec) {
      const bool timeout = timed_out(deadline, ec);
      if (reused && !timeout) continue;  // stale keep-alive connection: try a fresh one
      out.kind = timeout ? Exchange::Kind::timeout : Exchange::Kind::failed;
      out.error = "write: " + ec.message();
      co_return;
    }
    http::response_parser<http::string_body, PoolAllocator<char>> p;
    p.header_limit(65536);
    p.body_limit(s.max_response_bytes);
    if (head) p.skip(true);
    beast::flat_buffer& rb = rbuf;  // the session's: its memory is kept between requests
    rb.clear();
    if (rb.capacity() > 65536) rb.shrink_to_fit();  // a large response does not pin its memory
    // Let what else is ready run first: the answer is usually in by then, and the read
    // below takes it at once (instead of a read failing with EAGAIN and an epoll round).
    co_await asio::post(core_.io, use_awaitable);
    if (deadline.expired()) ec = asio::error::operation_aborted;  // it passed meanwhile: a timeout
    // Beast's http::async_read, inline (no composed operation, no coroutine frame)
    while (!ec && !parse_buffered(p, rb, message_done, ec)) {
      const std::size_t size = beast::read_size(rb, 65536);
      if (size == 0) {
        ec = http::error::buffer_overflow;
        break;
      }
      const std::size_t n = tls ? co_await tls->async_read_some(rb.prepare(size), redirect_error(use_awaitable, ec))
                                : co_await conn->async_read_some(rb.prepare(size), redirect_error(use_awaitable, ec));
      rb.commit(n);
      if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;  // closed without close_notify
      if (ec == asio::error::eof) {
        if (!p.got_some()) {
          ec = http::error::end_of_stream;
          break;
        }
        ec = {};
        p.put_eof(ec);
        break;
      }
      if (ec) break;
    }
    if (ec) {
      const bool timeout = timed_out(deadline, ec);
      if (reused && !p.got_some() && !timeout) continue;
      out.kind = timeout ? Exchange::Kind::timeout : Exchange::Kind::failed;
      out.error = "read: " + (timeout ? std::string("timed out") : ec.message());
      co_return;
    }
    out.kind = Exchange::Kind::response;
    // Whether the backend keeps the connection open: the parser read the Connection tokens
    // already (HTTP/1.1 unless "close"; HTTP/1.0 only with "keep-alive"; not when the body
    // ran to the connection's end).
    const bool backend_keeps_alive = p.keep_alive();
    out.res = p.release();
    if (backend_keeps_alive && rb.size() == 0 && s.pool_size > 0 && b.tls == tls_context)
      b.put_idle(std::move(conn), util::coarse_now(), s.pool_size, s.pool_idle_timeout, std::move(tls));
    co_return;
  }
  out.kind = Exchange::Kind::failed;
  out.error = "connection closed";
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
  if (cfg_->s.tls) {
    m.add("meridian_forward_tls_handshakes_total", "counter", "TLS handshakes completed by an L7 listener.", l,
          double(tls_handshakes_));
    m.add("meridian_forward_tls_resumed_total", "counter",
          "TLS handshakes that resumed a session (ticket or session cache).", l, double(tls_resumed_));
    m.add("meridian_forward_tls_handshake_failures_total", "counter",
          "TLS handshakes that failed (protocol version, no shared cipher, timeout, client gone).", l,
          double(tls_handshake_failures_));
  }
  m.add("meridian_forward_http2_connections_total", "counter", "HTTP/2 client connections (ALPN h2 or h2c).", l,
        double(h2_.connections));
  m.add("meridian_forward_http2_streams_total", "counter", "HTTP/2 request streams begun by clients.", l,
        double(h2_.streams));
  m.add("meridian_forward_http2_refused_streams_total", "counter",
        "HTTP/2 streams refused over max_concurrent_streams (requests still at backends included).", l,
        double(h2_.refused_streams));
  m.add("meridian_forward_http2_client_resets_total", "counter", "RST_STREAM frames received from HTTP/2 clients.", l,
        double(h2_.client_resets));
  m.add("meridian_forward_http2_goaways_total", "counter",
        "HTTP/2 connections ended with GOAWAY by the proxy, by reason.", l + ",reason=\"resets\"",
        double(h2_.goaway_resets));
  m.add("meridian_forward_http2_goaways_total", "counter",
        "HTTP/2 connections ended with GOAWAY by the proxy, by reason.", l + ",reason=\"control_frames\"",
        double(h2_.goaway_control));
  m.add("meridian_forward_http2_goaways_total", "counter",
        "HTTP/2 connections ended with GOAWAY by the proxy, by reason.", l + ",reason=\"protocol_error\"",
        double(h2_.protocol_errors));
  websocket_metrics(m, l);
  h2_backend_metrics(m, l);
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
  if (cfg_->s.tls)
    j["tls"] = {{"handshakes", tls_handshakes_}, {"resumed", tls_resumed_}, {"handshake_failures", tls_handshake_failures_}};
  j["http2"] = {{"connections", h2_.connections},       {"streams", h2_.streams},
                {"refused_streams", h2_.refused_streams}, {"client_resets", h2_.client_resets},
                {"goaway_resets", h2_.goaway_resets},     {"goaway_control_frames", h2_.goaway_control},
                {"protocol_errors", h2_.protocol_errors}};
  nlohmann::json groups = nlohmann::json::object();
  for (const auto& g : cfg_->groups) {
    nlohmann::json members = nlohmann::json::array();
    for (const auto& b : g->members()) members.push_back(b->address);
    groups[g->name()] = members;
  }
  j["groups"] = groups;
  j["websocket"] = websocket_status();
  return j;
}

}  // namespace meridian::forward::l7
