#include "forward/tls/server_tls.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace meridian::forward {

namespace ssl = boost::asio::ssl;

namespace {

// The same for every context of every listener: a session (ticket or cache entry) made
// under one certificate's context resumes under another's only if this matches.
const unsigned char kSessionIdContext[] = "meridian-l7";

// OpenSSL's reason for the last failure, else the error code's message.
std::string openssl_reason(const boost::system::error_code& ec) {
  const unsigned long e = ERR_peek_last_error();
  std::string why;
  if (e != 0) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    why = text;
  } else {
    why = ec.message();
  }
  ERR_clear_error();
  return why;
}

bool readable(const std::string& path, std::string& why) {
  std::ifstream f(path);
  if (f) return true;
  why = "cannot read " + path + ": " + std::strerror(errno);
  return false;
}

}  // namespace

ServerTls::~ServerTls() = default;

std::shared_ptr<ServerTls> ServerTls::load(const ServerTlsSettings& s, std::size_t& failed_index,
                                           std::string& failed_key, std::string& error) {
  std::shared_ptr<ServerTls> tls(new ServerTls);
  for (const auto& name : s.alpn) {
    tls->alpn_.push_back(name);
    tls->alpn_wire_.push_back(static_cast<char>(name.size()));
    tls->alpn_wire_ += name;
  }
  for (std::size_t i = 0; i < s.certificates.size(); ++i) {
    const auto& files = s.certificates[i];
    failed_index = i;
    auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = context->native_handle();
    boost::system::error_code ec;
    context->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                             ssl::context::single_dh_use,
                         ec);
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_min_proto_version(native, s.min_version);
    SSL_CTX_set_session_id_context(native, kSessionIdContext, sizeof kSessionIdContext - 1);
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
    failed_key = "cert";
    if (!readable(files.cert, error)) return nullptr;
    context->use_certificate_chain_file(files.cert, ec);
    if (ec) {
      error = "cannot load the certificate chain " + files.cert + ": " + openssl_reason(ec);
      return nullptr;
    }
    failed_key = "key";
    if (!readable(files.key, error)) return nullptr;
    context->use_private_key_file(files.key, ssl::context::pem, ec);
    // OpenSSL compares the key with the certificate as it loads it (Asio took its error off the queue)
    const bool mismatch = ec && ec.category() == boost::asio::error::get_ssl_category() &&
                          ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
    if (ec && !mismatch) {
      error = "cannot load the private key " + files.key + ": " + openssl_reason(ec);
      return nullptr;
    }
    if (mismatch || SSL_CTX_check_private_key(native) != 1) {
      error = "the private key " + files.key + " does not match the certificate " + files.cert + ": " +
              openssl_reason({});
      return nullptr;
    }
    SSL_CTX_set_tlsext_servername_callback(native, &ServerTls::on_server_name);
    SSL_CTX_set_tlsext_servername_arg(native, tls.get());
    SSL_CTX_set_alpn_select_cb(native, &ServerTls::on_alpn, tls.get());
    tls->certificates_.push_back({std::move(context)});
  }
  if (tls->certificates_.empty()) {
    failed_key.clear();
    error = "a TLS listener needs at least one certificate";
    return nullptr;
  }
  return tls;
}

std::size_t ServerTls::certificate_for(const char* server_name) const {
  if (!server_name || !*server_name) return 0;
  for (std::size_t i = 0; i < certificates_.size(); ++i) {
    X509* leaf = SSL_CTX_get0_certificate(certificates_[i].context->native_handle());
    if (leaf && X509_check_host(leaf, server_name, 0, 0, nullptr) == 1) return i;
  }
  return 0;
}

int ServerTls::on_server_name(SSL* ssl, int* /*alert*/, void* self) {
  const auto& tls = *static_cast<const ServerTls*>(self);
  const std::size_t i = tls.certificate_for(SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name));
  SSL_CTX* chosen = tls.certificates_[i].context->native_handle();
  if (SSL_get_SSL_CTX(ssl) != chosen) SSL_set_SSL_CTX(ssl, chosen);
  return SSL_TLSEXT_ERR_OK;  // no name, or none covered: the first certificate
}

int ServerTls::on_alpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                       unsigned in_length, void* self) {
  const auto& tls = *static_cast<const ServerTls*>(self);
  unsigned char* selected = nullptr;
  const auto* ours = reinterpret_cast<const unsigned char*>(tls.alpn_wire_.data());
  // Our order of preference; no protocol in common: go on without ALPN (as nginx does).
  if (SSL_select_next_proto(&selected, out_length, ours, static_cast<unsigned>(tls.alpn_wire_.size()), in,
                            in_length) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace meridian::forward
