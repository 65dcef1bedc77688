#include "forward/l7/h2/session.hpp"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include <nghttp2/nghttp2.h>

#include "forward/l7/h2/header_translation.hpp"
#include "util/coarse_clock.hpp"

namespace meridian::forward::l7::h2 {

namespace http = boost::beast::http;

namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

nghttp2_nv nv(std::string_view name, std::string_view value, uint8_t flags = NGHTTP2_NV_FLAG_NONE) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(), flags};
}

}  // namespace

// nghttp2's callbacks, with the connection as user data.
struct Session::Callbacks {
  static Session& self(void* user) { return *static_cast<Session*>(user); }
  static Stream* stream(nghttp2_session* session, int32_t id) {
    return static_cast<Stream*>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    Session& c = self(user);
    ++c.counters_.streams;
    // Requests still at backends count too: a client that resets its streams cannot have
    // more than max_concurrent_streams requests in the works.
    if (c.in_flight_ + c.receiving_ >= c.limits_.http2.max_concurrent_streams) {
      ++c.counters_.refused_streams;
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
      return 0;
    }
    auto s = std::make_shared<Stream>();
    s->id = frame->hd.stream_id;
    nghttp2_session_set_stream_user_data(session, s->id, s.get());
    c.streams_.emplace(s->id, std::move(s));
    ++c.receiving_;
    return 0;
  }

