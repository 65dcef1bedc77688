// The client side of TLS: toward an L7 tier's backends ("tls" of a backend) and for the
// https/h2 health probes. One OpenSSL context per peer, built when the configuration is
// loaded (a CA file that does not load is a load error), with the peer's name or IP
// address checked against its certificate when verification is on, SNI, and, for
// backends, the peer's last session kept so that a new pooled connection resumes.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "tls/client_tls_settings.hpp"

namespace meridian::tls {

// A TLS connection over a socket someone else owns (a pooled backend socket, a probe's).
using ClientTlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

class ClientTls {
 public:
  // peer_address: the IP address the certificate must cover when verifying without "sni".
  // nullptr with the reason in error when the CA file does not load.
  static std::shared_ptr<ClientTls> load(const ClientTlsSettings& settings, const std::string& peer_address,
                                         std::string& error);
  ~ClientTls();
  ClientTls(const ClientTls&) = delete;
  ClientTls& operator=(const ClientTls&) = delete;

  const ClientTlsSettings& settings() const { return settings_; }
  // Same settings, peer and CA file contents: a reload keeps the old one (its sessions).
  bool same_as(const ClientTls& other) const {
    return settings_ == other.settings_ && peer_address_ == other.peer_address_ && ca_bytes_ == other.ca_bytes_;
  }

  // A stream for a connected socket, with SNI and the cached session set: handshake next.
  std::unique_ptr<ClientTlsStream> stream(boost::asio::ip::tcp::socket& socket) const;
  // Why a handshake failed, as the probes and the tier report it: "tls handshake failed:
  // certificate verify failed (hostname mismatch)".
  static std::string handshake_error(const ClientTlsStream& stream, const boost::system::error_code& ec);

 private:
  ClientTls() : context_(boost::asio::ssl::context::tls_client) {}
  static int on_new_session(SSL* ssl, SSL_SESSION* session);

  ClientTlsSettings settings_;
  std::string peer_address_;
  std::string ca_bytes_;
  std::string alpn_wire_;
  mutable boost::asio::ssl::context context_;  // streams take it by reference
  mutable std::mutex session_mutex_;  // uncontended: one thread connects to a peer
  SSL_SESSION* session_ = nullptr;    // the last session the peer gave (TLS 1.3: its last ticket)
};

}  // namespace meridian::tls
