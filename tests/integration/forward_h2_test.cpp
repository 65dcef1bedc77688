// HTTP/2 toward clients on the L7 listener, with real clients: curl --http2-prior-knowledge
// (h2c) and curl --http2 over TLS (ALPN h2, a CA made at test time), h2load for multiplexed
// load, the limits (431, 413), and a rapid-reset flood by raw frames that gets GOAWAY
// (ENHANCE_YOUR_CALM) while another client goes on being served.
#include <doctest/doctest.h>

#include <atomic>
#include <regex>
#include <thread>

#include "forward_support/backends.hpp"
#include "forward_support/h2_frames.hpp"
#include "forward_support/tls.hpp"
#include "health/health_table.hpp"
#include "integration/harness/process.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;
namespace f = fwdtest::h2frames;

namespace {

json region(HttpBackend& b, json l7 = json::object()) {
  l7["listen"] = "127.0.0.1:0";
  return {{"backends", backend_list({&b})}, {"forward", {{"l7", l7}, {"outlier", {{"consecutive_failures", 0}}}}}};
}

// Runs curl with args; its output, or "curl exit N: stderr".
std::string curl(std::vector<std::string> args) {
  std::vector<std::string> argv{"curl", "-sS", "--max-time", "20"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = meridian::test::run_command(argv);
  return r.exit_code == 0 ? r.out : "curl exit " + std::to_string(r.exit_code) + ": " + r.err;
}

std::string h2c_url(uint16_t port, const std::string& path = "/") {
  return "http://127.0.0.1:" + std::to_string(port) + path;
}

// The backend answers "METHOD TARGET BODY".
void echo(HttpBackend& b) {
  b.set([](const meridian::test::HttpRequest& r) {
    return Reply(200, std::string(r.method_string()) + " " + std::string(r.target()) + " " + r.body(),
                 {{"X-Backend", "a"}});
  });
}

// h2load's summary: {succeeded, 2xx}; {-1, -1} when it did not run or print one.
std::pair<long, long> h2load(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"h2load"};
  argv.insert(argv.end(), args.begin(), args.end());
  const auto r = meridian::test::run_command(argv, std::chrono::seconds(120));
  std::smatch m;
  long ok = -1, two = -1;
  if (std::regex_search(r.out, m, std::regex(R"(requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded)")))
    ok = std::stol(m[1]);
  if (std::regex_search(r.out, m, std::regex(R"(status codes: (\d+) 2xx)"))) two = std::stol(m[1]);
  if (ok < 0 || two < 0) MESSAGE("h2load: " << r.out << r.err);
  return {ok, two};
}

json h2_status(const ForwardingTier& tier) { return tier.status()["listeners"][0]["http2"]; }

// Sends a flood of raw frames on an h2c connection and reads what comes back until the
// server closes (or 20 s): the frames received.
std::vector<f::Frame> flood(uint16_t port, const std::string& frames) {
  asio::io_context io;
  auto s = connect_raw(io, port);
  boost::system::error_code ec;
  asio::write(*s, asio::buffer(std::string(f::kPreface) + f::settings()), ec);
  asio::write(*s, asio::buffer(frames), ec);  // may fail once the server stopped reading
  std::string in;
  char buf[16384];
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < end) {
    const std::size_t n = s->read_some(asio::buffer(buf), ec);
    if (ec) break;
    in.append(buf, n);
  }
  std::size_t used = 0;
  return f::parse(in, used);
}

const f::Frame* goaway_of(const std::vector<f::Frame>& frames) {
  for (const auto& fr : frames)
    if (fr.type == f::GOAWAY) return &fr;
  return nullptr;
}

}  // namespace

