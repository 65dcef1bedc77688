// TLS passthrough by SNI on the L4 listener: two TLS backends with certificates of their
// own; real clients (openssl s_client, curl, an OpenSSL client) connect with a server name
// and must see the certificate of the backend the name maps to (the tier holds no
// certificate: the TLS session is end to end), "*" takes the rest and clients without SNI,
// no match without "*" is closed, and garbage or silent clients are closed (garbage at
// once, silence within connect_timeout) without reaching a backend.
#include <doctest/doctest.h>

#include <atomic>

#include <boost/asio/ssl.hpp>

#include "forward_support/backends.hpp"
#include "forward_support/tls.hpp"
#include "health/health_table.hpp"
#include "integration/harness/process.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;
namespace ssl = boost::asio::ssl;

namespace {

ssl::context server_context(const std::string& cert) {
  ssl::context ctx(ssl::context::tls_server);
  ctx.use_certificate_chain_file(cert);
  ctx.use_private_key_file(cert.substr(0, cert.size() - 4) + ".key", ssl::context::pem);
  return ctx;
}

// A TLS server with its own certificate: completes the handshake, reads one HTTP request
// and answers 200 with its name as the body.
class TlsBackend {
 public:
  TlsBackend(std::string name, const std::string& cert)
      : name_(std::move(name)), ctx_(server_context(cert)), server_([this](tcp::socket& s) { serve(s); }) {}
  std::string address() const { return server_.address(); }
  int handshakes() const { return handshakes_; }

 private:
  void serve(tcp::socket& s) {
    ssl::stream<tcp::socket&> tls(s, ctx_);
    boost::system::error_code ec;
    tls.handshake(ssl::stream_base::server, ec);
    if (ec) return;
    ++handshakes_;
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::read(tls, buf, req, ec);
    if (ec) return;
    http::response<http::string_body> res{http::status::ok, 11};
    res.body() = name_;
    res.keep_alive(false);
    res.prepare_payload();
    http::write(tls, res, ec);
    tls.shutdown(ec);
  }
  std::string name_;
  ssl::context ctx_;
  std::atomic<int> handshakes_{0};
  Server server_;
};

struct Setup {
  TestPki pki;
  std::string www_cert = pki.issue("www", {"www.example.test", "api.wild.example.test"});
  std::string other_cert = pki.issue("other", {"other.example.test"});
  TlsBackend web{"web", www_cert};
  TlsBackend other{"other", other_cert};

