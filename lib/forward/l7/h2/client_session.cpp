#include "forward/l7/h2/client_session.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>

#include "tls/client_tls.hpp"

namespace meridian::forward::l7::h2 {

namespace asio = boost::asio;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

// Points into name and value, which must outlive the nghttp2 call (it copies them).
nghttp2_nv nv(const std::string& name, const std::string& value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          hpack_flags(name)};
}

std::vector<nghttp2_nv> nv_list(const HeaderList& fields) {
  std::vector<nghttp2_nv> out;
  out.reserve(fields.size());
  for (const auto& [name, value] : fields) out.push_back(nv(name, value));
  return out;
}

}  // namespace

struct ClientSession::Callbacks {
  static ClientSession& self(void* user) { return *static_cast<ClientSession*>(user); }
  static ClientStream* stream(nghttp2_session* session, int32_t id) {
    return static_cast<ClientStream*>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name_bytes,
                    size_t name_length, const uint8_t* value_bytes, size_t value_length, uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    ClientStream* s = stream(session, frame->hd.stream_id);
    if (!s || s->abandoned) return 0;
    const std::string_view name(reinterpret_cast<const char*>(name_bytes), name_length);
    const std::string_view value(reinterpret_cast<const char*>(value_bytes), value_length);
    if (!s->have_head) {  // the response head (after any 1xx)
      if (!add_response_field(s->response, name, value)) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    } else if (valid_trailer(name)) {
      s->trailers.emplace_back(name, value);
    }
    return 0;
  }

  static int data_chunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data, size_t length,
                        void*) {
    ClientStream* s = stream(session, stream_id);
    if (!s || s->abandoned) {  // nobody takes it: the window comes back at once
      nghttp2_session_consume(session, stream_id, length);
      return 0;
    }
    s->data.append(reinterpret_cast<const char*>(data), length);
    s->data_total += length;
    s->notify();
    return 0;
  }

  static int frame_recv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    ClientSession& c = self(user);
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      if (ClientStream* s = stream(session, frame->hd.stream_id)) {
        s->ended = true;
        s->notify();
      }
    }
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS: {
        ClientStream* s = stream(session, frame->hd.stream_id);
        if (!s || s->abandoned || s->have_head) break;
        if (s->response.result_int() < 200) {  // an interim (1xx) head: the final one follows
          s->response = Response{};
          break;
        }
        s->have_head = true;
        s->head_ended = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
        s->notify();
        break;
      }
      case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) c.settings_received_ = true;
        break;
      case NGHTTP2_GOAWAY:  // no new streams; those above its last stream id are closed REFUSED_STREAM
        if (c.state_ == State::ready) c.state_ = State::draining;
        c.kick();
        break;
      default: break;
    }
    return 0;
  }

  static int frame_send(nghttp2_session* session, const nghttp2_frame* frame, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (ClientStream* s = stream(session, frame->hd.stream_id)) s->sent = true;
    return 0;
  }

  static int frame_not_send(nghttp2_session* session, const nghttp2_frame* frame, int error, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    ClientStream* s = stream(session, frame->hd.stream_id);
    if (!s || s->sent) return 0;
    s->refused = true;
    if (s->failure.empty()) s->failure = std::string("h2: request not sent: ") + nghttp2_strerror(error);
    return 0;
  }

  static int stream_close(nghttp2_session* session, int32_t stream_id, uint32_t error_code, void* user) {
    ClientStream* s = stream(session, stream_id);
    if (!s) return 0;
    ClientSession& c = self(user);
    const auto it = c.streams_.find(stream_id);
    std::shared_ptr<ClientStream> keep;
    if (it != c.streams_.end()) {
      keep = std::move(it->second);
      c.streams_.erase(it);
    }
    // DATA not taken yet gives the connection's window back now (the stream's is gone)
    if (!s->data.empty()) nghttp2_session_consume_connection(session, s->data.size());
    s->closed = true;
    s->error_code = error_code;
    if (error_code == NGHTTP2_REFUSED_STREAM || !s->sent) s->refused = true;
    if (error_code != NGHTTP2_NO_ERROR && s->failure.empty())
      s->failure = std::string("h2 stream reset: ") + nghttp2_http2_strerror(error_code);
    s->notify();
    c.touch();
    return 0;
  }

  static ssize_t read_body(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                           uint32_t* data_flags, nghttp2_data_source* source, void*) {
    ClientStream& s = *static_cast<ClientStream*>(source->ptr);
    if (s.streamed) return read_streamed(session, stream_id, buf, length, data_flags, s);
    const std::size_t n = std::min(length, s.body.size() - s.body_sent);
    std::memcpy(buf, s.body.data() + s.body_sent, n);
    s.body_sent += n;
    if (s.body_sent == s.body.size()) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!s.request_trailers.empty()) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        const auto fields = nv_list(s.request_trailers);
        if (nghttp2_submit_trailer(session, stream_id, fields.data(), fields.size()) != 0)
          return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
    }
    return static_cast<ssize_t>(n);
  }

  // A streamed body: what has arrived from the client so far; deferred until more does.
  static ssize_t read_streamed(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                               uint32_t* data_flags, ClientStream& s) {
    RequestBody& b = *s.streamed;
    if (s.abandoned || b.finished || b.too_large || s.body_sent < b.base) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::size_t n = std::min(length, b.end() - s.body_sent);
    if (n == 0 && !b.ended) {
      s.body_deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    std::memcpy(buf, b.data.data() + (s.body_sent - b.base), n);
    s.body_sent += n;
    if (s.body_taken && n > 0) s.body_taken(b, s.body_sent);  // may drop what was sent
    if (b.ended && s.body_sent == b.received) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!b.trailers.empty()) {
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        const auto fields = nv_list(b.trailers);
        if (nghttp2_submit_trailer(session, stream_id, fields.data(), fields.size()) != 0)
          return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
    }
    return static_cast<ssize_t>(n);
  }
};

