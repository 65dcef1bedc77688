// The forwarding tier's configuration schema: defaults and errors at JSON pointers.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>

#include "forward/forwarding_tier.hpp"

using namespace meridian::forward;
using json = nlohmann::json;

namespace {

std::map<std::string, std::string> errors_of(const json& region) {
  std::map<std::string, std::string> out;
  validate_region(region, [&](const json::json_pointer& at, const std::string& m) { out[at.to_string()] = m; });
  return out;
}

}  // namespace

TEST_CASE("the design's example parses with production defaults") {
  const json region = json::parse(R"({
    "backends": [{"address": "127.0.0.1:9001", "weight": 2}, {"address": "127.0.0.1:9002"}, "[::1]:9003"],
    "forward": {"l4": {"listen": "127.0.0.11:7000"},
                "l7": {"listen": "127.0.0.11:8080", "balance": "least_conn"}}})");
  RegionForward f;
  CHECK(parse_region(region, f, nullptr));
  REQUIRE(f.backends.size() == 3);
  CHECK(f.backends[0].weight == 2);
  CHECK(f.backends[1].weight == 1);
  CHECK(f.backends[2].host == "::1");
  CHECK(f.backends[2].group == "default");
  REQUIRE(f.l7);
  CHECK(f.l7->balance.algorithm == Algorithm::least_conn);
  CHECK(f.l7->retry.budget_ratio == doctest::Approx(0.2));
  CHECK(f.l7->retry.max_retries == 2);
  CHECK(f.l7->balance.vnodes == 160);
  CHECK_FALSE(f.l7->rate_limit.enabled);
  REQUIRE(f.l4);
  CHECK(f.l4->connect_attempts == 3);
  CHECK(f.l4->proxy_protocol == ProxyProtocol::off);
  CHECK(f.circuit.enabled);
  CHECK(f.outlier.consecutive_failures == 5);
  CHECK(backend_key("web", "eu-west", "127.0.0.1:9001") == "web/eu-west/backend/127.0.0.1:9001");
}

TEST_CASE("every section reads its keys") {
  const json region = json::parse(R"({
    "backends": [{"address": "127.0.0.1:9001", "group": "api", "max_connections": 10}, "127.0.0.1:9002"],
    "forward": {
      "circuit_breaker": {"window": "5s", "min_requests": 5, "failure_rate": 0.25, "open_timeout": "1s", "half_open_probes": 1},
      "outlier": {"consecutive_failures": 2, "base_ejection": "2s", "max_ejection": "20s", "max_ejection_percent": 100},
      "bulkhead": {"max_connections": 50},
      "drain_timeout": "1s",
      "l4": {"listen": "127.0.0.1:0", "proxy_protocol": "v2", "connect_timeout": "300ms", "idle_timeout": "1m"},
      "l7": {"listen": "127.0.0.1:0", "balance": "consistent_hash", "hash": {"key": "cookie:session", "vnodes": 100},
             "timeouts": {"connect": "1s", "header": "2s", "request": "5s", "backend": "3s", "keepalive": "4s"},
             "limits": {"max_header_bytes": 8192, "max_body_bytes": 1000, "max_pending": 7, "pool_size": 4},
             "routes": [{"host": "api.example.com", "path_prefix": "/v1", "group": "api"}],
             "retry": {"max_retries": 1, "backoff": {"base": "10ms", "cap": "100ms"},
                       "budget": {"ratio": 0.1, "window": "30s", "min_retries": 0}, "retry_after_cap": "1s"},
             "rate_limit": {"rate": 5, "burst": 10}}}})");
  RegionForward f;
  std::string errs;
  CHECK(parse_region(region, f, [&](const json::json_pointer& at, const std::string& m) { errs += at.to_string() + " " + m + "\n"; }));
  CHECK(errs == "");
  CHECK(f.backends[0].group == "api");
  CHECK(f.backends[0].max_connections == 10);
  CHECK(f.circuit.half_open_probes == 1);
  CHECK(f.outlier.max_ejection_percent == 100);
  CHECK(f.bulkhead.max_connections == 50);
  CHECK(f.l4->proxy_protocol == ProxyProtocol::v2);
  CHECK(f.l4->connect_timeout == Ms(300));
  CHECK(f.l7->balance.key.kind == HashKey::Kind::cookie);
  CHECK(f.l7->balance.key.name == "session");
  CHECK(f.l7->balance.vnodes == 100);
  CHECK(f.l7->keepalive_timeout == Ms(4000));
  CHECK(f.l7->max_pending == 7);
  REQUIRE(f.l7->routes.size() == 1);
  CHECK(f.l7->routes[0].group == "api");
  CHECK(f.l7->retry.backoff_cap == Ms(100));
  CHECK(f.l7->retry.budget_min_retries == 0);
  CHECK(f.l7->rate_limit.enabled);
  CHECK(f.l7->rate_limit.burst == 10);
}