  static int header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name_bytes,
                    size_t name_length, const uint8_t* value_bytes, size_t value_length, uint8_t /*flags*/,
                    void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    Stream* s = stream(session, frame->hd.stream_id);
    RequestBody* streamed = s ? s->request.body.get() : nullptr;
    if (!s || (s->dispatched && !streamed) || s->request.refuse) return 0;
    Session& c = self(user);
    if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) {  // trailers: passed on to an HTTP/2 backend
      s->header_bytes += name_length + value_length + 32;
      const std::string_view name(reinterpret_cast<const char*>(name_bytes), name_length);
      if (s->header_bytes > c.limits_.max_header_bytes) {
        if (streamed) streamed->too_large = true;  // handed over already: reset, or answered 413
        else s->request.refuse = 431;
      } else if (!name.empty() && name[0] != ':' &&
                 !connection_specific(http::string_to_field(boost::beast::string_view(name.data(), name.size())))) {
        (streamed ? streamed->trailers : s->request.trailers)
            .emplace_back(name, std::string_view(reinterpret_cast<const char*>(value_bytes), value_length));
      }
      return 0;
    }
    s->header_bytes += name_length + value_length + 32;
    if (s->header_bytes > c.limits_.max_header_bytes) {
      s->request.refuse = 431;
      return 0;
    }
    const std::string_view name(reinterpret_cast<const char*>(name_bytes), name_length);
    const std::string_view value(reinterpret_cast<const char*>(value_bytes), value_length);
    if (!name.empty() && name[0] == ':') {
      if (name == ":method") s->method = value;
      else if (name == ":path") s->path = value;
      else if (name == ":authority") s->authority = value;
      else if (name == ":protocol") s->protocol = value;  // RFC 8441 (nghttp2 checked where it may be)
      return 0;  // :scheme: the listener knows its own
    }
    if (name == "cookie") {  // HTTP/2 may split them; HTTP/1.1 wants one field (RFC 9113 8.2.3)
      if (!s->cookies.empty()) s->cookies += "; ";
      s->cookies += value;
      return 0;
    }
    s->request.req.insert(boost::beast::string_view(name.data(), name.size()),
                          boost::beast::string_view(value.data(), value.size()));
    return 0;
  }

  static int data_chunk(nghttp2_session* session, uint8_t /*flags*/, int32_t stream_id, const uint8_t* data,
                        size_t length, void* user) {
    Stream* s = stream(session, stream_id);
    Session& c = self(user);
    if (s && s->request.tunnel && !s->request.tunnel->finished) {
      // consumed (the window reopened) when the relay wrote it to the backend
      Tunnel& t = *s->request.tunnel;
      t.inbound.append(reinterpret_cast<const char*>(data), length);
      t.unconsumed += length;
      t.notify();
      return 0;
    }
    if (s && s->request.body && !s->request.body->finished && !s->request.body->too_large) {
      // consumed (the window reopened) when a backend stream took it (body_taken)
      RequestBody& b = *s->request.body;
      if (b.received + length > c.limits_.max_body_bytes) {
        b.too_large = true;  // the handler answers 413 or resets; the rest is dropped
        nghttp2_session_consume(session, stream_id, length);
      } else {
        b.data.append(reinterpret_cast<const char*>(data), length);
        b.received += length;
      }
      b.notify();
      return 0;
    }
    // anything else is consumed at once (windows are updated by hand for the tunnels' sake)
    nghttp2_session_consume(session, stream_id, length);
    if (!s || s->dispatched) return 0;
    std::string& body = s->request.req.body();
    if (body.size() + length > c.limits_.max_body_bytes) {
      s->request.refuse = 413;  // answered now: the rest of the body is read and dropped
      c.dispatch(c.streams_.at(stream_id));
      return 0;
    }
    body.append(reinterpret_cast<const char*>(data), length);
    return 0;
  }

  static int frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    Session& c = self(user);
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA: {
        Stream* s = stream(session, frame->hd.stream_id);
        if (!s) break;
        const bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
        if (s->request.tunnel) {
          s->request.tunnel->client_ended = s->request.tunnel->client_ended || end_stream;
          s->request.tunnel->notify();
          break;
        }
        if (RequestBody* b = s->request.body.get()) {
          if (end_stream && !b->ended) {
            b->ended = true;
            b->notify();
          }
          break;
        }
        if (s->dispatched) break;
        if (frame->hd.type == NGHTTP2_HEADERS && s->method == "CONNECT" && s->request.refuse != 431) {
          // a tunnel (RFC 8441), or a CONNECT the handler refuses: handed over with its
          // HEADERS, the bytes after them go through the tunnel
          auto t = std::make_shared<Tunnel>();
          t->stream_id = s->id;
          t->connection = &c;
          t->client_ended = end_stream;
          s->request.tunnel = std::move(t);
          c.dispatch(c.streams_.at(frame->hd.stream_id));
        } else if (end_stream || s->request.refuse == 431) {
          c.dispatch(c.streams_.at(frame->hd.stream_id));
        } else if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST &&
                   is_grpc(s->request.req)) {
          c.dispatch_streaming(c.streams_.at(frame->hd.stream_id));
        }
        break;
      }
      case NGHTTP2_RST_STREAM:
        ++c.counters_.client_resets;
        if (c.over_limit(c.resets_in_window_, c.limits_.http2.max_resets)) c.calm_down(c.counters_.goaway_resets);
        break;
      case NGHTTP2_SETTINGS:
      case NGHTTP2_PING:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) &&
            c.over_limit(c.control_in_window_, c.limits_.http2.max_control_frames))
          c.calm_down(c.counters_.goaway_control);
        break;
      default: break;
    }
    return 0;
  }

  static int stream_close(nghttp2_session* session, int32_t stream_id, uint32_t /*error_code*/, void* user) {
    Stream* s = stream(session, stream_id);
    if (!s) return 0;
    Session& c = self(user);
    s->closed = true;
    if (!s->dispatched) --c.receiving_;
    if (Tunnel* t = s->request.tunnel.get()) {
      // what the relay had not written yet will not be: its share of the connection's window comes back
      if (t->unconsumed > 0) nghttp2_session_consume_connection(session, t->unconsumed);
      t->unconsumed = 0;
      t->closed = true;
      t->notify();
    }
    if (RequestBody* b = s->request.body.get(); b && !b->finished) {
      // bytes no backend stream took: their share of the connection's window comes back
      if (b->received > b->consumed) nghttp2_session_consume_connection(session, b->received - b->consumed);
      b->consumed = b->received;
      b->closed = true;
      b->notify();
    }
    nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
    c.streams_.erase(stream_id);  // a handler still running holds its own reference
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* data_flags,
                           nghttp2_data_source* source, void*) {
    Stream& s = *static_cast<Stream*>(source->ptr);
    const std::string& body = s.res.body();
    const std::size_t n = std::min(length, body.size() - s.body_sent);
    std::memcpy(buf, body.data() + s.body_sent, n);
    s.body_sent += n;
    if (s.body_sent == body.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  // The body of a relayed response: what has arrived so far; deferred until more does.
  static ssize_t read_relayed(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                              uint32_t* data_flags, nghttp2_data_source* source, void*) {
    ResponseRelay& r = static_cast<Stream*>(source->ptr)->relay;
    const std::size_t n = std::min(length, r.out_.size() - r.taken_);
    if (n == 0 && !r.ended_) {
      r.deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    std::memcpy(buf, r.out_.data() + r.taken_, n);
    r.taken_ += n;
    if (n > 0 && r.on_drain) r.on_drain();
    if (r.taken_ < r.out_.size() && r.taken_ >= (64u << 10) && 2 * r.taken_ >= r.out_.size()) {
      r.out_.erase(0, r.taken_);  // a relay fed as it drains may never empty: what went is dropped
      r.taken_ = 0;
    }
    if (r.taken_ == r.out_.size()) {
      r.out_.clear();
      r.taken_ = 0;
      if (r.ended_) {
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
        if (!r.trailers_.empty()) {
          *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
          std::vector<nghttp2_nv> fields;
          for (const auto& [name, value] : r.trailers_) fields.push_back(nv(name, value));
          if (nghttp2_submit_trailer(session, stream_id, fields.data(), fields.size()) != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
      }
    }
    return static_cast<ssize_t>(n);
  }

  // A tunnel's DATA: what the relay put in outbound; deferred while there is none
  // (tunnel_send resumes it); END_STREAM once the backend ended and all of it went.
  static ssize_t read_tunnel(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* data_flags,
                             nghttp2_data_source* source, void*) {
    Tunnel& t = *static_cast<Tunnel*>(source->ptr);
    const std::size_t n = std::min(length, t.outbound_pending());
    if (n == 0 && !t.backend_ended) return NGHTTP2_ERR_DEFERRED;
    std::memcpy(buf, t.outbound.data() + t.outbound_sent, n);
    t.outbound_sent += n;
    if (t.outbound_sent == t.outbound.size()) {
      t.outbound.clear();
      t.outbound_sent = 0;
    } else if (t.outbound_sent >= Tunnel::kMaxOutbound / 2) {
      t.outbound.erase(0, t.outbound_sent);
      t.outbound_sent = 0;
    }
    if (t.backend_ended && t.outbound.empty()) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      t.end_sent = true;
    }
    t.notify();  // room for more
    return static_cast<ssize_t>(n);
  }
};

Session::Session(const ServerLimits& limits, ServerCounters& counters)
    : limits_(limits), counters_(counters), window_start_(util::coarse_now()) {
  ++counters_.connections;
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, &Callbacks::begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cb, &Callbacks::header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Callbacks::data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Callbacks::frame_recv);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Callbacks::stream_close);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Acks of SETTINGS and PING not yet sent (a client that sends them and does not read):
  // over this nghttp2 fails the session with NGHTTP2_ERR_FLOODED.
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  nghttp2_option_set_max_settings(opt, 32);  // entries in one SETTINGS frame
  // nghttp2's own reset limiter (GOAWAY with INTERNAL_ERROR) stays above ours.
  const uint64_t resets = std::max<uint64_t>(1000, 2ull * limits_.http2.max_resets);
  nghttp2_option_set_stream_reset_rate_limit(opt, resets, resets);
  // A tunnel's DATA reopens its window only once written to the backend (back-pressure);
  // other DATA is consumed as it arrives (data_chunk).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session_server_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);

  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.http2.max_concurrent_streams},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(limits_.max_header_bytes)},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},  // RFC 8441: WebSocket over HTTP/2
      // RFC 9218 (urgency) instead of RFC 7540's dependency tree, which RFC 9113 deprecates:
      // streams are sent in order without nghttp2 keeping a priority tree per connection.
      {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  // The connection's window holds every stream's (a stalled tunnel keeps up to its stream
  // window unconsumed, which must not stall the other streams).
  const uint64_t window = (uint64_t{limits_.http2.max_concurrent_streams} + 1) * NGHTTP2_INITIAL_WINDOW_SIZE;
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(std::min<uint64_t>(window, NGHTTP2_MAX_WINDOW_SIZE)));
}

