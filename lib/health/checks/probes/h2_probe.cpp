#include "health/checks/probes/h2_probe.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include <nghttp2/nghttp2.h>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "health/checks/probes/connection_attempt.hpp"
#include "health/checks/probes/probe_tls.hpp"

namespace meridian::health {

namespace asio = boost::asio;

namespace {
constexpr std::size_t kBodyLimit = 64 * 1024;  // as the http probe's

// Points at name and value: both must outlive the submit (string literals and the
// caller's locals; a std::string parameter would make a literal a temporary that dies at
// the end of the full expression, before nghttp2 copies it).
nghttp2_nv header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

class H2Attempt final : public ConnectionAttempt {
 public:
  H2Attempt(asio::any_io_executor executor, const CheckConfig& config, Probe::Done done)
      : ConnectionAttempt(std::move(executor), config.timeout, std::move(done)), config_(config) {}
  ~H2Attempt() override {
    if (session_) nghttp2_session_del(session_);
  }

 private:
  void on_connected() override {
    if (!config_.tls) return start_session(socket_);
    std::string why;
    if (!tls_.open(config_, target_, socket_, {"h2"}, why)) return finish(false, why);
    tls_.stream->async_handshake(tls::ClientTlsStream::client, [self = self<H2Attempt>()](const boost::system::error_code& ec) {
      if (ec) return self->finish(false, tls::ClientTls::handshake_error(*self->tls_.stream, ec));
      const unsigned char* alpn = nullptr;
      unsigned length = 0;
      SSL_get0_alpn_selected(self->tls_.stream->native_handle(), &alpn, &length);
      if (std::string_view(reinterpret_cast<const char*>(alpn), length) != "h2")
        return self->finish(false, "ALPN: the server did not select h2");
      self->start_session(*self->tls_.stream);
    });
  }

  template <class Stream>
  void start_session(Stream& stream) {
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) return finish(false, "h2: out of memory");
    nghttp2_session_callbacks_set_on_header_callback(callbacks, &H2Attempt::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &H2Attempt::on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &H2Attempt::on_stream_close);
    const int made = nghttp2_session_client_new(&session_, callbacks, this);
    nghttp2_session_callbacks_del(callbacks);
    if (made != 0) return finish(false, std::string("h2: ") + nghttp2_strerror(made));
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
    const std::string method = "GET", scheme = config_.tls ? "https" : "http",
                      authority = config_.host.empty() ? target_.address().to_string() : config_.host;
    const std::array<nghttp2_nv, 5> headers{header(":method", method), header(":scheme", scheme),
                                            header(":authority", authority), header(":path", config_.path),
                                            header("user-agent", "meridian-check")};
    stream_id_ = nghttp2_submit_request(session_, nullptr, headers.data(), headers.size(), nullptr, nullptr);
    if (stream_id_ < 0) return finish(false, std::string("h2: ") + nghttp2_strerror(stream_id_));
    pump(stream);
  }

  // Sends what the session has to send, then reads; ends when the request's stream closed.
  template <class Stream>
  void pump(Stream& stream) {
    if (stream_closed_) return judge();
    output_.clear();
    for (;;) {
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) return finish(false, std::string("h2: ") + nghttp2_strerror(static_cast<int>(n)));
      if (n == 0) break;
      output_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (output_.empty()) return read(stream);
    asio::async_write(stream, asio::buffer(output_), [self = self<H2Attempt>(), &stream](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->finish(false, "send: " + ec.message());
      self->read(stream);
    });
  }

  template <class Stream>
  void read(Stream& stream) {
    stream.async_read_some(asio::buffer(input_), [self = self<H2Attempt>(), &stream](const boost::system::error_code& ec, std::size_t n) {
      if (ec) return self->finish(false, "read: " + ec.message());
      const ssize_t used = nghttp2_session_mem_recv(self->session_, self->input_.data(), n);
      if (used < 0) return self->finish(false, std::string("h2: ") + nghttp2_strerror(static_cast<int>(used)));
      self->pump(stream);
    });
  }

  void judge() {
    if (stream_error_ != NGHTTP2_NO_ERROR)
      return finish(false, std::string("h2 stream reset: ") + nghttp2_http2_strerror(stream_error_));
    if (status_ == 0) return finish(false, "h2: no :status in the response");
    const auto& expect = config_.expect;
    if (std::find(expect.begin(), expect.end(), status_) == expect.end())
      return finish(false, "HTTP/2 status " + std::to_string(status_));
    if (!config_.body_contains.empty() && body_.find(config_.body_contains) == std::string::npos)
      return finish(false, "body lacks \"" + config_.body_contains + "\"");
    finish(true, "HTTP/2 status " + std::to_string(status_));
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t name_length,
                       const uint8_t* value, size_t value_length, uint8_t, void* user) {
    auto* self = static_cast<H2Attempt*>(user);
    if (frame->hd.stream_id != self->stream_id_ || frame->hd.type != NGHTTP2_HEADERS) return 0;
    if (std::string_view(reinterpret_cast<const char*>(name), name_length) == ":status") {
      const std::string_view v(reinterpret_cast<const char*>(value), value_length);
      unsigned status = 0;
      for (const char ch : v) status = ch >= '0' && ch <= '9' ? status * 10 + unsigned(ch - '0') : 1000;
      if (status < 1000 && status >= 200) self->status_ = status;  // 1xx: an interim response
    }
    return 0;
  }

  static int on_data(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t length, void* user) {
    auto* self = static_cast<H2Attempt*>(user);
    if (stream_id == self->stream_id_ && self->body_.size() < kBodyLimit)
      self->body_.append(reinterpret_cast<const char*>(data), std::min(length, kBodyLimit - self->body_.size()));
    return 0;
  }

  static int on_stream_close(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
    auto* self = static_cast<H2Attempt*>(user);
    if (stream_id != self->stream_id_) return 0;
    self->stream_closed_ = true;
    self->stream_error_ = error_code;
    return 0;
  }

  const CheckConfig config_;  // a copy: the attempt may outlive its probe
  ProbeTls tls_;              // over socket_ unless the check says "tls": false
  nghttp2_session* session_ = nullptr;
  int32_t stream_id_ = -1;
  bool stream_closed_ = false;
  uint32_t stream_error_ = NGHTTP2_NO_ERROR;
  unsigned status_ = 0;
  std::string body_;
  std::string output_;
  std::array<uint8_t, 16384> input_{};
};
}  // namespace

std::unique_ptr<Probe> make_h2_probe(asio::any_io_executor executor, const CheckConfig& config) {
  return std::make_unique<ConnectionProbe<H2Attempt>>(std::move(executor), config);
}

}  // namespace meridian::health
