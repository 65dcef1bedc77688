// Circuit breaker, retries, retry budget and passive health of the forwarding tier,
// against real HTTP backends that fail and recover.
#include <doctest/doctest.h>

#include <ctime>

#include "forward_support/backends.hpp"
#include "health/health_table.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;

namespace {

json region(const std::vector<HttpBackend*>& bs, json forward) {
  forward["l7"]["listen"] = "127.0.0.1:0";
  if (!forward.contains("outlier")) forward["outlier"] = {{"consecutive_failures", 0}};
  if (!forward.contains("circuit_breaker")) forward["circuit_breaker"] = {{"enabled", false}};
  return {{"backends", backend_list(bs)}, {"forward", forward}};
}

Reply fail_with(unsigned status, std::map<std::string, std::string> headers = {}) {
  return Reply{status, "failed", std::move(headers)};
}

}  // namespace

TEST_CASE("circuit breaker walks closed -> open -> half_open -> closed on a backend that fails then recovers") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend flaky("flaky"), good("good");
  std::atomic<bool> failing{true};
  flaky.set([&](const Request&) { return failing ? fail_with(500) : Reply{}; });
  tier.apply(services(region({&flaky, &good},
                             {{"l7", {{"retry", {{"max_retries", 0}}}}},
                              {"circuit_breaker",
                               {{"min_requests", 5},
                                {"failure_rate", 0.5},
                                {"window", "30s"},
                                {"open_timeout", "1s"},
                                {"half_open_probes", 2}}}})));
  Client cl(port_of(tier, "l7"));
  // closed: the flaky backend answers 500 (not retried: only 502/503/504 are)
  int errors = 0;
  for (int i = 0; i < 40 && backend_status(tier, flaky.address())["circuit"] != "open"; ++i)
    errors += cl.get("/").result_int() == 500;
  CHECK(backend_status(tier, flaky.address())["circuit"] == "open");
  CHECK(errors >= 5);
  // open: no traffic reaches it
  const int hits = flaky.requests();
  for (int i = 0; i < 20; ++i) CHECK(cl.get("/")["X-Backend"] == "good");
  CHECK(flaky.requests() == hits);
  // it recovers; after open_timeout probes go through and close the circuit
  failing = false;
  CHECK(wait_until([&] {
    cl.get("/");
    return backend_status(tier, flaky.address())["circuit"] == "closed";
  }));
  CHECK(flaky.requests() > hits);
  const json st = backend_status(tier, flaky.address());
  CHECK(st["circuit_opened"] == 1);
  const std::string m = tier.metrics();
  CHECK(m.find("meridian_forward_backend_circuit_transitions_total{service=\"web\",region=\"eu\",backend=\"" +
               flaky.address() + "\"} 3") != std::string::npos);  // closed->open->half_open->closed
  // a failed probe opens it again
  failing = true;
  for (int i = 0; i < 40 && backend_status(tier, flaky.address())["circuit"] != "open"; ++i) cl.get("/");
  CHECK(backend_status(tier, flaky.address())["circuit"] == "open");
  CHECK(wait_until([&] {
    cl.get("/");
    return backend_status(tier, flaky.address())["circuit_opened"] == 3;  // the half-open probe failed
  }));
}

