// TLS termination on the L7 listener: real clients (curl --http1.1, a Boost.Asio/OpenSSL
// client) against certificates of a CA made at test time with openssl. SNI picks the
// certificate, TLS 1.2/1.3 only (and min_version), ALPN, session resumption,
// X-Forwarded-Proto: https, load errors at the certificate's key, and, with the real
// binary, a certificate replaced on disk taken by new handshakes while an open
// keep-alive connection goes on.
#include <doctest/doctest.h>

#include <filesystem>

#include "forward_support/backends.hpp"
#include "forward_support/tls.hpp"
#include "health/health_table.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;
namespace mb = meridian::test::backends;

namespace {

// A PKI with www.example.test and api.example.test (one certificate each, neither
// covering the other's name) and *.wild.example.test.
struct Pki {
  TestPki pki;
  std::string www = pki.issue("www", {"www.example.test"});
  std::string api = pki.issue("api", {"api.example.test"});
  std::string wild = pki.issue("wild", {"*.wild.example.test"});
  static std::string key_of(const std::string& cert) { return cert.substr(0, cert.size() - 4) + ".key"; }
  json certificates() const {
    json list = json::array();
    for (const auto* c : {&www, &api, &wild}) list.push_back({{"cert", *c}, {"key", key_of(*c)}});
    return list;
  }
};

json tls_region(HttpBackend& b, const json& tls) {
  return {{"backends", backend_list({&b})},
          {"forward", {{"l7", {{"listen", "127.0.0.1:0"}, {"tls", tls}}}, {"outlier", {{"consecutive_failures", 0}}}}}};
}

// curl --http1.1 to https://NAME:PORT/ resolved to 127.0.0.1, verifying against the CA:
// "STATUS BODY" or curl's error.
std::string curl_https(uint16_t port, const std::string& name, const std::string& ca,
                       const std::vector<std::string>& extra = {}) {
  const std::string url = "https://" + name + ":" + std::to_string(port) + "/";
  std::vector<std::string> argv{"curl", "--http1.1", "-sS", "--max-time", "20", "--cacert", ca, "--resolve",
                                name + ":" + std::to_string(port) + ":127.0.0.1", "-w", " %{http_code}", url};
  argv.insert(argv.begin() + 1, extra.begin(), extra.end());
  const auto r = meridian::test::run_command(argv);
  return r.exit_code == 0 ? r.out : "curl exit " + std::to_string(r.exit_code) + ": " + r.err;
}

std::string alpn_wire(std::initializer_list<std::string> names) {
  std::string w;
  for (const auto& n : names) w += static_cast<char>(n.size()) + n;
  return w;
}

}  // namespace

TEST_CASE("TLS termination: SNI chooses the certificate, curl verifies it, the backend sees https") {
  Pki p;
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a");
  tier.apply(services(tls_region(a, {{"certificates", p.certificates()}})));
  const uint16_t port = port_of(tier, "l7");

  // curl verifies the name against the certificate it got: each name only passes with its own
  CHECK(curl_https(port, "www.example.test", p.pki.ca()) == "a 200");
  CHECK(curl_https(port, "api.example.test", p.pki.ca()) == "a 200");
  CHECK(curl_https(port, "x.wild.example.test", p.pki.ca()) == "a 200");
  REQUIRE(a.last());
  CHECK(a.last()->at("X-Forwarded-Proto") == "https");
  CHECK(a.last()->at("X-Forwarded-For") == "127.0.0.1");

  for (const std::string name : {"www.example.test", "api.example.test", "x.wild.example.test"}) {
    TlsClient c(port, name, p.pki.ca());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(c.peer_common_name() == (name[0] == 'x' ? "*.wild.example.test" : name));
    // keep-alive: several requests on the one connection
    for (int i = 0; i < 3; ++i) CHECK(c.get("/").result_int() == 200);
  }
  // a name no certificate covers gets the first (and fails verification for that name)
  {
    TlsClient other(port, "other.example.test", p.pki.ca());
    CHECK_FALSE(other.handshake());
  }
  // the server counts the failure when it reads the client's alert (on its own thread)
  const auto tls_status = [&] { return tier.status()["listeners"][0]["tls"]; };
  CHECK(wait_until([&] { return tls_status()["handshake_failures"].get<int>() >= 1; }));
  CHECK(tls_status()["handshakes"].get<int>() >= 6);
}

