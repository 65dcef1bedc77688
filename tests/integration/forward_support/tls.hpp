// TLS for the forwarding tier's tests: a throw-away certificate authority made at test
// time with the `openssl` tool (no key is committed), certificates it issues for given
// names, and a blocking TLS client (Boost.Asio over OpenSSL) that reports what the
// handshake chose and keeps its connection open across requests. Header-only.
#pragma once
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "integration/harness/http_backend.hpp"
#include "integration/harness/process.hpp"

namespace fwdtest {

// A CA (ca.pem, ca.key) in its own temp dir; issue() writes NAME.pem / NAME.key.
class TestPki {
 public:
  TestPki() {
    run({"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
         file("ca.key"), "-out", file("ca.pem"), "-days", "2", "-subj", "/CN=meridian test CA"});
  }
  const std::string& dir() const { return dir_.path(); }
  std::string file(const std::string& name) const { return dir_.file(name); }
  std::string ca() const { return file("ca.pem"); }

  // A leaf certificate for `names` (DNS names; the first is also its CN), signed by the CA.
  // Returns the certificate's path; the key is beside it (NAME.key). out_dir: where to
  // write them (default: the CA's folder).
  std::string issue(const std::string& name, const std::vector<std::string>& names, std::string out_dir = "") const {
    if (out_dir.empty()) out_dir = dir();
    const std::string cert = out_dir + "/" + name + ".pem", key = out_dir + "/" + name + ".key";
    const std::string csr = file(name + ".csr"), ext = file(name + ".ext");
    std::string san = "subjectAltName=";  // a name "IP:127.0.0.1" is an IP address
    for (std::size_t i = 0; i < names.size(); ++i)
      san += (i ? "," : "") + (names[i].rfind("IP:", 0) == 0 ? names[i] : "DNS:" + names[i]);
    dir_.write(name + ".ext", san + "\n");
    run({"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
         csr, "-subj", "/CN=" + names.front()});
    run({"openssl", "x509", "-req", "-in", csr, "-CA", ca(), "-CAkey", file("ca.key"), "-set_serial",
         std::to_string(++serial_), "-days", "2", "-extfile", ext, "-out", cert});
    return cert;
  }

 private:
  static void run(const std::vector<std::string>& argv) {
    const auto r = meridian::test::run_command(argv);
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.err);
  }
  meridian::test::TempDir dir_;
  mutable int serial_ = 1000;
};

// One TLS connection to 127.0.0.1:port, verified against `ca` for server_name (sent by
// SNI). Blocking, with socket timeouts so that a test cannot hang on it.
class TlsClient {
 public:
  using Response = boost::beast::http::response<boost::beast::http::string_body>;
  TlsClient(uint16_t port, const std::string& server_name, const std::string& ca,
            boost::asio::ssl::context::method method = boost::asio::ssl::context::tls_client)
      : context_(method), server_name_(server_name) {
    context_.load_verify_file(ca);
    context_.set_verify_mode(boost::asio::ssl::verify_peer);
    stream_ = std::make_unique<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>>(io_, context_);
    stream_->set_verify_callback(boost::asio::ssl::host_name_verification(server_name));
    SSL_set_tlsext_host_name(stream_->native_handle(), server_name.c_str());
    boost::system::error_code ec;
    stream_->next_layer().connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) throw std::runtime_error("connect: " + ec.message());
    meridian::test::set_timeouts(stream_->next_layer().native_handle(), 20000);
  }
  // TLS versions this client offers (e.g. TLS1_VERSION..TLS1_1_VERSION to try an old one).
  void versions(int min, int max) {
    SSL_set_min_proto_version(stream_->native_handle(), min);
    SSL_set_max_proto_version(stream_->native_handle(), max);
  }
  void security_level(int level) { SSL_set_security_level(stream_->native_handle(), level); }
  void alpn(const std::string& wire) {
    SSL_set_alpn_protos(stream_->native_handle(), reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  void resume(SSL_SESSION* s) { SSL_set_session(stream_->native_handle(), s); }
  // false with the error in error() when the handshake failed.
  bool handshake() {
    boost::system::error_code ec;
    stream_->handshake(boost::asio::ssl::stream_base::client, ec);
    error_ = ec ? ec.message() : "";
    return !ec;
  }
  const std::string& error() const { return error_; }
  // The CN of the certificate the server presented.
  std::string peer_common_name() const {
    X509* cert = SSL_get0_peer_certificate(stream_->native_handle());
    if (!cert) return "";
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    return cn;
  }
  // The serial number of that certificate, in hex.
  std::string peer_serial() const {
    X509* cert = SSL_get0_peer_certificate(stream_->native_handle());
    if (!cert) return "";
    BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
    char* hex = BN_bn2hex(bn);
    std::string out = hex;
    OPENSSL_free(hex);
    BN_free(bn);
    return out;
  }
  std::string alpn_selected() const {
    const unsigned char* p = nullptr;
    unsigned n = 0;
    SSL_get0_alpn_selected(stream_->native_handle(), &p, &n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  int version() const { return SSL_version(stream_->native_handle()); }
  bool resumed() const { return SSL_session_reused(stream_->native_handle()) == 1; }
  // Sends close_notify and waits for the server's: a session is only resumable after a
  // clean close (OpenSSL marks the session of a connection freed without one not resumable).
  bool close() {
    boost::system::error_code ec;
    stream_->shutdown(ec);
    return !ec || ec == boost::asio::error::eof;
  }
  // The session to resume later (owned by the caller: SSL_SESSION_free).
  SSL_SESSION* session() const { return SSL_get1_session(stream_->native_handle()); }

  // A keep-alive GET on this connection; status 0 when the connection failed.
  Response get(const std::string& target) {
    namespace http = boost::beast::http;
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, server_name_);
    boost::system::error_code ec;
    http::write(*stream_, req, ec);
    Response res;
    if (!ec) http::read(*stream_, buffer_, res, ec);
    if (ec) res.result(static_cast<http::status>(0));
    return res;
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ssl::context context_;
  std::string server_name_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> stream_;
  boost::beast::flat_buffer buffer_;
  std::string error_;
};

}  // namespace fwdtest