ClientSession::ClientSession(TierCore& core, asio::ip::tcp::endpoint endpoint,
                             std::shared_ptr<const tls::ClientTls> tls, Ms connect_timeout, Ms idle_timeout)
    : core_(core), endpoint_(endpoint), tls_(std::move(tls)), connect_timeout_(connect_timeout),
      idle_timeout_(idle_timeout), socket_(core.io), writer_wake_(core.io, std::chrono::steady_clock::time_point::max()),
      idle_since_(std::chrono::steady_clock::now()) {}

ClientSession::~ClientSession() {
  if (session_) nghttp2_session_del(session_);
}

void ClientSession::start() { asio::co_spawn(core_.io, run(shared_from_this()), asio::detached); }

std::size_t ClientSession::capacity(std::size_t assumed) const {
  if (!session_ || !settings_received_) return assumed;
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

void ClientSession::touch() {
  if (load() == 0) {
    idle_since_ = std::chrono::steady_clock::now();
    kick();  // the writer re-arms its idle timer, or closes a retired session
  }
}

bool ClientSession::open_session() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  nghttp2_session_callbacks_set_on_header_callback(cb, &Callbacks::header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &Callbacks::data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &Callbacks::frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, &Callbacks::frame_send);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cb, &Callbacks::frame_not_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, &Callbacks::stream_close);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cb);
    return false;
  }
  // Response DATA reopens the backend's windows only once the listener took it (consume):
  // a client that reads slowly holds the backend back instead of filling the proxy.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  const int made = nghttp2_session_client_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (made != 0) {
    session_ = nullptr;
    return false;
  }
  // No server push; a 1 MiB window per stream so that a response is not held to 64 KiB
  // per round trip.
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                             {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 16u << 20);
  return true;
}

awaitable<void> ClientSession::run(std::shared_ptr<ClientSession> self) {
  Deadline deadline(core_, socket_);
  Tracked tracked(core_, [this](bool force) {
    if (force) fail("closed by the tier");
    else retire();
  });
  boost::system::error_code ec;
  std::string why;
  deadline.expires_after(connect_timeout_);
  co_await socket_.async_connect(endpoint_, redirect_error(use_awaitable, ec));
  if (state_ == State::dead) co_return;  // closed meanwhile
  if (ec) {
    why = deadline.expired() ? "timed out" : ec.message();
  } else {
    socket_.set_option(asio::ip::tcp::no_delay(true), ec);
    ec = {};
    if (tls_) {
      tls_stream_ = tls_->stream(socket_);
      co_await tls_stream_->async_handshake(asio::ssl::stream_base::client, redirect_error(use_awaitable, ec));
      if (state_ == State::dead) co_return;
      handshake_ = Handshake{!ec, !ec && SSL_session_reused(tls_stream_->native_handle()) == 1};
      if (ec) {
        why = deadline.expired() ? "tls handshake timed out" : tls::ClientTls::handshake_error(*tls_stream_, ec);
      } else {
        const unsigned char* alpn = nullptr;
        unsigned length = 0;
        SSL_get0_alpn_selected(tls_stream_->native_handle(), &alpn, &length);
        if (std::string_view(reinterpret_cast<const char*>(alpn), length) != "h2")
          why = "ALPN: the backend did not select h2";
      }
    }
  }
  if (why.empty() && !open_session()) why = "h2: cannot create a session";
  if (!why.empty()) {
    fail(why, true);
    co_return;
  }
  deadline.expires_never();
  state_ = State::ready;
  idle_since_ = std::chrono::steady_clock::now();
  for (auto& w : ready_waiters_)
    if (auto s = w.lock()) s->notify();
  ready_waiters_.clear();
  asio::co_spawn(core_.io, write_loop(self), asio::detached);

  auto buffer = std::make_unique<std::array<char, 16384>>();
  while (state_ != State::dead) {
    const std::size_t n =
        tls_stream_ ? co_await tls_stream_->async_read_some(asio::buffer(*buffer), redirect_error(use_awaitable, ec))
                    : co_await socket_.async_read_some(asio::buffer(*buffer), redirect_error(use_awaitable, ec));
    if (state_ == State::dead) break;
    if (ec) {
      fail(ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ? "the backend closed the connection"
                                                                             : "read: " + ec.message());
      break;
    }
    const ssize_t used = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buffer->data()), n);
    if (used < 0) {
      fail(std::string("h2: ") + nghttp2_strerror(static_cast<int>(used)));
      break;
    }
    kick();  // acks, window updates, or nothing
  }
}