Session::~Session() { nghttp2_session_del(session_); }

bool Session::receive(const char* data, std::size_t size) {
  if (failed_) return false;
  const ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), size);
  if (n < 0) {
    if (n == NGHTTP2_ERR_FLOODED) ++counters_.goaway_control;
    else ++counters_.protocol_errors;
    failed_ = true;
    return false;
  }
  return !failed_;
}

void Session::take_output(std::string& out) {
  for (;;) {
    const uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      failed_ = true;
      return;
    }
    if (n == 0) return;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    if (out.size() >= (256u << 10)) return;  // the rest after this is written
  }
}

bool Session::done() const {
  if (nghttp2_session_want_write(session_)) return false;
  return failed_ || !nghttp2_session_want_read(session_);
}

void Session::shutdown() {
  if (failed_) return;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

bool Session::over_limit(uint32_t& count, uint32_t limit) {
  const auto now = util::coarse_now();
  if (now - window_start_ >= limits_.http2.flood_window) {
    window_start_ = now;
    resets_in_window_ = 0;
    control_in_window_ = 0;
  }
  return ++count > limit;
}

void Session::calm_down(uint64_t& counter) {
  if (failed_) return;
  ++counter;
  nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
  failed_ = true;
}

void Session::dispatch(const std::shared_ptr<Stream>& s) {
  s->dispatched = true;
  --receiving_;
  ++in_flight_;
  Request& r = s->request.req;
  r.version(11);
  if (const http::verb v = http::string_to_verb(s->method); v != http::verb::unknown) r.method(v);
  else r.method_string(s->method);
  r.target(s->path);
  s->request.protocol = std::move(s->protocol);
  s->relay.conn_ = this;
  s->relay.stream_ = s.get();
  s->request.relay = &s->relay;
  if (!s->authority.empty()) r.set(http::field::host, s->authority);
  if (!s->cookies.empty()) r.set(http::field::cookie, s->cookies);
  serve(s);
}

void Session::dispatch_streaming(const std::shared_ptr<Stream>& s) {
  auto b = std::make_shared<RequestBody>();
  b->stream_id = s->id;
  b->connection = this;
  s->request.body = std::move(b);
  dispatch(s);
}

void Session::body_taken(RequestBody& b, std::size_t up_to) {
  if (b.finished || up_to <= b.base) return;
  if (up_to > b.consumed && !b.closed && !failed_) {
    nghttp2_session_consume(session_, b.stream_id, up_to - b.consumed);
    b.consumed = up_to;
    if (on_output) on_output();  // the WINDOW_UPDATE
  }
  if (up_to > RequestBody::kKeep) {  // too much to keep for a resend: sent bytes go
    b.data.erase(0, std::min(b.data.size(), up_to - b.base));
    b.base = up_to;
  }
}

void Session::answer(Stream& stream) {
  Stream* s = &stream;
  --in_flight_;
  if (RequestBody* b = s->request.body.get(); b && !b->finished) {
    b->finished = true;
    b->wake = nullptr;
    // bytes the backend did not take (an answer before the body ended): the window comes back
    if (b->received > b->consumed && !s->closed && !failed_)
      nghttp2_session_consume(session_, s->id, b->received - b->consumed);
    b->consumed = b->received;
    b->data.clear();
  }
  Tunnel* t = s->request.tunnel.get();
  if (t) {
    t->finished = true;
    // DATA the relay did not take (a refused CONNECT): its window comes back
    if (t->unconsumed > 0 && !s->closed && !failed_) nghttp2_session_consume(session_, s->id, t->unconsumed);
    t->unconsumed = 0;
  }
  if (!s->closed && !failed_ && !(t && t->opened) && !s->relay.started()) submit(*s);
  if (on_output) on_output();
}

void Session::open_tunnel(Tunnel& t, const Response& res) {
  if (!tunnel_usable(t) || t.opened) return;
  const auto it = streams_.find(t.stream_id);
  if (it == streams_.end()) return;
  t.opened = true;
  submit_headers(t.stream_id, res, Body::tunnel, &t);
  if (on_output) on_output();
}

void Session::tunnel_consumed(Tunnel& t, std::size_t n) {
  n = std::min(n, t.unconsumed);
  t.unconsumed -= n;
  if (!tunnel_usable(t) || n == 0) return;
  nghttp2_session_consume(session_, t.stream_id, n);
  if (on_output) on_output();
}

void Session::tunnel_send(Tunnel& t) {
  if (!tunnel_usable(t) || !t.opened) return;
  nghttp2_session_resume_data(session_, t.stream_id);  // an error: not deferred, it goes anyway
  if (on_output) on_output();
}

void Session::tunnel_reset(Tunnel& t, uint32_t error_code) {
  if (!tunnel_usable(t)) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, t.stream_id, error_code);
  if (on_output) on_output();
}

