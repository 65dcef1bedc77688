// The admin HTTP endpoint of a running server: /metrics is valid Prometheus
// text (promtool when installed, and a strict parser of our own) whose counters
// move with traffic; /status JSON; /healthz; /readyz (503 until the first check
// results with ready_after_checks); the bearer token; /explain.
#include <doctest/doctest.h>

#include "integration/harness/http_backend.hpp"
#include "integration/support_backends/meridian_fixture.hpp"
#include "integration/support_backends/metrics_scrape.hpp"
#include "integration/support_backends/prometheus_text.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

const char* const kName = "app.example.test";
const char* const kEu = "127.0.0.11";
const char* const kUs = "127.0.0.21";

json web_config(const HttpBackend& eu, const json& admin = json{{"listen", "127.0.0.1:0"}}) {
  return base_config({{"web-http", http_check({{"interval", "400ms"}, {"timeout", "350ms"}, {"fall", 2}, {"rise", 1}})}},
                     {{"web", failover_service(region({kEu}, {eu.address()}, "web-http"), region({kUs}, {}, ""))}},
                     admin);
}

// One query, one datagram (no resend, so counters can be compared exactly).
Message ask_once(const Endpoint& ep, const std::string& name, uint16_t type) {
  const auto r = udp_exchange(ep, build_query(QuerySpec{name, type}), std::chrono::seconds(10), std::chrono::seconds(20));
  if (!r) return Message{};
  return parse_message(*r);
}

double v(const prom::Exposition& e, const std::string& name, const std::map<std::string, std::string>& labels = {}) {
  return e.value(name, labels).value_or(-1);
}

}  // namespace

TEST_CASE("the strict Prometheus parser accepts good text and rejects bad text") {
  const std::string good =
      "# HELP a_total Things.\n# TYPE a_total counter\na_total{x=\"1\",y=\"q\\\"\\\\\\n\"} 3\na_total{x=\"2\"} 4 1700000000\n"
      "# TYPE b gauge\nb -1.5e3\nb{k=\"\"} NaN\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 2\nh_count 1\n";
  const auto e = prom::parse(good);
  CHECK_MESSAGE(e.ok(), e.error_text());
  CHECK(e.value("a_total", {{"x", "1"}, {"y", "q\"\\\n"}}) == 3.0);
  CHECK(e.sum("a_total") == 7.0);

  const char* const bad[] = {
      "a 1\n",                                                       // no TYPE
      "# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",             // not contiguous
      "# TYPE a gauge\na{x=1} 1\n",                                  // unquoted value
      "# TYPE a gauge\na{x=\"1\",} 1\n",                             // trailing comma
      "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",                      // repeated label
      "# TYPE a gauge\na{1x=\"1\"} 1\n",                             // bad label name
      "# TYPE a gauge\na{x=\"\\t\"} 1\n",                            // bad escape
      "# TYPE a gauge\na one\n",                                     // not a number
      "# TYPE a gauge\na 1\na 2\n",                                  // repeated series
      "# TYPE a counter\na -1\n",                                    // negative counter
      "# TYPE a gauge\n# TYPE a gauge\na 1\n",                       // second TYPE
      "# TYPE a gauge\na 1",                                         // no final newline
      "# TYPE a gauge\na 1\n# TYPE a counter\n",                     // TYPE after samples
      "# TYPE a gaugy\na 1\n",                                       // unknown type
      "# TYPE 0a gauge\n",                                           // bad metric name
  };
  for (const char* text : bad) {
    CAPTURE(text);
    CHECK_FALSE(prom::parse(text).ok());
  }
}

