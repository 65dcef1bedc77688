// A WebSocket echo backend (Beast's WebSocket server) for the forwarding tier's tests, in
// clear text or TLS (a certificate and key given): greets with "hello from NAME", then
// echoes every message; a request that is not an upgrade gets 426. `close_after`: the
// backend closes the WebSocket after echoing that many messages. Header-only.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "integration/forward_support/backends.hpp"

namespace fwdtest {

class WsEchoBackend {
 public:
  explicit WsEchoBackend(std::string name, const std::string& cert = "", const std::string& key = "",
                         int close_after = -1)
      : name_(std::move(name)), close_after_(close_after), tls_(make_context(cert, key)),
        server_([this](tcp::socket& s) { accept(s); }) {}
  std::string address() const { return server_.address(); }
  int open() const { return open_; }
  int upgrades() const { return upgrades_; }
  http::request<http::string_body> last_request() const {
    std::lock_guard l(mutex_);
    return last_;
  }

 private:
  static std::unique_ptr<asio::ssl::context> make_context(const std::string& cert, const std::string& key) {
    if (cert.empty()) return nullptr;
    auto c = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    c->use_certificate_chain_file(cert);
    c->use_private_key_file(key, asio::ssl::context::pem);
    return c;
  }
  void accept(tcp::socket& s) {
    if (!tls_) return serve(s);
    asio::ssl::stream<tcp::socket&> stream(s, *tls_);
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) serve(stream);
  }
  template <class Stream>
  void serve(Stream& s) {
    namespace websocket = beast::websocket;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    boost::system::error_code ec;
    http::read(s, buf, req, ec);
    if (ec) return;
    {
      std::lock_guard l(mutex_);
      last_ = req;
    }
    if (!websocket::is_upgrade(req)) {
      http::response<http::string_body> res{http::status::upgrade_required, 11};
      res.body() = "upgrade required";
      res.prepare_payload();
      http::write(s, res, ec);
      return;
    }
    websocket::stream<Stream&> ws(s);
    ws.accept(req, ec);
    if (ec) return;
    ++upgrades_;
    ++open_;
    ws.text(true);
    ws.write(asio::buffer("hello from " + name_), ec);
    for (int echoed = 0; !ec; ++echoed) {
      if (echoed == close_after_) {
        ws.close(websocket::close_code::normal, ec);
        break;
      }
      beast::flat_buffer m;
      ws.read(m, ec);
      if (ec) break;
      ws.text(ws.got_text());
      ws.write(m.data(), ec);
    }
    --open_;
  }
  std::string name_;
  int close_after_;
  std::unique_ptr<asio::ssl::context> tls_;
  std::atomic<int> open_{0}, upgrades_{0};
  mutable std::mutex mutex_;
  http::request<http::string_body> last_;
  Server server_;
};

}  // namespace fwdtest