  json region(const json& sni) const {
    return {{"backends",
             {{{"address", web.address()}, {"group", "web"}}, {{"address", other.address()}, {"group", "fallback"}}}},
            {"forward",
             {{"l4", {{"listen", "127.0.0.1:0"}, {"sni", sni}, {"connect_timeout", "2s"}}},
              {"outlier", {{"consecutive_failures", 0}}}}}};
  }
};

// curl to https://NAME:PORT/ resolved to 127.0.0.1, verifying against the CA: its body, or
// "curl exit N".
std::string curl_https(uint16_t port, const std::string& name, const std::string& ca) {
  const std::string p = std::to_string(port);
  const auto r = meridian::test::run_command({"curl", "-sS", "--max-time", "20", "--cacert", ca, "--resolve",
                                              name + ":" + p + ":127.0.0.1", "https://" + name + ":" + p + "/"});
  return r.exit_code == 0 ? r.out : "curl exit " + std::to_string(r.exit_code);
}

// openssl s_client's report of the handshake (subject of the certificate, verification).
std::string s_client(uint16_t port, const std::vector<std::string>& extra, const std::string& ca) {
  std::vector<std::string> argv{"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-CAfile", ca,
                                "-verify_return_error", "-brief"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  // stdin is empty: s_client ends after the handshake
  const auto r = meridian::test::run_command(argv);
  return r.out + r.err;
}

uint64_t sni_refused(const ForwardingTier& tier, const std::string& reason) {
  return tier.status()["listeners"][0]["sni_refused"][reason].get<uint64_t>();
}

// Connects, sends `bytes` (maybe none), and waits for the proxy to close the connection:
// how long that took, or nullopt when it did not within 10 s.
std::optional<std::chrono::milliseconds> closed_after(uint16_t port, const std::string& bytes) {
  asio::io_context io;
  auto s = connect_raw(io, port, 10000);
  const auto start = std::chrono::steady_clock::now();
  boost::system::error_code ec;
  if (!bytes.empty()) asio::write(*s, asio::buffer(bytes), ec);
  char c;
  const std::size_t n = s->read_some(asio::buffer(&c, 1), ec);
  if (n != 0 || !(ec == asio::error::eof || ec == asio::error::connection_reset)) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace

TEST_CASE("SNI passthrough: the name picks the backend, whose certificate the client verifies") {
  Setup t;
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(t.region({{"www.example.test", "web"}, {"*.wild.example.test", "web"}, {"*", "fallback"}})));
  const uint16_t port = port_of(tier, "l4");
  REQUIRE(port != 0);

  // curl verifies the certificate against the name: only the right backend's passes
  CHECK(curl_https(port, "www.example.test", t.pki.ca()) == "web");
  CHECK(curl_https(port, "api.wild.example.test", t.pki.ca()) == "web");  // by *.wild.example.test
  CHECK(curl_https(port, "other.example.test", t.pki.ca()) == "other");   // by "*"

  // the certificate seen is the backend's own: the tier has none, the session is end to end
  for (const auto& [name, cn] : std::vector<std::pair<std::string, std::string>>{
           {"www.example.test", "www.example.test"}, {"other.example.test", "other.example.test"}}) {
    TlsClient c(port, name, t.pki.ca());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(c.peer_common_name() == cn);
    CHECK(c.get("/").body() == (cn == "www.example.test" ? "web" : "other"));
  }
  const std::string www = s_client(port, {"-servername", "www.example.test"}, t.pki.ca());
  CHECK(www.find("CN = www.example.test") != std::string::npos);
  CHECK(www.find("Verification: OK") != std::string::npos);
  // no SNI at all: "*"
  const std::string none = s_client(port, {"-noservername"}, t.pki.ca());
  CHECK(none.find("CN = other.example.test") != std::string::npos);
  CHECK(t.web.handshakes() >= 3);
  CHECK(t.other.handshakes() >= 3);
  CHECK(sni_refused(tier, "no_route") == 0);
}

TEST_CASE("SNI passthrough: no match and no \"*\" is closed; garbage at once, silence within connect_timeout") {
  Setup t;
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(t.region({{"www.example.test", "web"}})));
  const uint16_t port = port_of(tier, "l4");

  CHECK(curl_https(port, "www.example.test", t.pki.ca()) == "web");
  const int before = t.web.handshakes() + t.other.handshakes();
  CHECK(curl_https(port, "other.example.test", t.pki.ca()).rfind("curl exit", 0) == 0);
  CHECK(s_client(port, {"-noservername"}, t.pki.ca()).find("CN =") == std::string::npos);
  CHECK(sni_refused(tier, "no_route") == 2);

  // not TLS: closed at the first byte (well before the 2 s connect_timeout)
  const auto garbage = closed_after(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  REQUIRE(garbage);
  CHECK(*garbage < std::chrono::milliseconds(1500));
  // nothing, or half a ClientHello and then nothing: closed by the timeout
  const auto silent = closed_after(port, "");
  REQUIRE(silent);
  CHECK(*silent >= std::chrono::milliseconds(1900));
  const std::string half("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11);
  const auto partial = closed_after(port, half);
  REQUIRE(partial);
  CHECK(*partial >= std::chrono::milliseconds(1900));
  CHECK(sni_refused(tier, "invalid") == 1);
  CHECK(sni_refused(tier, "timeout") == 2);
  // none of them reached a backend
  CHECK(t.web.handshakes() + t.other.handshakes() == before);
  CHECK(tier.metrics().find("meridian_forward_tcp_sni_refused_total{") != std::string::npos);
}