TEST_CASE("/metrics is valid Prometheus text and its counters move with traffic") {
  HttpBackend eu;
  Meridian m;
  REQUIRE_MESSAGE(m.start(web_config(eu), {{"example.test.json", standard_zone(42)}}), m.error);
  REQUIRE(wait_for([&] { return eu.served(200) >= 1; }));
  REQUIRE(m.wait_answer(kName, kEu));

  HttpResponse raw = m.get("/metrics");
  REQUIRE(raw.status == 200);
  CHECK(raw.headers["content-type"].find("text/plain") == 0);
  CHECK(raw.headers["content-type"].find("version=0.0.4") != std::string::npos);
  if (const auto promtool = find_program("promtool")) {
    const std::string file = m.dir.write("metrics.txt", raw.body);
    const CommandResult r = run_command({"/bin/sh", "-c", *promtool + " check metrics < '" + file + "'"});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
  } else {
    MESSAGE("promtool not installed (Debian package prometheus): only the built-in strict parser checks /metrics");
  }

  const prom::Exposition before = scrape(m);
  for (const char* family : {"meridian_dns_queries_total", "meridian_dns_responses_total", "meridian_dns_zone_queries_total",
                             "meridian_dns_qtype_queries_total", "meridian_answers_total", "meridian_failovers_total",
                             "meridian_health_up", "meridian_check_duration_seconds", "meridian_reloads_total",
                             "meridian_last_reload_success", "meridian_zone_serial", "meridian_region_up"}) {
    CAPTURE(family);
    CHECK(before.families.count(family) == 1);
  }
  CHECK(v(before, "meridian_zone_serial", {{"zone", "example.test."}}) == 42);
  // The health key web/eu-west/backend/ADDRESS as separate labels.
  const std::map<std::string, std::string> key = {{"service", "web"}, {"region", "eu-west"}, {"backend", eu.address()}};
  auto with = [](std::map<std::string, std::string> labels, const std::string& name, const std::string& value) {
    labels[name] = value;
    return labels;
  };
  CHECK(v(before, "meridian_health_up", with(key, "source", "check")) == 1);
  CHECK(v(before, "meridian_region_up", {{"service", "web"}, {"region", "eu-west"}}) == 1);
  CHECK(v(before, "meridian_check_duration_seconds", key) >= 0);
  CHECK(v(before, "meridian_last_reload_success") == 1);

  // Known traffic: 5 + 3 (TCP) answers from eu-west, 2 NXDOMAIN, 1 REFUSED,
  // 2 AAAA (NODATA) and 1 TXT (NODATA).
  for (int i = 0; i < 5; ++i) CHECK(ask_once(m.dns, kName, qtype::A).answer.size() == 1);
  for (int i = 0; i < 3; ++i) CHECK(ask_tcp(m.dns, QuerySpec{kName, qtype::A}).answer.size() == 1);
  for (int i = 0; i < 2; ++i) CHECK(ask_once(m.dns, "nx.example.test", qtype::A).rcode == rcode::NXDOMAIN);
  CHECK(ask_once(m.dns, "example.org", qtype::A).rcode == rcode::REFUSED);
  for (int i = 0; i < 2; ++i) CHECK(ask_once(m.dns, "www.example.test", qtype::AAAA).rcode == rcode::NOERROR);
  CHECK(ask_once(m.dns, "www.example.test", qtype::TXT).rcode == rcode::NOERROR);

  const prom::Exposition after = scrape(m);
  auto delta = [&](const std::string& name, const std::map<std::string, std::string>& labels = {}) {
    return v(after, name, labels) - v(before, name, labels);
  };
  CHECK(delta("meridian_dns_queries_total", {{"transport", "udp"}}) == 11);
  CHECK(delta("meridian_dns_queries_total", {{"transport", "tcp"}}) == 3);
  CHECK(delta("meridian_dns_responses_total", {{"rcode", "NOERROR"}}) == 11);
  CHECK(delta("meridian_dns_responses_total", {{"rcode", "NXDOMAIN"}}) == 2);
  CHECK(delta("meridian_dns_responses_total", {{"rcode", "REFUSED"}}) == 1);
  CHECK(delta("meridian_dns_zone_queries_total", {{"zone", "example.test."}}) == 13);
  CHECK(delta("meridian_dns_zone_queries_total", {{"zone", ""}}) == 1);
  CHECK(delta("meridian_dns_qtype_queries_total", {{"qtype", "A"}}) == 11);
  CHECK(delta("meridian_dns_qtype_queries_total", {{"qtype", "AAAA"}}) == 2);
  CHECK(delta("meridian_dns_qtype_queries_total", {{"qtype", "TXT"}}) == 1);
  CHECK(delta("meridian_answers_total", {{"service", "web"}, {"region", "eu-west"}}) == 8);
  CHECK(delta("meridian_answers_total", {{"service", "web"}, {"region", "us-east"}}) == 0);
  CHECK(delta("meridian_failovers_total", {{"service", "web"}}) == 0);
  CHECK(delta("meridian_check_runs_total", key) >= 0);

  // Fail eu-west over: answers from us-east now count as failovers.
  eu.stop_listening();
  REQUIRE(m.wait_answer(kName, kUs));
  const prom::Exposition down = scrape(m);
  CHECK(v(down, "meridian_health_up", with(key, "source", "check")) == 0);
  CHECK(v(down, "meridian_region_up", {{"service", "web"}, {"region", "eu-west"}}) == 0);
  CHECK(v(down, "meridian_check_failures_total", key) >= 2);
  for (int i = 0; i < 4; ++i) CHECK(ask_once(m.dns, kName, qtype::A).answer.size() == 1);
  const prom::Exposition last = scrape(m);
  CHECK(v(last, "meridian_answers_total", {{"service", "web"}, {"region", "us-east"}}) -
            v(down, "meridian_answers_total", {{"service", "web"}, {"region", "us-east"}}) ==
        4);
  CHECK(v(last, "meridian_failovers_total", {{"service", "web"}}) - v(down, "meridian_failovers_total", {{"service", "web"}}) ==
        4);
  CHECK(v(last, "meridian_check_runs_total", key) > v(before, "meridian_check_runs_total", key));
  CHECK(m.log_clean());
}