awaitable<void> ClientSession::write_loop(std::shared_ptr<ClientSession> self) {
  (void)self;  // held: the session lives while its writer does
  std::string out;
  boost::system::error_code ec;
  while (state_ != State::dead) {
    out.clear();
    while (out.size() < (256u << 10)) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        fail(std::string("h2: ") + nghttp2_strerror(static_cast<int>(n)));
        break;
      }
      if (n == 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (state_ == State::dead) break;
    if (!out.empty()) {
      if (tls_stream_) co_await asio::async_write(*tls_stream_, asio::buffer(out), redirect_error(use_awaitable, ec));
      else co_await asio::async_write(socket_, asio::buffer(out), redirect_error(use_awaitable, ec));
      if (state_ == State::dead) break;
      if (ec) {
        fail("write: " + ec.message());
        break;
      }
      continue;
    }
    if (load() == 0 && (retired_ || state_ == State::draining)) {
      if (state_ == State::ready) {  // GOAWAY, sent next round; then the connection closes
        nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
        state_ = State::draining;
        continue;
      }
      fail("session closed");
      break;
    }
    const bool idle = state_ == State::ready && load() == 0 && !retired_;
    writer_wake_.expires_at(idle ? idle_since_ + idle_timeout_ : std::chrono::steady_clock::time_point::max());
    co_await writer_wake_.async_wait(redirect_error(use_awaitable, ec));
    if (!ec && load() == 0 && std::chrono::steady_clock::now() >= idle_since_ + idle_timeout_) retired_ = true;
  }
}

bool ClientSession::submit(const std::shared_ptr<ClientStream>& s) {
  if (reserved_ > 0) --reserved_;
  if (state_ != State::ready || !session_) {
    s->closed = true;
    s->refused = true;
    s->failure = error_.empty() ? "h2 session closing" : error_;
    touch();
    return false;
  }
  const auto fields = nv_list(s->head);
  nghttp2_data_provider body{};
  body.source.ptr = s.get();
  body.read_callback = &Callbacks::read_body;
  const bool has_body = s->streamed || !s->body.empty() || !s->request_trailers.empty();
  const int32_t id =
      nghttp2_submit_request(session_, nullptr, fields.data(), fields.size(), has_body ? &body : nullptr, s.get());
  if (id < 0) {
    s->closed = true;
    s->refused = true;
    s->failure = std::string("h2: ") + nghttp2_strerror(id);
    touch();
    return false;
  }
  s->id = id;
  streams_[id] = s;
  kick();
  return true;
}

void ClientSession::cancel(ClientStream& s) {
  if (s.closed || s.abandoned || s.id < 0 || state_ == State::dead) return;
  s.abandoned = true;  // stays in streams_ until nghttp2 closes it (its body source must live)
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_CANCEL);
  kick();
}

void ClientSession::resume_body(ClientStream& s) {
  if (!s.body_deferred || s.closed || s.id < 0 || state_ == State::dead) return;
  s.body_deferred = false;
  nghttp2_session_resume_data(session_, s.id);
  kick();
}

void ClientSession::consume(ClientStream& s, std::size_t n) {
  if (n == 0 || s.closed || s.id < 0 || state_ == State::dead) return;
  nghttp2_session_consume(session_, s.id, n);
  kick();  // the WINDOW_UPDATE
}

void ClientSession::retire() {
  retired_ = true;
  if (state_ == State::connecting && reserved_ == 0) fail("retired");
  kick();
}

void ClientSession::fail(const std::string& why, bool while_connecting) {
  if (state_ == State::dead) return;
  state_ = State::dead;
  error_ = why;
  connect_failed_ = while_connecting;
  boost::system::error_code ec;
  socket_.close(ec);  // the reader's and writer's operations end
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams) {
    if (s->closed) continue;
    s->closed = true;
    if (s->failure.empty()) s->failure = why;
    if (!s->sent) s->refused = true;
    s->notify();
  }
  for (auto& w : ready_waiters_)
    if (auto s = w.lock()) s->notify();
  ready_waiters_.clear();
  kick();
}

}  // namespace meridian::forward::l7::h2
