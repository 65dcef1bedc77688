// TLS toward backends on the L7 tier: a real HTTPS backend (Python's ssl) behind the
// proxy, with certificates of a CA made at test time. Verification on with the right CA
// (by server name, or by the backend's IP address) works; a wrong CA or a wrong name is a
// failed connect: 502, the backend counted failing with the handshake's reason; verify
// off works with any certificate; pooled reconnects resume the backend's session.
#include <doctest/doctest.h>

#include "forward_support/backends.hpp"
#include "forward_support/tls.hpp"
#include "forward_support/tls_peers.hpp"
#include "health/health_table.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;

namespace {

// One backend with this "tls", no retries to other backends (there are none) and no
// ejection, so each request meets the backend.
json tls_backend_region(const HttpsBackend& b, const json& tls, const json& limits = json::object()) {
  json l7 = {{"listen", "127.0.0.1:0"}, {"retry", {{"max_retries", 0}}}};
  if (!limits.empty()) l7["limits"] = limits;
  return {{"backends", json::array({{{"address", b.address()}, {"tls", tls}}})},
          {"forward", {{"l7", l7}, {"outlier", {{"consecutive_failures", 0}}}, {"circuit_breaker", {{"enabled", false}}}}}};
}

struct Pki {
  TestPki pki;
  std::string named = pki.issue("backend", {"backend.example.test"});
  std::string by_ip = pki.issue("by-ip", {"IP:127.0.0.1"});
  static std::string key_of(const std::string& cert) { return cert.substr(0, cert.size() - 4) + ".key"; }
};

}  // namespace

TEST_CASE("backend TLS: verify with the right CA and name works; wrong CA or name is a 502 and a failing backend") {
  Pki p;
  TestPki other;  // a CA the backend's certificate does not chain to
  HttpsBackend backend("b", p.named, Pki::key_of(p.named));
  meridian::health::HealthTable health;
  ForwardingTier tier(health);

  tier.apply(services(tls_backend_region(backend, {{"ca", p.pki.ca()}, {"sni", "backend.example.test"}})));
  {
    Client c(port_of(tier, "l7"));
    const auto res = c.get("/");
    CHECK(res.result_int() == 200);
    CHECK(res.body().rfind("b resumed=", 0) == 0);
    CHECK(backend_status(tier, backend.address())["failures"] == 0);
  }

  // the same certificate against another CA: the handshake fails, the proxy answers 502
  tier.apply(services(tls_backend_region(backend, {{"ca", other.ca()}, {"sni", "backend.example.test"}})));
  {
    Client c(port_of(tier, "l7"));
    CHECK(c.get("/").result_int() == 502);
    const json st = backend_status(tier, backend.address());
    CHECK(st["connect_failures"].get<int>() >= 1);
    CHECK(st["failures"].get<int>() >= 1);
    CHECK(st["last_error"].get<std::string>().find("tls handshake failed: certificate verify failed") !=
          std::string::npos);
  }

  // the right CA, but a name the certificate does not cover
  tier.apply(services(tls_backend_region(backend, {{"ca", p.pki.ca()}, {"sni", "other.example.test"}})));
  {
    Client c(port_of(tier, "l7"));
    const int failures_before = backend_status(tier, backend.address())["connect_failures"].get<int>();
    CHECK(c.get("/").result_int() == 502);
    const json st = backend_status(tier, backend.address());
    CHECK(st["connect_failures"].get<int>() == failures_before + 1);
    CHECK(st["last_error"].get<std::string>().find("hostname mismatch") != std::string::npos);
  }

  // without "sni" the backend's IP address must be in the certificate: this one names a host only
  tier.apply(services(tls_backend_region(backend, {{"ca", p.pki.ca()}})));
  {
    Client c(port_of(tier, "l7"));
    CHECK(c.get("/").result_int() == 502);
    CHECK(backend_status(tier, backend.address())["last_error"].get<std::string>().find("IP address mismatch") !=
          std::string::npos);
  }

  // verify off: any certificate (the wrong CA's, the wrong name) is accepted
  for (const json& tls : {json{{"verify", false}}, json{{"verify", false}, {"sni", "other.example.test"}}}) {
    tier.apply(services(tls_backend_region(backend, tls)));
    Client c(port_of(tier, "l7"));
    CHECK(c.get("/").result_int() == 200);
  }
}