TEST_CASE("mistakes are reported at the right pointer") {
  auto e = errors_of(json::parse(R"({
    "backends": ["127.0.0.1:9001", "127.0.0.1:9001", "nope", {"address": "127.0.0.1:1", "weight": -1}],
    "forward": {"l7": {"listen": "127.0.0.1", "balance": "fastest", "timeouts": {"header": "soon"},
                       "routes": [{"group": "missing", "path_prefix": "x"}], "bogus": 1,
                       "hash": {"key": "query:x"}, "retry": {"backoff": {"base": "1s", "cap": "10ms"}}},
                "l4": {"listen": "127.0.0.1:1", "proxy_protocol": "v3"},
                "circuit_breaker": {"failure_rate": 2}}})"));
  CHECK(e.count("/backends/1"));
  CHECK(e.count("/backends/2"));
  CHECK(e.count("/backends/3/weight"));
  CHECK(e.count("/forward/l7/listen"));
  CHECK(e.count("/forward/l7/balance"));
  CHECK(e.count("/forward/l7/timeouts/header"));
  CHECK(e.count("/forward/l7/routes/0/group"));
  CHECK(e.count("/forward/l7/routes/0/path_prefix"));
  CHECK(e.count("/forward/l7/bogus"));
  CHECK(e.count("/forward/l7/hash/key"));
  CHECK(e.count("/forward/l7/retry/backoff/cap"));
  CHECK(e.count("/forward/l4/proxy_protocol"));
  CHECK(e.count("/forward/circuit_breaker/failure_rate"));

  CHECK(errors_of(json::parse(R"({"forward": {"l7": {"listen": "127.0.0.1:1"}}})")).count("/forward"));
  CHECK(errors_of(json::parse(R"({"backends": ["127.0.0.1:2"], "forward": {}})")).count("/forward"));
  CHECK(errors_of(json::parse(R"({"backends": [], "forward": {"l4": {"listen": "127.0.0.1:1"}}})")).count("/backends"));
  CHECK(errors_of(json::parse(R"({"backends": ["127.0.0.1:2"]})")).empty());
}

TEST_CASE("wordings are the shared JSON reader's") {
  auto e = errors_of(json::parse(R"({
    "backends": [{"address": "127.0.0.1:9001", "wieght": 2}],
    "forward": {"l4": {"listen": "127.0.0.1:1"}, "circuit_breaker": {"failure_rate": 2}}})"));
  CHECK(e["/backends/0/wieght"] == "unknown key \"wieght\" (expected one of: address, weight, group, max_connections, tls, protocol, h2_max_sessions)");
  CHECK(e["/forward/circuit_breaker/failure_rate"] == "\"failure_rate\" must be a number from 0.01 to 1");
}

TEST_CASE("with backends already read, only \"forward\" is read from the region") {
  BackendSpec b;
  b.address = "127.0.0.1:9001";
  b.host = "127.0.0.1";
  b.port = 9001;
  b.group = "api";
  // "backends" is not re-read: its (here invalid) value would otherwise be an error.
  const json region = json::parse(R"({"backends": "read elsewhere",
    "forward": {"l7": {"listen": "127.0.0.1:1", "routes": [{"group": "api"}]}}})");
  std::string errors;
  RegionForward f;
  CHECK(parse_region(region, {b}, f, [&](const json::json_pointer& at, const std::string& m) {
    errors += at.to_string() + " " + m + "\n";
  }));
  CHECK(errors.empty());
  REQUIRE(f.backends.size() == 1);
  CHECK(f.backends[0].group == "api");
  // A route to a group no given backend is in is still an error.
  const json bad = json::parse(R"({"backends": [], "forward": {"l7": {"listen": "127.0.0.1:1", "routes": [{"group": "web"}]}}})");
  CHECK_FALSE(parse_region(bad, {b}, f, nullptr));
}

