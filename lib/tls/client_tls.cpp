#include "tls/client_tls.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <boost/asio/ip/address.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace meridian::tls {

namespace ssl = boost::asio::ssl;

namespace {

bool read_file(const std::string& path, std::string& bytes, std::string& why) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    why = "cannot read " + path + ": " + std::strerror(errno);
    return false;
  }
  bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

// Where a context keeps its ClientTls for on_new_session (not app data: Asio's context
// owns that slot and deletes what it finds there).
int self_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

std::string last_openssl_error() {
  const unsigned long e = ERR_peek_last_error();
  std::string why = "no reason given";
  if (e != 0) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    why = text;
  }
  ERR_clear_error();
  return why;
}

}  // namespace

std::shared_ptr<ClientTls> ClientTls::load(const ClientTlsSettings& s, const std::string& peer_address,
                                           std::string& error) {
  std::shared_ptr<ClientTls> tls(new ClientTls);
  tls->settings_ = s;
  tls->peer_address_ = peer_address;
  SSL_CTX* native = tls->context_.native_handle();
  SSL_CTX_set_min_proto_version(native, s.min_version);
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (s.verify) {
    if (!s.ca.empty()) {
      if (!read_file(s.ca, tls->ca_bytes_, error)) return nullptr;
      if (SSL_CTX_load_verify_locations(native, s.ca.c_str(), nullptr) != 1) {
        error = "cannot load the CA file " + s.ca + ": " + last_openssl_error();
        return nullptr;
      }
    } else if (SSL_CTX_set_default_verify_paths(native) != 1) {
      error = "cannot load the system's CA store: " + last_openssl_error();
      return nullptr;
    }
    SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr);
    // The name the certificate must be for: the server name when one is sent, else the
    // peer's IP address (an iPAddress subjectAltName).
    X509_VERIFY_PARAM* param = SSL_CTX_get0_param(native);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const bool ok = s.sni.empty() ? X509_VERIFY_PARAM_set1_ip_asc(param, peer_address.c_str()) == 1
                                  : X509_VERIFY_PARAM_set1_host(param, s.sni.c_str(), s.sni.size()) == 1;
    if (!ok) {
      error = "cannot verify against \"" + (s.sni.empty() ? peer_address : s.sni) + "\": " + last_openssl_error();
      return nullptr;
    }
  } else {
    SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr);
  }
  for (const auto& name : s.alpn) {
    tls->alpn_wire_.push_back(static_cast<char>(name.size()));
    tls->alpn_wire_ += name;
  }
  if (s.resume_sessions) {
    // OpenSSL hands each new session (TLS 1.3: each ticket, which arrives after the
    // handshake) to on_new_session; the internal cache is not used.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(native, &ClientTls::on_new_session);
    SSL_CTX_set_ex_data(native, self_index(), tls.get());
  } else {
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
  }
  return tls;
}

ClientTls::~ClientTls() {
  if (session_) SSL_SESSION_free(session_);
}

std::unique_ptr<ClientTlsStream> ClientTls::stream(boost::asio::ip::tcp::socket& socket) const {
  auto stream = std::make_unique<ClientTlsStream>(socket, context_);
  SSL* ssl = stream->native_handle();
  if (!settings_.sni.empty()) SSL_set_tlsext_host_name(ssl, settings_.sni.c_str());
  if (!alpn_wire_.empty())
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn_wire_.data()),
                        static_cast<unsigned>(alpn_wire_.size()));
  if (settings_.resume_sessions) {
    std::lock_guard lock(session_mutex_);
    if (session_) SSL_set_session(ssl, session_);
  }
  return stream;
}

int ClientTls::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<ClientTls*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), self_index()));
  if (!self) return 0;
  // A copy: when a connection is freed without a close_notify (as pooled backend connections
  // are), OpenSSL marks the session it holds not resumable.
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (!copy) return 0;
  std::lock_guard lock(self->session_mutex_);
  if (self->session_) SSL_SESSION_free(self->session_);
  self->session_ = copy;
  return 0;  // the connection's own reference stays OpenSSL's
}

std::string ClientTls::handshake_error(const ClientTlsStream& stream, const boost::system::error_code& ec) {
  std::string why = "tls handshake failed: ";
  if (ec.category() == boost::asio::error::get_ssl_category()) {
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(ec.value()));
    why += reason ? reason : ec.message();
  } else {
    why += ec.message();
  }
  SSL* ssl = const_cast<ClientTlsStream&>(stream).native_handle();
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    why += " (";
    why += X509_verify_cert_error_string(verify);
    why += ")";
  }
  ERR_clear_error();
  return why;
}

}  // namespace meridian::tls