TEST_CASE("h2c with prior knowledge: curl --http2-prior-knowledge, and HTTP/1.1 on the same listener") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a");
  echo(a);
  tier.apply(services(region(a)));
  const uint16_t port = port_of(tier, "l7");

  CHECK(curl({"--http2-prior-knowledge", "-w", " %{http_version} %{http_code}", h2c_url(port, "/path?q=1")}) ==
        "GET /path?q=1  2 200");
  REQUIRE(a.last());
  CHECK(a.last()->at(http::field::host) == "127.0.0.1:" + std::to_string(port));  // from :authority
  CHECK(a.last()->at("X-Forwarded-For") == "127.0.0.1");
  CHECK(a.last()->at("X-Forwarded-Proto") == "http");
  CHECK(a.last()->at("X-Request-ID").size() == 32);
  CHECK(curl({"--http2-prior-knowledge", "--data-binary", "hello", "-w", " %{http_version} %{http_code}",
              h2c_url(port, "/post")}) == "POST /post hello 2 200");
  CHECK(a.last()->at(http::field::content_length) == "5");
  // the response's fields come through, lower case, with the request id
  const std::string head = curl({"--http2-prior-knowledge", "-o", "/dev/null", "-D", "-", "-H", "X-Request-ID: abc123",
                                 "-H", "Cookie: a=1", "-H", "Cookie: b=2", h2c_url(port)});
  CHECK(head.rfind("HTTP/2 200", 0) == 0);
  CHECK(head.find("x-backend: a") != std::string::npos);
  CHECK(head.find("x-request-id: abc123") != std::string::npos);
  CHECK(a.last()->at(http::field::cookie) == "a=1; b=2");  // one field for HTTP/1.1
  // two requests multiplexed on one connection (nghttp: curl 7.88 fails to reuse an h2c
  // connection, against nghttpd too)
  const auto both = meridian::test::run_command({"nghttp", h2c_url(port, "/1"), h2c_url(port, "/2")});
  CHECK(both.exit_code == 0);
  CHECK(both.out.find("GET /1 ") != std::string::npos);
  CHECK(both.out.find("GET /2 ") != std::string::npos);

  Client h1(port);  // the same listener still speaks HTTP/1.1
  CHECK(h1.get("/h1").body() == "GET /h1 ");
  CHECK(h2_status(tier)["connections"].get<int>() == 4);
  CHECK(h2_status(tier)["streams"].get<int>() == 5);
  // the HTTP/1.1 preface check does not mistake a request starting with P
  CHECK(curl({"--http1.1", "-X", "PUT", "--data-binary", "x", h2c_url(port, "/put")}) == "PUT /put x");
}

TEST_CASE("ALPN h2 over TLS: curl --http2 with a test CA; HTTP/1.1 clients still get HTTP/1.1") {
  TestPki pki;
  const std::string cert = pki.issue("www", {"www.example.test"});
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a");
  echo(a);
  const json tls = {{"certificates", {{{"cert", cert}, {"key", cert.substr(0, cert.size() - 4) + ".key"}}}},
                    {"alpn", {"h2", "http/1.1"}}};
  tier.apply(services(region(a, {{"tls", tls}})));
  const uint16_t port = port_of(tier, "l7");
  const std::string url = "https://www.example.test:" + std::to_string(port) + "/tls";
  const std::vector<std::string> common{"--cacert", pki.ca(), "--resolve",
                                        "www.example.test:" + std::to_string(port) + ":127.0.0.1", "-w",
                                        " %{http_version} %{http_code}"};
  auto args = common;
  args.insert(args.end(), {"--http2", url});
  CHECK(curl(args) == "GET /tls  2 200");
  REQUIRE(a.last());
  CHECK(a.last()->at("X-Forwarded-Proto") == "https");
  args = common;
  args.insert(args.end(), {"--http2", "--data-binary", "over tls", url});
  CHECK(curl(args) == "POST /tls over tls 2 200");
  args = common;
  args.insert(args.end(), {"--http1.1", url});
  CHECK(curl(args) == "GET /tls  1.1 200");
  CHECK(h2_status(tier)["connections"].get<int>() == 2);
}

