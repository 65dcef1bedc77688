// The https, h2 and dns checks end to end, run by the real meridian binary against real
// servers on 127.0.0.1: an HTTPS backend (Python's ssl) whose CA file is replaced on disk
// (down with the handshake's reason, up again with the right one); nghttpd (Debian
// nghttp2-server) over TLS with ALPN h2 and over h2c; a second meridian answering the dns
// check (up on the expected answer, down on REFUSED, down when it stops answering). The
// reasons are those /status shows.
#include <doctest/doctest.h>

#include "forward_support/tls.hpp"
#include "forward_support/tls_peers.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;
using fwdtest::HttpsBackend;
using fwdtest::Nghttpd;
using fwdtest::TestPki;

namespace {

// Short intervals; timeouts far above a loopback round trip under ASan on a loaded machine.
json fast_check(json c) {
  c.merge_patch({{"interval", "400ms"}, {"timeout", "350ms"}, {"rise", 1}, {"fall", 1}, {"jitter", 0}});
  return c;
}

// A failover service over regions named r0, r1, ... (one endpoint each, `endpoint` or
// 127.0.0.11, .12, ...), each region checked by its own check through its backends (or its
// endpoint when it has none).
json service_of(const std::vector<std::pair<std::vector<std::string>, std::string>>& regions,
                const std::string& endpoint = "") {
  json order = json::array(), list = json::object();
  for (std::size_t i = 0; i < regions.size(); ++i) {
    const std::string name = "r" + std::to_string(i);
    order.push_back(name);
    list[name] = region({endpoint.empty() ? "127.0.0." + std::to_string(11 + i) : endpoint}, regions[i].first,
                        regions[i].second);
  }
  return {{"policy", "failover"}, {"ttl", 300}, {"failover_ttl", 30}, {"order", order}, {"regions", list}};
}

json entry(const Meridian& m, const std::string& key) {
  const json s = m.status();
  if (!s.is_object() || !s.contains("health") || !s["health"].contains(key)) return json::object();
  return s["health"][key];
}

// Waits until the check of `key` reports `state` with a reason containing `reason`.
bool wait_check(const Meridian& m, const std::string& key, const std::string& state, const std::string& reason) {
  return wait_for([&] {
    const json e = entry(m, key);
    return e.value("state", "") == state && e.value("source", "") == "check" &&
           e.value("reason", "").find(reason) != std::string::npos;
  });
}

std::string backend_key(const std::string& region, const std::string& address) {
  return "web/" + region + "/backend/" + address;
}

std::string key_of(const std::string& cert) { return cert.substr(0, cert.size() - 4) + ".key"; }

}  // namespace

TEST_CASE("https check: up with the right CA, down with the handshake's reason when the CA file is replaced") {
  TestPki pki, other;
  const std::string cert = pki.issue("backend", {"backend.example.test"});
  HttpsBackend backend("b", cert, key_of(cert));
  Meridian m;
  const std::string ca = m.dir.write("ca.pem", read_file(pki.ca()));
  const json checks = {
      {"https-named", fast_check({{"type", "https"}, {"sni", "backend.example.test"}, {"ca", "ca.pem"}, {"path", "/"}})},
      {"https-wrong-name", fast_check({{"type", "https"}, {"sni", "other.example.test"}, {"ca", "ca.pem"}})},
      {"https-no-verify", fast_check({{"type", "https"}, {"verify", false}})},
      // a body delimited by the close, the server closing without close_notify (Python's ssl
      // does not send it): the response is whole, as browsers and curl take it
      {"https-eof", fast_check({{"type", "https"}, {"verify", false}, {"path", "/eof"}, {"body", "up to the close"}})}};
  const json services = {{"web", service_of({{{backend.address()}, "https-named"},
                                             {{backend.address()}, "https-wrong-name"},
                                             {{backend.address()}, "https-no-verify"},
                                             {{backend.address()}, "https-eof"}})}};
  REQUIRE_MESSAGE(m.start(base_config(checks, services), {{"example.test.json", standard_zone()}}), m.error);

  CHECK(wait_check(m, backend_key("r0", backend.address()), "up", "HTTP status 200"));
  CHECK(wait_check(m, backend_key("r1", backend.address()), "down",
                   "tls handshake failed: certificate verify failed (hostname mismatch)"));
  CHECK(wait_check(m, backend_key("r2", backend.address()), "up", "HTTP status 200"));
  CHECK(wait_check(m, backend_key("r3", backend.address()), "up", "HTTP status 200"));

  // another CA in the file: the next attempts fail verification
  write_atomic(ca, read_file(other.ca()));
  CHECK(wait_check(m, backend_key("r0", backend.address()), "down",
                   "tls handshake failed: certificate verify failed (unable to get local issuer certificate)"));
  CHECK(entry(m, backend_key("r2", backend.address())).value("state", "") == "up");
  write_atomic(ca, read_file(pki.ca()));
  CHECK(wait_check(m, backend_key("r0", backend.address()), "up", "HTTP status 200"));

  backend.stop();
  CHECK(wait_check(m, backend_key("r0", backend.address()), "down", "connect: Connection refused"));
  CHECK(m.log_clean());
}

