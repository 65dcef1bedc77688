// The TLS side of an L7 listener: one OpenSSL context per configured certificate (through
// Boost.Asio's ssl::context), chosen per handshake by the client's server name (SNI),
// TLS 1.2/1.3 only, ALPN, and session resumption (tickets and the server's session
// cache). Built once per load of the configuration; a reload builds a new one, which new
// handshakes use while connections already open keep theirs.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "forward/settings.hpp"

namespace meridian::forward {

class ServerTls {
 public:
  // Reads every certificate chain and key of s. On failure returns nullptr, with the index
  // of the certificate at fault, the key ("cert" or "key") and why in the out parameters.
  static std::shared_ptr<ServerTls> load(const ServerTlsSettings& s, std::size_t& failed_index,
                                         std::string& failed_key, std::string& error);
  ~ServerTls();
  ServerTls(const ServerTls&) = delete;
  ServerTls& operator=(const ServerTls&) = delete;

  // The context a handshake starts with (the first certificate's); the server-name
  // callback moves the connection to the context of the certificate that covers the name.
  boost::asio::ssl::context& context() const { return *certificates_.front().context; }
  // The protocols offered by ALPN, in order of preference.
  const std::vector<std::string>& alpn() const { return alpn_; }
  // Index of the certificate a handshake for `server_name` gets (the first that covers
  // it, else the first): what the server-name callback applies, for tests.
  std::size_t certificate_for(const char* server_name) const;

 private:
  ServerTls() = default;
  struct Certificate {
    std::unique_ptr<boost::asio::ssl::context> context;
  };
  static int on_server_name(SSL* ssl, int* alert, void* self);
  static int on_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_length, const unsigned char* in,
                     unsigned in_length, void* self);

  std::vector<Certificate> certificates_;
  std::vector<std::string> alpn_;
  std::string alpn_wire_;  // alpn_ as ALPN's wire format (length-prefixed names)
};

}  // namespace meridian::forward