void Session::end() {
  failed_ = true;
  for (auto& [id, s] : streams_) {
    if (Tunnel* t = s->request.tunnel.get()) {
      t->closed = true;
      t->notify();
    }
    if (RequestBody* b = s->request.body.get(); b && !b->finished) {
      b->closed = true;
      b->notify();
    }
  }
}

void Session::submit(Stream& s) {
  submit_headers(s.id, s.res, s.res.body().empty() ? Body::none : Body::response, &s);
}

void Session::submit_headers(int32_t id, const Response& res, Body body_from, void* source) {
  // The lower-case names and the field list are built in buffers kept from one response to
  // the next (nghttp2 copies the fields): no allocation per response once they have grown.
  thread_local std::string names;
  thread_local std::vector<nghttp2_nv> fields;
  std::size_t name_bytes = 0, count = 0;
  for (const auto& f : res) {
    if (f.name() == http::field::unknown) name_bytes += f.name_string().size();
    ++count;
  }
  names.resize(name_bytes);  // the views below point into it: no reallocation meanwhile
  fields.clear();
  fields.reserve(count + 1);
  char status[3];
  const unsigned code = std::min(999u, std::max(100u, res.result_int()));
  status[0] = static_cast<char>('0' + code / 100);
  status[1] = static_cast<char>('0' + code / 10 % 10);
  status[2] = static_cast<char>('0' + code % 10);
  fields.push_back(nv(":status", std::string_view(status, 3)));
  char* at = names.data();
  for (const auto& f : res) {
    const std::string_view value(f.value().data(), f.value().size());
    if (f.name() != http::field::unknown) {  // a static lower-case name, kept by nghttp2 as it is
      if (!connection_specific(f.name()))
        fields.push_back(nv(lower_field_name(f.name()), value, NGHTTP2_NV_FLAG_NO_COPY_NAME));
      continue;
    }
    const auto name = f.name_string();
    const std::string_view n(at, name.size());
    for (const char ch : name) *at++ = lower(ch);
    if (!n.empty()) fields.push_back(nv(n, value, hpack_flags(n)));
  }
  nghttp2_data_provider body{};
  body.source.ptr = source;
  body.read_callback = body_from == Body::tunnel  ? &Callbacks::read_tunnel
                       : body_from == Body::relay ? &Callbacks::read_relayed
                                                  : &Callbacks::read_body;
  // nghttp2 copies the fields
  nghttp2_submit_response(session_, id, fields.data(), fields.size(), body_from == Body::none ? nullptr : &body);
}

