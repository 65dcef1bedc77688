// An HTTP/2 client of WebSockets over extended CONNECT (RFC 8441) for the forwarding tier's
// tests, since no common Debian command-line client speaks it: libnghttp2's client session
// over a blocking socket (h2c with prior knowledge) or TLS (OpenSSL) with ALPN h2, several WebSocket
// streams on one connection, and RFC 6455 frames by hand (masked text/binary/close from the
// client, unmasked ones from the server). Everything runs on the calling thread: pump()
// moves bytes until a condition holds or a deadline passes. Header-only.
#pragma once
#include <nghttp2/nghttp2.h>
#include <poll.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

namespace fwdtest {

namespace ws_frames {
enum Opcode : uint8_t { text = 1, binary = 2, close = 8 };
// A client frame (FIN, masked with a fixed key: masking is for proxies' caches, not secrecy).
inline std::string client_frame(uint8_t opcode, std::string_view payload) {
  std::string f;
  f.push_back(static_cast<char>(0x80 | opcode));
  const std::size_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<char>(0x80 | n));
  } else if (n < 65536) {
    f.push_back(static_cast<char>(0x80 | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xff));
  } else {
    f.push_back(static_cast<char>(0x80 | 127));
    for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<char>((uint64_t{n} >> s) & 0xff));
  }
  const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  f.append(reinterpret_cast<const char*>(mask), 4);
  for (std::size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return f;
}
struct Frame {
  uint8_t opcode = 0;
  std::string payload;
};
// Takes one whole message off the front of buf: an unmasked frame with FIN set, or a
// fragmented message (its first frame, continuations, the last with FIN) joined; the
// opcode is the first frame's. False when not all of it is there yet.
inline bool take_server_frame(std::string& buf, Frame& out) {
  std::size_t at = 0;
  Frame whole;
  for (bool first = true;; first = false) {
    if (buf.size() < at + 2) return false;
    const auto b = reinterpret_cast<const unsigned char*>(buf.data() + at);
    std::size_t header = 2;
    uint64_t n = b[1] & 0x7f;
    if (n == 126) {
      if (buf.size() < at + 4) return false;
      n = (uint64_t{b[2]} << 8) | b[3];
      header = 4;
    } else if (n == 127) {
      if (buf.size() < at + 10) return false;
      n = 0;
      for (int i = 0; i < 8; ++i) n = (n << 8) | b[2 + i];
      header = 10;
    }
    if (buf.size() < at + header + n) return false;
    if (first) whole.opcode = b[0] & 0x0f;
    whole.payload.append(buf, at + header, n);
    at += header + n;
    if (b[0] & 0x80) break;  // FIN
  }
  buf.erase(0, at);
  out = std::move(whole);
  return true;
}
}  // namespace ws_frames

class H2WsClient {
 public:
  struct Stream {
    int32_t id = 0;
    int status = 0;
    std::map<std::string, std::string> headers;
    std::string received;      // DATA, not yet taken as frames
    std::string to_send;       // for DATA frames
    bool end_requested = false;
    bool ended = false;        // END_STREAM from the server
    bool closed = false;
    uint32_t close_code = 0;   // RST_STREAM's error code (or 0)
    std::size_t unconsumed = 0;
  };