TEST_CASE("/status, /healthz, /readyz, /explain and unknown paths") {
  HttpBackend eu;
  Meridian m;
  REQUIRE_MESSAGE(m.start(web_config(eu), {{"example.test.json", standard_zone(77)}}), m.error);
  REQUIRE(m.wait_answer(kName, kEu));

  HttpResponse healthz = m.get("/healthz");
  CHECK(healthz.status == 200);
  CHECK(m.get("/readyz").status == 200);
  CHECK(m.get("/no-such-page").status == 404);

  eu.stop_listening();
  REQUIRE(m.wait_answer(kName, kUs));
  HttpResponse raw = m.get("/status");
  REQUIRE(raw.status == 200);
  CHECK(raw.headers["content-type"].find("application/json") == 0);
  const json s = json::parse(raw.body, nullptr, false);
  INFO(raw.body);
  REQUIRE(s.is_object());
  CHECK(s["ready"] == true);
  REQUIRE(s["zones"].is_array());
  REQUIRE(s["zones"].size() == 1);
  CHECK(s["zones"][0]["zone"] == "example.test.");
  CHECK(s["zones"][0]["serial"] == 77);
  REQUIRE(s["services"].size() == 1);
  const json& web = s["services"][0];
  CHECK(web["service"] == "web");
  CHECK(web["policy"] == "failover");
  CHECK(web["ttl"] == 300);
  CHECK(web["failover_ttl"] == 30);
  REQUIRE(web["regions"].size() == 2);
  CHECK(web["regions"][0]["region"] == "eu-west");
  CHECK(web["regions"][0]["up"] == false);
  CHECK(web["regions"][0]["reason"].get<std::string>().find("0/1 backends up") != std::string::npos);
  CHECK(web["regions"][0]["reason"].get<std::string>().find("connect") != std::string::npos);
  CHECK(web["regions"][1]["region"] == "us-east");
  CHECK(web["regions"][1]["up"] == true);
  CHECK(web["regions"][1]["endpoints"][0]["address"] == kUs);
  const std::string key = "web/eu-west/backend/" + eu.address();
  REQUIRE(s["health"].contains(key));
  CHECK(s["health"][key]["state"] == "down");
  CHECK(s["health"][key]["source"] == "check");
  CHECK(s["health"][key]["reason"].get<std::string>().find("connect") != std::string::npos);
  CHECK(s["health"][key]["since"].get<int64_t>() > 1600000000);
  CHECK(s["reload"]["last_ok"] == true);

  HttpResponse ex = m.get("/explain?name=app.example.test&client=192.0.2.7");
  REQUIRE(ex.status == 200);
  CHECK(ex.headers["content-type"].find("application/json") == 0);
  const json e = json::parse(ex.body, nullptr, false);
  INFO(ex.body);
  REQUIRE(e.is_object());
  CHECK(e["service"] == "web");
  CHECK(e["client"] == "192.0.2.7");
  CHECK(e["failover"] == true);
  CHECK(e["ttl"] == 30);
  CHECK(e["chosen_regions"] == json::array({"us-east"}));
  REQUIRE(e["candidates"].size() == 2);
  CHECK(e["candidates"][0]["region"] == "eu-west");
  CHECK(e["candidates"][0]["health"] == "down");

  const json ecs = json::parse(m.get("/explain?name=app.example.test.&client=192.0.2.7&ecs=198.51.100.0/24").body, nullptr, false);
  CHECK(ecs.is_object());
  CHECK(ecs.value("source", "") == "ecs/24");
  CHECK(m.get("/explain?name=app.example.test").status == 400);
  CHECK(m.get("/explain?name=app.example.test&client=not-an-ip").status == 400);
  CHECK(m.get("/explain?name=www.example.test&client=192.0.2.7").status == 404);
  CHECK(m.log_clean());
}