TEST_CASE("h2 check: nghttpd over TLS (ALPN h2) and h2c; a server without h2 fails") {
  TestPki pki;
  const std::string cert = pki.issue("h2", {"h2.example.test"});
  Nghttpd tls_server(cert, key_of(cert));
  Nghttpd h2c_server("", "");
  HttpsBackend http1_only("h1", cert, key_of(cert));
  Meridian m;
  const json checks = {
      {"h2-tls", fast_check({{"type", "h2"}, {"sni", "h2.example.test"}, {"ca", pki.ca()}, {"path", "/health"},
                             {"body", "ok"}})},
      {"h2-missing", fast_check({{"type", "h2"}, {"sni", "h2.example.test"}, {"ca", pki.ca()}, {"path", "/nothing"}})},
      {"h2c", fast_check({{"type", "h2"}, {"tls", false}, {"path", "/health"}})}};
  const json services = {{"web", service_of({{{tls_server.address()}, "h2-tls"},
                                             {{tls_server.address()}, "h2-missing"},
                                             {{h2c_server.address()}, "h2c"},
                                             {{http1_only.address()}, "h2-tls"}})}};
  REQUIRE_MESSAGE(m.start(base_config(checks, services), {{"example.test.json", standard_zone()}}), m.error);

  CHECK(wait_check(m, backend_key("r0", tls_server.address()), "up", "HTTP/2 status 200"));
  CHECK(wait_check(m, backend_key("r1", tls_server.address()), "down", "HTTP/2 status 404"));
  CHECK(wait_check(m, backend_key("r2", h2c_server.address()), "up", "HTTP/2 status 200"));
  CHECK(wait_check(m, backend_key("r3", http1_only.address()), "down", "ALPN: the server did not select h2"));

  h2c_server.stop();
  CHECK(wait_check(m, backend_key("r2", h2c_server.address()), "down", "connect: Connection refused"));
  CHECK(m.log_clean());
}

TEST_CASE("dns check: a meridian checks its peer; REFUSED and silence are down") {
  Meridian peer;
  // "big" has 120 addresses: over 1,232 bytes, so over UDP the answer is truncated (TC)
  json peer_zone = static_zone();
  json big = json::array();
  for (int i = 1; i <= 120; ++i) big.push_back("198.51.100." + std::to_string(i));
  peer_zone["records"]["big"] = {{"A", big}};
  REQUIRE_MESSAGE(peer.start(static_dns_config(json::object()), {{"example.test.json", peer_zone}}), peer.error);
  Meridian m;
  const auto dns_check = [&](json c) {
    c.merge_patch({{"type", "dns"}, {"port", peer.dns.port}});
    return fast_check(c);
  };
  const json checks = {
      {"dns-udp", dns_check({{"qname", "www.example.test"}, {"expect_answer", {"192.0.2.80"}}})},
      {"dns-tcp", dns_check({{"qname", "www.example.test"}, {"qtype", "A"}, {"transport", "tcp"}})},
      {"dns-wrong-answer", dns_check({{"qname", "www.example.test"}, {"expect_answer", {"192.0.2.99"}}})},
      {"dns-nxdomain", dns_check({{"qname", "nothing.example.test"}, {"expect_rcode", "NXDOMAIN"}})},
      {"dns-refused", dns_check({{"qname", "www.not-served.test"}})},
      {"dns-truncated", dns_check({{"qname", "big.example.test"}, {"expect_answer", {"198.51.100.120"}}})}};
  const json services = {{"web", service_of({{{}, "dns-udp"}, {{}, "dns-tcp"}, {{}, "dns-wrong-answer"},
                                             {{}, "dns-nxdomain"}, {{}, "dns-refused"}, {{}, "dns-truncated"}},
                                            "127.0.0.1")}};  // the peer's address
  REQUIRE_MESSAGE(m.start(base_config(checks, services), {{"example.test.json", standard_zone()}}), m.error);
  const auto key = [](int i) { return "web/r" + std::to_string(i) + "/127.0.0.1"; };

  CHECK(wait_check(m, key(0), "up", "rcode NOERROR, 1 answers"));
  CHECK(wait_check(m, key(1), "up", "rcode NOERROR"));
  CHECK(wait_check(m, key(2), "down", "answer lacks 192.0.2.99"));
  CHECK(wait_check(m, key(3), "up", "rcode NXDOMAIN"));
  CHECK(wait_check(m, key(4), "down", "rcode REFUSED"));
  CHECK(wait_check(m, key(5), "up", "rcode NOERROR, 120 answers (over TCP: truncated over UDP)"));

  peer.process.stop();
  // UDP: the port is closed (ICMP) or the query goes unanswered; TCP: refused
  CHECK(wait_for([&] {
    const std::string r = entry(m, key(0)).value("reason", "");
    return entry(m, key(0)).value("state", "") == "down" &&
           (r.find("Connection refused") != std::string::npos || r.find("timeout after 350ms") != std::string::npos);
  }));
  CHECK(wait_check(m, key(1), "down", "connect: Connection refused"));
  CHECK(m.log_clean());
}