  // ca empty: h2c (prior knowledge); else TLS verified against ca for server_name, ALPN h2.
  // auto_consume false: the client's receive windows open only through consume().
  H2WsClient(uint16_t port, const std::string& ca = "", const std::string& server_name = "", bool auto_consume = true)
      : auto_consume_(auto_consume), socket_(io_) {
    socket_.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    if (!ca.empty()) {
      // OpenSSL on the socket itself (not Asio's ssl::stream, which reads ciphertext ahead into
      // a buffer of its own that poll() cannot see): one record per read, so poll() and
      // SSL_pending() together say whether a read would block.
      ctx_ = SSL_CTX_new(TLS_client_method());
      if (!ctx_ || SSL_CTX_load_verify_locations(ctx_, ca.c_str(), nullptr) != 1)
        throw std::runtime_error("cannot load " + ca);
      SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
      ssl_ = SSL_new(ctx_);
      SSL_set_fd(ssl_, socket_.native_handle());
      SSL_set_tlsext_host_name(ssl_, server_name.c_str());
      SSL_set1_host(ssl_, server_name.c_str());
      SSL_clear_mode(ssl_, SSL_MODE_AUTO_RETRY);  // a read that found no data (a ticket) returns
      static const unsigned char alpn[] = {2, 'h', '2'};
      SSL_set_alpn_protos(ssl_, alpn, sizeof alpn);
      if (SSL_connect(ssl_) != 1) throw std::runtime_error("TLS handshake failed");
      const unsigned char* chosen = nullptr;
      unsigned chosen_length = 0;
      SSL_get0_alpn_selected(ssl_, &chosen, &chosen_length);
      if (chosen_length != 2 || std::memcmp(chosen, "h2", 2) != 0) throw std::runtime_error("ALPN did not choose h2");
    }
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, &on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, &on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, &on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, &on_close);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_session_client_new2(&session_, cb, this, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~H2WsClient() {
    nghttp2_session_del(session_);
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
  }
  H2WsClient(const H2WsClient&) = delete;
  H2WsClient& operator=(const H2WsClient&) = delete;

  // Whether the server offered extended CONNECT (waits for its SETTINGS).
  bool connect_protocol_enabled() {
    pump([&] { return settings_received_; });
    return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1;
  }

  // Opens a stream: CONNECT with :protocol (websocket unless given), :scheme, :path,
  // :authority, Sec-WebSocket-Version 13 and extra fields. Its id.
  int32_t open(const std::string& path, const std::string& protocol = "websocket",
               std::vector<std::pair<std::string, std::string>> extra = {}, bool with_protocol = true) {
    std::vector<std::pair<std::string, std::string>> fields = {{":method", "CONNECT"}};
    if (with_protocol) {
      fields.insert(fields.end(), {{":protocol", protocol}, {":scheme", ssl_ ? "https" : "http"}, {":path", path}});
    }
    fields.push_back({":authority", "ws.example.test"});
    if (with_protocol) fields.push_back({"sec-websocket-version", "13"});
    fields.insert(fields.end(), extra.begin(), extra.end());
    std::vector<nghttp2_nv> nva;
    for (auto& [n, v] : fields)
      nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()), n.size(), v.size(),
                     NGHTTP2_NV_FLAG_NONE});
    auto s = std::make_unique<Stream>();
    nghttp2_data_provider provider{};
    provider.source.ptr = s.get();
    provider.read_callback = &read_data;
    const int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &provider, s.get());
    if (id < 0) throw std::runtime_error(std::string("submit_request: ") + nghttp2_strerror(id));
    s->id = id;
    streams_[id] = std::move(s);
    return id;
  }
  Stream& stream(int32_t id) { return *streams_.at(id); }

  // Queues bytes on a stream (DATA, as flow control allows).
  void send(int32_t id, const std::string& bytes) {
    stream(id).to_send += bytes;
    nghttp2_session_resume_data(session_, id);
  }
  void send_message(int32_t id, const std::string& text, uint8_t opcode = ws_frames::text) {
    send(id, ws_frames::client_frame(opcode, text));
  }
  // END_STREAM after what is queued.
  void end(int32_t id) {
    stream(id).end_requested = true;
    nghttp2_session_resume_data(session_, id);
  }
  void reset(int32_t id) { nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL); }
  // Opens the receive window by what was received and not yet consumed (auto_consume off).
  void consume(int32_t id) {
    Stream& s = stream(id);
    if (s.unconsumed) nghttp2_session_consume(session_, id, s.unconsumed);
    s.unconsumed = 0;
  }

  // Reads one whole WebSocket frame from stream id (pumping up to the deadline); false when
  // none came (the stream ended, or the time ran out).
  bool read_frame(int32_t id, ws_frames::Frame& out, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    Stream& s = stream(id);
    bool got = false;
    pump([&] { return (got = got || ws_frames::take_server_frame(s.received, out)) || s.closed; }, timeout);
    return got;
  }
  std::string read_message(int32_t id, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    ws_frames::Frame f;
    if (!read_frame(id, f, timeout)) return "<nothing>";
    return f.payload;
  }

  // Moves bytes both ways until done() or the timeout; whether done() held.
  template <class Done>
  bool pump(Done done, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      flush();
      if (done()) return true;
      if (broken_ || std::chrono::steady_clock::now() >= end) return false;
      receive_some(50);
    }
  }
  bool broken() const { return broken_; }

 private:
  void flush() {
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n <= 0) return;
      boost::system::error_code ec;
      if (ssl_) {
        if (SSL_write(ssl_, data, static_cast<int>(n)) != n) ec = boost::asio::error::broken_pipe;
      } else {
        boost::asio::write(socket_, boost::asio::buffer(data, static_cast<std::size_t>(n)), ec);
      }
      if (ec) {
        broken_ = true;
        return;
      }
    }
  }
  void receive_some(int wait_ms) {
    const bool buffered = ssl_ && SSL_pending(ssl_) > 0;
    if (!buffered) {
      pollfd p{socket_.native_handle(), POLLIN, 0};
      if (::poll(&p, 1, wait_ms) <= 0) return;
    }
    char buf[16384];
    std::size_t n = 0;
    if (ssl_) {
      const int r = SSL_read(ssl_, buf, sizeof buf);
      if (r <= 0) {
        if (SSL_get_error(ssl_, r) != SSL_ERROR_WANT_READ) broken_ = true;
        return;
      }
      n = static_cast<std::size_t>(r);
    } else {
      boost::system::error_code ec;
      n = socket_.read_some(boost::asio::buffer(buf), ec);
      if (ec) {
        broken_ = true;
        return;
      }
    }
    if (nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf), n) < 0) broken_ = true;
  }

  static H2WsClient& self(void* user) { return *static_cast<H2WsClient*>(user); }
  static Stream* find(void* user, int32_t id) {
    auto& m = self(user).streams_;
    const auto it = m.find(id);
    return it == m.end() ? nullptr : it->second.get();
  }
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                       const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    Stream* s = find(user, frame->hd.stream_id);
    if (!s) return 0;
    const std::string n(reinterpret_cast<const char*>(name), namelen), v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") s->status = std::stoi(v);
    else s->headers[n] = v;
    return 0;
  }
  static int on_data(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data, size_t len, void* user) {
    Stream* s = find(user, id);
    if (!s) {
      nghttp2_session_consume(session, id, len);
      return 0;
    }
    s->received.append(reinterpret_cast<const char*>(data), len);
    if (self(user).auto_consume_) nghttp2_session_consume(session, id, len);
    else s->unconsumed += len;
    return 0;
  }
  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_SETTINGS) self(user).settings_received_ = true;
    if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
      if (Stream* s = find(user, frame->hd.stream_id)) s->ended = true;
    return 0;
  }
  static int on_close(nghttp2_session*, int32_t id, uint32_t code, void* user) {
    if (Stream* s = find(user, id)) {
      s->closed = true;
      s->close_code = code;
    }
    return 0;
  }
  static ssize_t read_data(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                           nghttp2_data_source* source, void*) {
    Stream& s = *static_cast<Stream*>(source->ptr);
    const std::size_t n = std::min(length, s.to_send.size());
    if (n == 0 && !s.end_requested) return NGHTTP2_ERR_DEFERRED;
    std::memcpy(buf, s.to_send.data(), n);
    s.to_send.erase(0, n);
    if (s.to_send.empty() && s.end_requested) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  bool auto_consume_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  nghttp2_session* session_ = nullptr;
  std::map<int32_t, std::unique_ptr<Stream>> streams_;
  bool settings_received_ = false;
  bool broken_ = false;
};

}  // namespace fwdtest