TEST_CASE("a bearer token guards the admin endpoint") {
  HttpBackend eu;
  Meridian m;
  REQUIRE_MESSAGE(m.start(web_config(eu, {{"listen", "127.0.0.1:0"}, {"token", "secret"}}),
                          {{"example.test.json", standard_zone()}}),
                  m.error);
  for (const char* path : {"/metrics", "/status", "/explain?name=app.example.test&client=192.0.2.7"}) {
    CAPTURE(path);
    HttpResponse none = m.get(path, false);
    CHECK(none.status == 401);
    CHECK(none.headers["www-authenticate"].find("Bearer") == 0);
    CHECK(none.body.find("meridian_") == std::string::npos);
    CHECK(http_get(m.admin_port, path, {"Authorization: Bearer wrong"}).status == 401);
    CHECK(http_get(m.admin_port, path, {"Authorization: Basic c2VjcmV0"}).status == 401);
    CHECK(m.get(path).status == 200);
  }
  CHECK(m.get("/healthz").status == 200);
}

TEST_CASE("/readyz waits for the first check results when ready_after_checks is set") {
  HttpBackend eu;
  eu.set_reply(Reply::hanging());  // the first check can only end by its timeout
  Meridian m;
  json config = web_config(eu, {{"listen", "127.0.0.1:0"}, {"ready_after_checks", true}});
  config["checks"]["web-http"]["interval"] = "6s";
  config["checks"]["web-http"]["timeout"] = "5s";
  const auto started = Clock::now();
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone()}}), m.error);
  HttpResponse early = m.get("/readyz");
  const json status = m.status();
  const auto elapsed = Clock::now() - started;
  // No check can have a result before its 5 s timeout: the backend never answers.
  if (elapsed < std::chrono::milliseconds(4500)) {
    CHECK(early.status == 503);
    CHECK(status["ready"] == false);
  } else {
    MESSAGE("server start took too long to see /readyz before the first check result; 503 not checked");
  }
  CHECK(m.get("/healthz").status == 200);
  CHECK(wait_for([&] { return m.get("/readyz").status == 200; }, std::chrono::seconds(60), std::chrono::milliseconds(200)));
  CHECK(m.status()["ready"] == true);
}