TEST_CASE("retry matrix") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend bad("bad"), good("good");
  const json retry = {{"max_retries", 2}, {"backoff", {{"base", "1ms"}, {"cap", "10ms"}}}, {"retry_after_cap", "2s"},
                      {"budget", {{"min_retries", 1000}}}};
  tier.apply(services(region({&bad, &good}, {{"l7", {{"balance", "round_robin"}, {"retry", retry}}}})));
  Client cl(port_of(tier, "l7"));

  SUBCASE("GET 503 is retried on another backend") {
    bad.set([](const Request&) { return fail_with(503); });
    for (int i = 0; i < 10; ++i) {
      auto r = cl.get("/");
      CHECK(r.result_int() == 200);
      CHECK(r["X-Backend"] == "good");
    }
    CHECK(bad.requests() >= 4);
    CHECK(good.requests() == 10);
  }
  SUBCASE("POST is not retried, unless it carries Idempotency-Key") {
    bad.set([](const Request&) { return fail_with(503); });
    int unavailable = 0;
    for (int i = 0; i < 10; ++i) unavailable += cl.request(http::verb::post, "/", {}, "x").result_int() == 503;
    CHECK(unavailable == bad.requests());
    CHECK(bad.requests() + good.requests() == 10);
    for (int i = 0; i < 6; ++i)
      CHECK(cl.request(http::verb::post, "/", {{"Idempotency-Key", std::to_string(i)}}, "x").result_int() == 200);
  }
  SUBCASE("404 is not retried") {
    bad.set([](const Request&) { return fail_with(404); });
    int not_found = 0;
    for (int i = 0; i < 10; ++i) not_found += cl.get("/").result_int() == 404;
    CHECK(not_found == bad.requests());
    CHECK(bad.requests() + good.requests() == 10);
  }
  SUBCASE("429 with Retry-After is retried after that time; a long or missing Retry-After passes the 429") {
    bad.set([](const Request&) { return fail_with(429, {{"Retry-After", "1"}}); });
    Client c2(port_of(tier, "l7"));
    auto t = std::chrono::steady_clock::now();
    int waited = 0;
    for (int i = 0; i < 2; ++i) {
      t = std::chrono::steady_clock::now();
      auto r = c2.get("/");
      CHECK(r.result_int() == 200);
      if (std::chrono::steady_clock::now() - t >= std::chrono::milliseconds(950)) ++waited;
    }
    CHECK(waited >= 1);  // what went to "bad" first waited a second, then "good" answered
    CHECK(waited == bad.requests());
    bad.set([](const Request&) { return fail_with(429, {{"Retry-After", "100"}}); });
    int passed = 0;
    for (int i = 0; i < 4; ++i) passed += c2.get("/").result_int() == 429;
    CHECK(passed == 2);
    bad.set([](const Request&) { return fail_with(429); });
    passed = 0;
    for (int i = 0; i < 4; ++i) passed += c2.get("/").result_int() == 429;
    CHECK(passed == 2);
  }
  SUBCASE("429 with Retry-After as an HTTP-date: a near date is waited for, a past one retried at once, garbage passes") {
    auto http_date = [](std::chrono::seconds from_now) {
      const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + from_now);
      std::tm tm{};
      gmtime_r(&t, &tm);
      char buf[64];
      std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
      return std::string(buf);
    };
    Client c2(port_of(tier, "l7"));
    auto timed_get = [&](std::chrono::milliseconds& took) {
      const auto t = std::chrono::steady_clock::now();
      const auto r = c2.get("/");
      took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t);
      return r.result_int();
    };
    std::chrono::milliseconds took{0};
    // two seconds ahead, truncated to the second: a wait of 1-2 s, within the 2 s cap
    bad.set([&](const Request&) { return fail_with(429, {{"Retry-After", http_date(std::chrono::seconds(2))}}); });
    int waited = 0;
    for (int i = 0; i < 2; ++i) {
      CHECK(timed_get(took) == 200);
      if (took >= std::chrono::milliseconds(900)) ++waited;
    }
    CHECK(waited >= 1);
    CHECK(waited == bad.requests());
    // a date in the past: retried at once
    const int before = bad.requests();
    bad.set([&](const Request&) { return fail_with(429, {{"Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT"}}); });
    for (int i = 0; i < 4; ++i) {
      CHECK(timed_get(took) == 200);
      CHECK(took < std::chrono::milliseconds(900));
    }
    CHECK(bad.requests() - before == 4);  // each went to "bad" first, then to "good" at once
    // the obsolete forms too (an hour ahead: past the cap, passed through)
    bad.set([&](const Request&) { return fail_with(429, {{"Retry-After", "Sunday, 06-Nov-94 08:49:37 GMT"}}); });
    for (int i = 0; i < 2; ++i) CHECK(timed_get(took) == 200);
    bad.set([&](const Request&) { return fail_with(429, {{"Retry-After", http_date(std::chrono::hours(1))}}); });
    int passed = 0;
    for (int i = 0; i < 4; ++i) passed += timed_get(took) == 429;
    CHECK(passed == 2);
    // garbage is ignored: the 429 passes through
    bad.set([&](const Request&) { return fail_with(429, {{"Retry-After", "in a while"}}); });
    passed = 0;
    for (int i = 0; i < 4; ++i) passed += timed_get(took) == 429;
    CHECK(passed == 2);
  }
  SUBCASE("connect failures are retried for any method") {
    bad.stop_listening();
    for (int i = 0; i < 10; ++i) CHECK(cl.request(http::verb::post, "/", {}, "x").result_int() == 200);
  }
}