TEST_CASE("backend TLS: a certificate for the backend's IP address verifies without sni") {
  Pki p;
  HttpsBackend backend("ip", p.by_ip, Pki::key_of(p.by_ip));
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(tls_backend_region(backend, {{"ca", p.pki.ca()}, {"min_version", "1.3"}})));
  Client c(port_of(tier, "l7"));
  const auto res = c.get("/");
  CHECK(res.result_int() == 200);
  CHECK(res.body().rfind("ip resumed=", 0) == 0);
}

TEST_CASE("backend TLS: a plain HTTP backend behind \"tls\": true fails the handshake; new connections resume the session") {
  Pki p;
  HttpsBackend backend("b", p.named, Pki::key_of(p.named));
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  // pool_size 0: every request opens a new connection to the backend, each after the first resumes
  tier.apply(services(tls_backend_region(backend, {{"ca", p.pki.ca()}, {"sni", "backend.example.test"}},
                                         {{"pool_size", 0}})));
  Client c(port_of(tier, "l7"));
  std::vector<std::string> bodies;
  for (int i = 0; i < 4; ++i) {
    const auto res = c.get("/");
    CHECK(res.result_int() == 200);
    bodies.push_back(res.body());
  }
  CHECK(bodies[0] == "b resumed=0");
  CHECK(bodies[1] == "b resumed=1");
  CHECK(bodies[2] == "b resumed=1");
  CHECK(bodies[3] == "b resumed=1");
  const json counted = backend_status(tier, backend.address())["tls"];
  CHECK(counted["handshakes"] == 4);
  CHECK(counted["resumed"] == 3);
  CHECK(counted["handshake_failures"] == 0);

  HttpBackend plain("plain");
  json region = {{"backends", json::array({{{"address", plain.address()}, {"tls", true}}})},
                 {"forward", {{"l7", {{"listen", "127.0.0.1:0"}, {"retry", {{"max_retries", 0}}}}},
                              {"outlier", {{"consecutive_failures", 0}}}}}};
  tier.apply(services(region));
  Client plain_client(port_of(tier, "l7"));
  CHECK(plain_client.get("/").result_int() == 502);
  CHECK(backend_status(tier, plain.address())["last_error"].get<std::string>().find("tls handshake failed") !=
        std::string::npos);
  CHECK(backend_status(tier, plain.address())["tls"]["handshake_failures"] == 1);
  CHECK(backend_status(tier, plain.address())["tls"]["handshakes"] == 0);
}

TEST_CASE("backend TLS: a WebSocket upgrade goes to a TLS backend over TLS, never in clear text") {
  // Until WebSocket relays spoke TLS, upgrades skipped TLS backends (502 with none else); now
  // the upgrade goes through the handshake like any request. This backend is no WebSocket
  // server: it answers the upgrade 200 over TLS, which the client gets (the WebSocket echo
  // through a TLS backend is in forward_websocket_test).
  Pki p;
  HttpsBackend backend("ws", p.by_ip, Pki::key_of(p.by_ip));
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  tier.apply(services(tls_backend_region(backend, {{"ca", p.pki.ca()}})));
  Client c(port_of(tier, "l7"));
  const auto res = c.get("/chat", {{"Connection", "Upgrade"},
                                   {"Upgrade", "websocket"},
                                   {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                                   {"Sec-WebSocket-Version", "13"}});
  CHECK(res.result_int() == 200);
  CHECK(res.body().rfind("ws resumed=", 0) == 0);  // the TLS server's answer
  CHECK(backend_status(tier, backend.address())["requests"] == 1);
  CHECK(backend_status(tier, backend.address())["connect_failures"] == 0);
  // plain requests still go to it over TLS
  Client again(port_of(tier, "l7"));
  CHECK(again.get("/").result_int() == 200);
}