TEST_CASE("TLS versions: 1.2 and 1.3 accepted, 1.1 refused; min_version 1.3 refuses 1.2") {
  Pki p;
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a");
  tier.apply(services(tls_region(a, {{"certificates", p.certificates()}})));
  const uint16_t port = port_of(tier, "l7");

  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    TlsClient c(port, "www.example.test", p.pki.ca());
    c.versions(v, v);
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(c.version() == v);
    CHECK(c.get("/").result_int() == 200);
  }
  {
    TlsClient c(port, "www.example.test", p.pki.ca());
    c.security_level(0);  // else this OpenSSL would not even offer 1.1
    c.versions(TLS1_1_VERSION, TLS1_1_VERSION);
    CHECK_FALSE(c.handshake());
    CHECK(c.error().find("version") != std::string::npos);  // the server's protocol_version alert
  }

  tier.apply(services(tls_region(a, {{"certificates", p.certificates()}, {"min_version", "1.3"}})));
  const uint16_t port13 = port_of(tier, "l7");
  {
    TlsClient c(port13, "www.example.test", p.pki.ca());
    c.versions(TLS1_2_VERSION, TLS1_2_VERSION);
    CHECK_FALSE(c.handshake());
  }
  {
    TlsClient c(port13, "www.example.test", p.pki.ca());
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(c.version() == TLS1_3_VERSION);
  }
  CHECK(curl_https(port13, "www.example.test", p.pki.ca(), {"--tlsv1.3"}) == "a 200");
  CHECK(curl_https(port13, "www.example.test", p.pki.ca(), {"--tls-max", "1.2"}).find("curl exit") == 0);
}

TEST_CASE("ALPN offers h2 and http/1.1 in the configured order, and sessions resume") {
  Pki p;
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a");
  tier.apply(services(tls_region(a, {{"certificates", p.certificates()}, {"alpn", {"h2", "http/1.1"}}})));
  const uint16_t port = port_of(tier, "l7");
  {
    TlsClient c(port, "www.example.test", p.pki.ca());
    c.alpn(alpn_wire({"h2", "http/1.1"}));
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(c.alpn_selected() == "h2");
  }
  {  // a client that speaks HTTP/1.1 only gets it
    TlsClient c(port, "www.example.test", p.pki.ca());
    c.alpn(alpn_wire({"http/1.1"}));
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(c.alpn_selected() == "http/1.1");
    CHECK(c.get("/").result_int() == 200);
  }
  {  // a client that offers nothing we speak goes on without ALPN
    TlsClient c(port, "www.example.test", p.pki.ca());
    c.alpn(alpn_wire({"spdy/3"}));
    REQUIRE_MESSAGE(c.handshake(), c.error());
    CHECK(c.alpn_selected().empty());
    CHECK(c.get("/").result_int() == 200);
  }
  for (int v : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    SSL_SESSION* session = nullptr;
    {
      TlsClient c(port, "api.example.test", p.pki.ca());
      c.versions(v, v);
      REQUIRE_MESSAGE(c.handshake(), c.error());
      CHECK_FALSE(c.resumed());
      CHECK(c.get("/").result_int() == 200);  // TLS 1.3 tickets come after the handshake
      session = c.session();
      CHECK(c.close());  // and the server answers with its close_notify
    }
    REQUIRE(session);
    TlsClient again(port, "api.example.test", p.pki.ca());
    again.versions(v, v);
    again.resume(session);
    REQUIRE_MESSAGE(again.handshake(), again.error());
    CHECK_MESSAGE(again.resumed(), "TLS version " << std::hex << v);
    CHECK(again.peer_common_name() == "api.example.test");
    CHECK(again.get("/").result_int() == 200);
    SSL_SESSION_free(session);
  }
  CHECK(tier.status()["listeners"][0]["tls"]["resumed"].get<int>() >= 2);
  CHECK(tier.metrics().find("meridian_forward_tls_resumed_total{") != std::string::npos);
}