TEST_CASE("h2load: multiplexed requests over h2c, all 2xx") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a"), b("b");
  tier.apply(services({{"backends", backend_list({&a, &b})},
                       {"forward", {{"l7", {{"listen", "127.0.0.1:0"}}}, {"outlier", {{"consecutive_failures", 0}}}}}}));
  const uint16_t port = port_of(tier, "l7");
  const auto [ok, two] = h2load({"-n", "2000", "-c", "4", "-m", "16", h2c_url(port)});
  CHECK(ok == 2000);
  CHECK(two == 2000);
  CHECK(a.requests() + b.requests() == 2000);
  CHECK(a.requests() >= 900);  // round robin across both
  CHECK(b.requests() >= 900);
}

TEST_CASE("h2 limits: header list over max_header_bytes is 431, body over max_body_bytes is 413") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a");
  echo(a);
  tier.apply(services(region(a, {{"limits", {{"max_header_bytes", 4096}, {"max_body_bytes", 1024}}}})));
  const uint16_t port = port_of(tier, "l7");
  CHECK(curl({"--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", "-H",
              "X-Big: " + std::string(5000, 'v'), h2c_url(port)}) == "431");
  CHECK(curl({"--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}", "--data-binary",
              std::string(2000, 'b'), h2c_url(port)}) == "413");
  CHECK(curl({"--http2-prior-knowledge", "-w", " %{http_code}", "--data-binary", std::string(1000, 'b'),
              h2c_url(port, "/fits")}) == "POST /fits " + std::string(1000, 'b') + " 200");
  CHECK(a.requests() == 1);
}

TEST_CASE("rapid reset: a flood of HEADERS + RST_STREAM gets GOAWAY (ENHANCE_YOUR_CALM), others are served") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a");
  a.set_reply(Reply::after(std::chrono::milliseconds(20)));  // answers take a while: resets come first
  tier.apply(services(region(a, {{"http2", {{"max_resets", 50}, {"max_concurrent_streams", 20}}}})));
  const uint16_t port = port_of(tier, "l7");

  std::string frames;
  for (uint32_t i = 0, id = 1; i < 3000; ++i, id += 2)
    frames += f::headers(id, f::get_block("127.0.0.1")) + f::rst_stream(id);
  std::atomic<bool> flooding{true};
  std::vector<f::Frame> got;
  std::thread attacker([&] {
    got = flood(port, frames);
    flooding = false;
  });
  // another client keeps being served while (and after) the flood goes on
  int served = 0, failed = 0;
  for (int i = 0; i < 200 && (flooding || i < 3); ++i) {
    const auto [ok, two] = h2load({"-n", "20", "-c", "1", "-m", "4", h2c_url(port)});
    served += two > 0 ? static_cast<int>(two) : 0;
    failed += ok == 20 && two == 20 ? 0 : 1;
  }
  attacker.join();
  CHECK(failed == 0);
  CHECK(served >= 60);
  const f::Frame* goaway = goaway_of(got);
  REQUIRE(goaway);
  CHECK(f::goaway_error(*goaway) == f::kEnhanceYourCalm);
  CHECK(h2_status(tier)["goaway_resets"].get<int>() == 1);
  CHECK(h2_status(tier)["client_resets"].get<int>() == 51);
  // the backend saw the other client's requests and at most a limit's worth of the flood's
  CHECK(a.requests() <= static_cast<uint64_t>(served) + 51);

  // a PING flood likewise
  tier.apply(services(region(a, {{"http2", {{"max_control_frames", 100}}}})));
  const uint16_t port2 = port_of(tier, "l7");
  std::string pings;
  for (int i = 0; i < 1000; ++i) pings += f::ping(static_cast<uint64_t>(i));
  const auto answer = flood(port2, pings);
  const f::Frame* goaway2 = goaway_of(answer);
  REQUIRE(goaway2);
  CHECK(f::goaway_error(*goaway2) == f::kEnhanceYourCalm);
  CHECK(h2_status(tier)["goaway_control_frames"].get<int>() == 1);
}