TEST_CASE("the retry budget stops retries under a full outage") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a"), b("b");
  a.set([](const Request&) { return fail_with(503); });
  b.set([](const Request&) { return fail_with(503); });
  tier.apply(services(region(
      {&a, &b},
      {{"l7",
        {{"retry",
          {{"max_retries", 3}, {"backoff", {{"base", "1ms"}, {"cap", "2ms"}}},
           {"budget", {{"ratio", 0.2}, {"window", "60s"}, {"min_retries", 0}}}}}}}})));
  Client cl(port_of(tier, "l7"));
  for (int i = 0; i < 200; ++i) CHECK(cl.get("/").result_int() == 503);
  const int attempts = a.requests() + b.requests();
  MESSAGE("200 requests under full outage: " << attempts << " backend attempts");
  CHECK(attempts > 200);
  CHECK(attempts <= 200 + 40 + 1);  // at most 20 % retries, not 3 per request
  CHECK(tier.metrics().find("meridian_forward_http_retry_budget_exhausted_total") != std::string::npos);
}

TEST_CASE("passive health ejects failing backends and feeds the shared health table") {
  meridian::health::HealthTable health;
  std::vector<std::string> changes;
  std::mutex m;
  health.subscribe([&](const std::string& key, const meridian::health::Status& s) {
    std::lock_guard l(m);
    changes.push_back(key + "=" + meridian::health::state_name(s.state));
  });
  ForwardingTier tier(health);
  HttpBackend a("a"), b("b");
  tier.apply(services(region({&a, &b},
                             {{"l7", {{"retry", {{"max_retries", 1}, {"budget", {{"min_retries", 1000}}}}}}},
                              {"outlier",
                               {{"consecutive_failures", 3},
                                {"base_ejection", "500ms"},
                                {"max_ejection", "5s"},
                                {"max_ejection_percent", 50}}}})));
  const std::string key_a = "web/eu/backend/" + a.address(), key_b = "web/eu/backend/" + b.address();
  Client cl(port_of(tier, "l7"));
  a.stop_listening();
  // connect failures are retried on b: clients see no errors
  for (int i = 0; i < 20; ++i) CHECK(cl.get("/").result_int() == 200);
  CHECK_FALSE(health.is_up(key_a));
  CHECK(health.is_up(key_b));
  CHECK(health.entries().at(key_a).effective.source == meridian::health::Source::passive);
  CHECK(backend_status(tier, a.address())["ejections"].get<int>() >= 1);
  // it comes back: after the ejection, traffic shows it healthy and the table says up
  REQUIRE(a.start_listening());
  CHECK(wait_until([&] {
    cl.get("/");
    return health.is_up(key_a);
  }));

  // every backend of the region dies under load: all are reported down (DNS drops the region),
  // even the one the ejection cap keeps in rotation
  std::atomic<bool> run{true};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    Client c(port_of(tier, "l7"));
    while (run) (c.get("/").result_int() == 200 ? ok : failed)++;
  });
  CHECK(wait_until([&] { return ok > 50; }));
  const auto killed = std::chrono::steady_clock::now();
  a.stop_listening();
  b.stop_listening();
  CHECK(wait_until([&] { return !health.is_up(key_a) && !health.is_up(key_b); }));
  const auto detected = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed);
  run = false;
  load.join();
  MESSAGE("all backends down: detected in " << detected.count() << " ms; " << ok.load() << " ok, " << failed.load()
                                            << " failed requests meanwhile");
  std::lock_guard l(m);
  CHECK(std::count(changes.begin(), changes.end(), key_a + "=down") >= 2);
  CHECK(std::count(changes.begin(), changes.end(), key_a + "=up") >= 1);
}