bool ResponseRelay::open() const {
  const auto* s = static_cast<const Session::Stream*>(stream_);
  return conn_ && s && !s->closed && !conn_->failed_ && conn_->on_output;
}

void ResponseRelay::start(const Response& res, bool end) {
  if (started_ || !open()) return;
  started_ = true;
  ended_ = end;
  auto* s = static_cast<Session::Stream*>(stream_);
  conn_->submit_headers(s->id, res, end ? Session::Body::none : Session::Body::relay, s);
  conn_->on_output();
}

void ResponseRelay::data(std::string_view bytes) {
  if (!started_ || ended_ || !open() || bytes.empty()) return;
  out_.append(bytes);
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(conn_->session_, static_cast<Session::Stream*>(stream_)->id);
  }
  conn_->on_output();
}

void ResponseRelay::finish(Trailers trailers) {
  if (!started_ || ended_ || !open()) return;
  ended_ = true;
  trailers_ = std::move(trailers);
  if (deferred_) {
    deferred_ = false;
    nghttp2_session_resume_data(conn_->session_, static_cast<Session::Stream*>(stream_)->id);
  }
  conn_->on_output();
}

void ResponseRelay::abort() {
  if (!open()) return;
  ended_ = true;
  nghttp2_submit_rst_stream(conn_->session_, NGHTTP2_FLAG_NONE, static_cast<Session::Stream*>(stream_)->id,
                            NGHTTP2_INTERNAL_ERROR);
  conn_->on_output();
}

}  // namespace meridian::forward::l7::h2