TEST_CASE("forward.l7.http2: defaults, keys, and mistakes at their pointer") {
  RegionForward f;
  REQUIRE(parse_region(json::parse(R"({"backends": ["127.0.0.1:9001"], "forward": {"l7": {"listen": "127.0.0.1:1"}}})"),
                       f, nullptr));
  CHECK(f.l7->http2.max_concurrent_streams == 100);
  CHECK(f.l7->http2.max_resets == 200);
  CHECK(f.l7->http2.max_control_frames == 1000);
  CHECK(f.l7->http2.flood_window == Ms(10000));
  RegionForward g;
  REQUIRE(parse_region(json::parse(R"({"backends": ["127.0.0.1:9001"], "forward": {"l7": {"listen": "127.0.0.1:1",
      "http2": {"max_concurrent_streams": 8, "max_resets": 50, "max_control_frames": 60, "flood_window": "2s"}}}})"),
                       g, nullptr));
  CHECK(g.l7->http2.max_concurrent_streams == 8);
  CHECK(g.l7->http2.max_resets == 50);
  CHECK(g.l7->http2.max_control_frames == 60);
  CHECK(g.l7->http2.flood_window == Ms(2000));
  const auto e = errors_of(json::parse(R"({"backends": ["127.0.0.1:9001"], "forward": {"l7": {"listen": "127.0.0.1:1",
      "http2": {"max_concurrent_streams": 0, "resets": 5}}}})"));
  CHECK(e.count("/forward/l7/http2/max_concurrent_streams"));
  CHECK(e.count("/forward/l7/http2/resets"));
}

TEST_CASE("a backend's tls: true, false or an object; its CA file is loaded when the settings are read") {
  const std::string missing = "/nonexistent/meridian-test-ca.pem";
  RegionForward f;
  REQUIRE(parse_region(json::parse(R"({
    "backends": [{"address": "127.0.0.1:9001", "tls": true}, {"address": "127.0.0.1:9002", "tls": false},
                 {"address": "127.0.0.1:9003", "tls": {"verify": false, "sni": "api.internal", "min_version": "1.3"}},
                 "127.0.0.1:9004"],
    "forward": {"l7": {"listen": "127.0.0.1:1"}}})"),
                       f, nullptr));
  CHECK(f.backend_tls.size() == 2);
  CHECK(f.backend_tls.count("127.0.0.1:9001"));
  CHECK(f.backend_tls.count("127.0.0.1:9003"));

  auto e = errors_of(json::parse(R"({
    "backends": [{"address": "127.0.0.1:9001", "tls": "yes"},
                 {"address": "127.0.0.1:9002", "tls": {"verfy": true}},
                 {"address": "127.0.0.1:9003", "tls": {"verify": false, "ca": "ca.pem"}},
                 {"address": "127.0.0.1:9004", "tls": {"ca": ")" + missing + R"("}},
                 {"address": "127.0.0.1:9005", "tls": {"min_version": "1.1", "sni": ""}}],
    "forward": {"l7": {"listen": "127.0.0.1:1"}}})"));
  CHECK(e["/backends/0/tls"] ==
        "\"tls\" is true, false or {\"verify\": BOOL, \"ca\": FILE, \"sni\": NAME, \"min_version\": \"1.2\"|\"1.3\"}");
  CHECK(e["/backends/1/tls/verfy"] == "unknown key \"verfy\" (expected one of: verify, ca, sni, min_version)");
  CHECK(e["/backends/2/tls/ca"] == "\"ca\" is used only with \"verify\": true");
  CHECK(e["/backends/3/tls/ca"] == "cannot read " + missing + ": No such file or directory");
  CHECK(e["/backends/4/tls/min_version"] == "\"min_version\" is \"1.2\" or \"1.3\"");
  CHECK(e["/backends/4/tls/sni"] == "\"sni\" is the server name to send and verify");
}

TEST_CASE("a backend's CA file that is not PEM is an error at its key; its files are watched") {
  const std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/meridian-not-a-ca-" +
                           std::to_string(::getpid()) + ".pem";
  {
    std::ofstream out(path);
    out << "not a certificate\n";
  }
  auto e = errors_of(json::parse(R"({"backends": [{"address": "127.0.0.1:9001", "tls": {"ca": ")" + path + R"("}}],
                                     "forward": {"l7": {"listen": "127.0.0.1:1"}}})"));
  CHECK(e["/backends/0/tls/ca"].rfind("cannot load the CA file " + path + ": ", 0) == 0);
  std::remove(path.c_str());

  // a real CA certificate (openssl, from scripts/deps.sh) loads, and is watched
  const std::string key = path + ".key";
  REQUIRE(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=ca -keyout " +
                       key + " -out " + path + " 2>/dev/null").c_str()) == 0);
  RegionForward f;
  std::string problems;
  CHECK(parse_region(json::parse(R"({"backends": [{"address": "127.0.0.1:9001", "tls": {"ca": ")" + path + R"("}}],
                                     "forward": {"l7": {"listen": "127.0.0.1:1"}}})"),
                     f, [&](const json::json_pointer& at, const std::string& m) { problems += at.to_string() + ": " + m; }));
  CHECK(problems == "");
  CHECK(f.backend_tls.count("127.0.0.1:9001"));
  const auto files = watched_files(f);
  CHECK(std::find(files.begin(), files.end(), path) != files.end());
  std::remove(path.c_str());
  std::remove(key.c_str());
}