TEST_CASE("a check-down backend takes no traffic") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a"), b("b");
  tier.apply(services(region({&a, &b}, {{"l7", json::object()}})));
  health.report("web/eu/backend/" + a.address(), meridian::health::Source::check, meridian::health::State::down, "test");
  Client cl(port_of(tier, "l7"));
  for (int i = 0; i < 10; ++i) CHECK(cl.get("/")["X-Backend"] == "b");
  health.report("web/eu/backend/" + a.address(), meridian::health::Source::check, meridian::health::State::up, "test");
  int on_a = 0;
  for (int i = 0; i < 10; ++i) on_a += cl.get("/")["X-Backend"] == "a";
  CHECK(on_a == 5);
}

TEST_CASE("a passive down ends without traffic: when the active check turns up, or after base_ejection") {
  // DNS sends no clients to a region whose backends are all down, so no success through
  // the proxy can clear the passive report: it must end on its own.
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a"), b("b");
  tier.apply(services(region({&a, &b}, {{"l7", {{"retry", {{"max_retries", 0}}}}},
                                        {"outlier",
                                         {{"consecutive_failures", 2},
                                          {"base_ejection", "300ms"},
                                          {"max_ejection", "300ms"},
                                          {"max_ejection_percent", 50}}}})));
  const std::string key_a = "web/eu/backend/" + a.address(), key_b = "web/eu/backend/" + b.address();
  using meridian::health::Source;
  using meridian::health::State;
  // both fail under traffic; the active check of a sees it too
  a.set([](const Request&) { return fail_with(503); });
  b.set([](const Request&) { return fail_with(503); });
  health.report(key_a, Source::check, State::up, "ok");
  {
    Client cl(port_of(tier, "l7"));
    CHECK(wait_until([&] {
      cl.get("/");
      return !health.is_up(key_a) && !health.is_up(key_b);
    }));
  }
  health.report(key_a, Source::check, State::down, "status 503");
  // no more traffic. b has no active check: its report expires after base_ejection
  CHECK(wait_until([&] { return health.is_up(key_b); }));
  // a stays down while its check says so, even once its passive report has expired ...
  CHECK(wait_until([&] { return health.entries().at(key_a).by_source.at(Source::passive).state == State::up; }));
  CHECK_FALSE(health.is_up(key_a));
  // ... and is up as soon as the check is
  a.set(nullptr);
  b.set(nullptr);
  health.report(key_a, Source::check, State::up, "ok");
  CHECK(health.is_up(key_a));
  Client cl(port_of(tier, "l7"));
  CHECK(cl.get("/").result_int() == 200);
}

TEST_CASE("an active check that turns up ends a passive down and its ejection") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a"), b("b");
  tier.apply(services(region({&a, &b}, {{"l7", {{"retry", {{"max_retries", 0}}}}},
                                        {"outlier",
                                         {{"consecutive_failures", 2},
                                          {"base_ejection", "60s"},
                                          {"max_ejection", "60s"},
                                          {"max_ejection_percent", 100}}}})));
  const std::string key_a = "web/eu/backend/" + a.address();
  using meridian::health::Source;
  using meridian::health::State;
  health.report(key_a, Source::check, State::up, "ok");
  a.set([](const Request&) { return fail_with(503); });
  Client cl(port_of(tier, "l7"));
  CHECK(wait_until([&] {
    cl.get("/");
    return !health.is_up(key_a);
  }));
  CHECK(backend_status(tier, a.address())["ejections"].get<int>() >= 1);
  a.set(nullptr);
  // the check sees it fail, then recover (after the passive report): the report and
  // the 60 s ejection end within the tier's one-second review
  health.report(key_a, Source::check, State::down, "status 503");
  health.report(key_a, Source::check, State::up, "ok");
  CHECK(wait_until([&] { return health.is_up(key_a); }));
  int on_a = 0;
  for (int i = 0; i < 10; ++i) on_a += cl.get("/")["X-Backend"] == "a";
  CHECK(on_a >= 4);
}