TEST_CASE("TLS settings: unreadable, broken or mismatched files are errors at their key") {
  Pki p;
  HttpBackend a("a");
  auto errors_of = [&](const json& tls) {
    meridian::forward::RegionForward out;
    std::map<std::string, std::string> errors;
    meridian::forward::parse_region(tls_region(a, tls), out, [&](const json::json_pointer& at, const std::string& m) {
      errors[at.to_string()] = m;
    });
    return errors;
  };
  const std::string at = "/forward/l7/tls/certificates/";
  auto e = errors_of({{"certificates", {{{"cert", p.pki.file("missing.pem")}, {"key", Pki::key_of(p.www)}}}}});
  CHECK(e[at + "0/cert"].find("cannot read") != std::string::npos);
  e = errors_of({{"certificates", {{{"cert", p.www}, {"key", p.pki.file("missing.key")}}}}});
  CHECK(e[at + "0/key"].find("cannot read") != std::string::npos);
  e = errors_of({{"certificates", {{{"cert", p.www}, {"key", Pki::key_of(p.www)}}, {{"cert", p.api}, {"key", Pki::key_of(p.www)}}}}});
  CHECK_MESSAGE(e[at + "1/key"].find("does not match") != std::string::npos, e[at + "1/key"]);
  e = errors_of({{"certificates", {{{"cert", p.pki.file("www.ext")}, {"key", Pki::key_of(p.www)}}}}});
  CHECK(e[at + "0/cert"].find("cannot load the certificate") != std::string::npos);
  e = errors_of({{"certificates", json::array()}});
  CHECK(e.count("/forward/l7/tls/certificates") == 1);
  e = errors_of({{"certificates", p.certificates()}, {"min_version", "1.1"}});
  CHECK(e.count("/forward/l7/tls/min_version") == 1);
  e = errors_of({{"certificates", p.certificates()}, {"alpn", {"spdy/3"}}});
  CHECK(e.count("/forward/l7/tls/alpn/0") == 1);
  CHECK(errors_of({{"certificates", p.certificates()}, {"alpn", {"http/1.1"}}, {"min_version", "1.2"}}).empty());
}

TEST_CASE("meridian: a certificate replaced on disk is taken by new handshakes; an open connection goes on") {
  Pki p;
  HttpBackend a("a");
  mb::Meridian m;
  const std::string certs = m.dir.path() + "/certs";
  std::filesystem::create_directories(certs);
  p.pki.issue("www", {"www.example.test"}, certs);
  const json l7 = {{"listen", "127.0.0.1:0"},
                   {"tls", {{"certificates", {{{"cert", "certs/www.pem"}, {"key", "certs/www.key"}}}}}}};
  const json region = {{"endpoints", json::array({"127.0.0.11"})}, {"backends", backend_list({&a})}, {"forward", {{"l7", l7}}}};
  const json services = {{"web",
                          {{"policy", "failover"},
                           {"order", json::array({"eu-west", "us-east"})},
                           {"regions", {{"eu-west", region}, {"us-east", {{"endpoints", json::array({"127.0.0.21"})}}}}}}}};
  REQUIRE_MESSAGE(m.start(mb::base_config(json::object(), services), {{"example.test.json", mb::standard_zone()}}),
                  m.error);
  const auto ports = l7_ports(m.log());
  REQUIRE_MESSAGE(ports.count("127.0.0.1") == 1, m.log());
  const uint16_t port = ports.at("127.0.0.1");

  TlsClient open(port, "www.example.test", p.pki.ca());
  REQUIRE_MESSAGE(open.handshake(), open.error());
  const std::string first = open.peer_serial();
  REQUIRE(open.get("/").result_int() == 200);

  // a renewed certificate (another serial), written beside and renamed over the old files
  const std::string staging = m.dir.path() + "/staging";
  std::filesystem::create_directories(staging);
  p.pki.issue("www", {"www.example.test"}, staging);
  std::filesystem::rename(staging + "/www.key", certs + "/www.key");
  std::filesystem::rename(staging + "/www.pem", certs + "/www.pem");

  std::string now;
  const bool renewed = mb::wait_for([&] {
    TlsClient c(port, "www.example.test", p.pki.ca());
    if (!c.handshake()) return false;
    now = c.peer_serial();
    return now != first;
  });
  CHECK_MESSAGE(renewed, m.log());
  // the connection opened before goes on, with the certificate it was handed
  for (int i = 0; i < 3; ++i) CHECK(open.get("/").result_int() == 200);
  CHECK(open.peer_serial() == first);
  CHECK(m.log_clean());
}
