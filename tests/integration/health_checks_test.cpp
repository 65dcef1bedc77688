// Active health checks end to end, with real backends started by the test:
// a backend that stops answering takes its region out of DNS answers after
// `fall` failed checks (the failover TTL appears), and `rise` successes bring it
// back; HTTP status, body text and timeouts count as failures; fewer than fall
// failures (or fewer than rise successes) change nothing; min_healthy over
// three backends; initial "down" keeps a region out until rise successes.
#include <doctest/doctest.h>

#include "integration/harness/http_backend.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

const std::string kName = "app.example.test";
const std::string kEu = "127.0.0.11";
const std::string kUs = "127.0.0.21";
// TTL follows health (on by default): a first-choice answer whose checks could
// flip it within a second carries ttl_min, by default half the ttl (300);
// failover answers keep failover_ttl (30), which is below ttl_min.
constexpr uint32_t kFirstChoiceTtl = 150;

// Checks tuned for tests: short interval, but a timeout far above a loopback
// round trip even under ASan on a loaded machine.
json test_check(const json& extra = json::object()) {
  json c = http_check({{"interval", "400ms"}, {"timeout", "350ms"}});
  for (const auto& [k, v] : extra.items()) c[k] = v;
  return c;
}

std::string key_of(const HttpBackend& b, const std::string& region = "eu-west", const std::string& service = "web") {
  return service + "/" + region + "/backend/" + b.address();
}

std::string change_line(const HttpBackend& b, const char* state, const std::string& region = "eu-west",
                        const std::string& service = "web") {
  return "event=health_change key=" + key_of(b, region, service) + " state=" + state;
}

json health_entry(const Meridian& m, const std::string& key) {
  const json s = m.status();
  if (!s.is_object() || !s.contains("health") || !s["health"].contains(key)) return json::object();
  return s["health"][key];
}

json region_status(const Meridian& m, const std::string& service, const std::string& region) {
  const json s = m.status();
  if (!s.is_object()) return json::object();
  for (const auto& svc : s.value("services", json::array()))
    if (svc.value("service", "") == service)
      for (const auto& r : svc.value("regions", json::array()))
        if (r.value("region", "") == region) return r;
  return json::object();
}

// dig's view of the name: one A record with this address and TTL.
void check_dig(const Meridian& m, const std::string& address, uint32_t ttl) {
  const DigResult d = dig(m.dns, {"+norec", kName, "A"});
  INFO(d.output);
  REQUIRE(d.ok);
  CHECK(d.status == "NOERROR");
  REQUIRE(d.answer.size() == 1);
  CHECK(d.answer[0].rdata == address);
  CHECK(d.answer[0].ttl == ttl);
}

}  // namespace

TEST_CASE("a backend that stops answering takes its region out after fall checks; it comes back after rise") {
  HttpBackend eu, us;
  Meridian m;
  const json config = base_config({{"web-http", test_check()}},
                                  {{"web", failover_service(region({kEu}, {eu.address()}, "web-http"),
                                                            region({kUs}, {us.address()}, "web-http"))}});
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone()}}), m.error);

  REQUIRE(wait_for([&] { return eu.served(200) >= 2 && us.served(200) >= 2; }));
  REQUIRE(m.wait_answer(kName, kEu));
  check_dig(m, kEu, kFirstChoiceTtl);
  // The check asked for the configured path with a Host header.
  const auto request = eu.last();
  REQUIRE(request.has_value());
  CHECK(request->method_string() == "GET");
  CHECK(request->target() == "/healthz");
  CHECK(request->version() == 11);
  CHECK(std::string(request->at(boost::beast::http::field::host)).rfind("127.0.0.1", 0) == 0);

  const auto stopped = Clock::now();
  eu.stop_listening();
  REQUIRE_MESSAGE(m.wait_answer(kName, kUs), m.a(kName).text);
  const double detect = std::chrono::duration<double>(Clock::now() - stopped).count();
  MESSAGE("down detected after " << detect << " s (interval 0.4 s, fall 3)");
  check_dig(m, kUs, 30);  // not the first choice: the failover TTL
  CHECK(m.log_count(change_line(eu, "down")) == 1);

  const json entry = health_entry(m, key_of(eu));
  INFO(entry.dump());
  CHECK(entry.value("state", "") == "down");
  CHECK(entry.value("source", "") == "check");
  CHECK(entry.value("reason", "").find("connect") != std::string::npos);
  const json rs = region_status(m, "web", "eu-west");
  INFO(rs.dump());
  CHECK(rs.value("up", true) == false);
  CHECK(rs.value("reason", "").find("0/1 backends up") != std::string::npos);

  REQUIRE(eu.start_listening());
  REQUIRE_MESSAGE(m.wait_answer(kName, kEu), m.a(kName).text);
  check_dig(m, kEu, kFirstChoiceTtl);
  CHECK(m.log_count(change_line(eu, "up")) == 1);
  CHECK(health_entry(m, key_of(eu)).value("state", "") == "up");
  CHECK(m.log_clean());
}

TEST_CASE("fall - 1 failures keep a backend up, fall failures take it down; rise - 1 successes keep it down") {
  HttpBackend eu, us;
  Meridian m;
  const json config = base_config({{"web-http", test_check({{"rise", 2}, {"fall", 3}})}},
                                  {{"web", failover_service(region({kEu}, {eu.address()}, "web-http"),
                                                            region({kUs}, {us.address()}, "web-http"))}});
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone()}}), m.error);
  REQUIRE(wait_for([&] { return eu.served(200) >= 2; }));
  REQUIRE(m.wait_answer(kName, kEu));

  SUBCASE("two failures in a row, then successes: never down") {
    const uint64_t ok_before = eu.served(200);
    eu.script({Reply::status_code(500), Reply::status_code(500)}, Reply::ok());
    REQUIRE(wait_for([&] { return eu.served(500) == 2 && eu.served(200) >= ok_before + 3; }));
    CHECK(m.log_count(change_line(eu, "down")) == 0);
    CHECK(m.one(kName) == kEu);
    check_dig(m, kEu, kFirstChoiceTtl);
  }
  SUBCASE("three failures in a row: down, then up after two successes") {
    eu.script({Reply::status_code(500), Reply::status_code(500), Reply::status_code(500)}, Reply::ok());
    REQUIRE(m.wait_log(change_line(eu, "down")));
    REQUIRE(m.wait_log(change_line(eu, "up")));
    CHECK(m.wait_answer(kName, kEu));
    // The state went down after the third failure, not before: the log line
    // follows at least three 500s, and it went up again after two 200s.
    CHECK(eu.served(500) == 3);
  }
  SUBCASE("single successes between failures: stays down") {
    eu.set_reply(Reply::status_code(503));
    REQUIRE(m.wait_answer(kName, kUs));
    const std::size_t ups = m.log_count(change_line(eu, "up"));
    const uint64_t fails = eu.served(503);
    const uint64_t oks = eu.served(200);
    eu.script({Reply::ok(), Reply::status_code(503), Reply::ok(), Reply::status_code(503), Reply::ok()},
              Reply::status_code(503));
    REQUIRE(wait_for([&] { return eu.served(200) >= oks + 3 && eu.served(503) >= fails + 4; }));
    CHECK(m.log_count(change_line(eu, "up")) == ups);
    CHECK(m.one(kName) == kUs);
    check_dig(m, kUs, 30);
    eu.set_reply(Reply::ok());
    CHECK(m.wait_answer(kName, kEu));
  }
  CHECK(m.log_clean());
}

TEST_CASE("HTTP checks: unexpected status, missing body text and timeouts count as failures") {
  HttpBackend eu, us;
  eu.set_reply(Reply{202, "all healthy here\n"});
  Meridian m;
  const json check = test_check({{"expect", json::array({200, 202})}, {"body", "healthy"}, {"host", "app.internal"},
                                 {"rise", 1}, {"fall", 2}});
  const json config = base_config({{"web-http", check}},
                                  {{"web", failover_service(region({kEu}, {eu.address()}, "web-http"),
                                                            region({kUs}, {us.address()}, "web-http"))}});
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone()}}), m.error);
  REQUIRE(wait_for([&] { return eu.served(202) >= 2; }));
  REQUIRE(m.wait_answer(kName, kEu));  // 202 is in "expect"
  REQUIRE(eu.last().has_value());
  CHECK(eu.last()->at(boost::beast::http::field::host) == "app.internal");

  struct Case {
    const char* what;
    Reply reply;
    const char* reason;
  };
  const Case cases[] = {
      {"status 500 with the text", Reply{500, "healthy\n"}, "HTTP status 500"},
      {"status 404", Reply{404, "healthy\n"}, "HTTP status 404"},
      {"200 without the text", Reply{200, "degraded\n"}, "body lacks \"healthy\""},
      {"no answer within the timeout", Reply::hanging(), "timeout"},
      {"connection closed without an answer", Reply::reset_connection(), "read"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    eu.set_reply(c.reply);
    CHECK_MESSAGE(m.wait_answer(kName, kUs), m.a(kName).text);
    const json entry = health_entry(m, key_of(eu));
    INFO(entry.dump());
    CHECK(entry.value("state", "") == "down");
    CHECK(entry.value("reason", "").find(c.reason) != std::string::npos);
    check_dig(m, kUs, 30);
    eu.set_reply(Reply{200, "healthy\n"});
    CHECK(m.wait_answer(kName, kEu));
  }
  CHECK(m.log_clean());
}

TEST_CASE("the check's port overrides the backend's own port") {
  HttpBackend real, us;
  HttpBackend dead;
  const std::string dead_address = dead.address();
  dead.stop_listening();  // nothing listens on the backend's own port
  Meridian m;
  const json config = base_config(
      {{"web-http", test_check({{"port", real.port()}})}, {"plain", test_check()}},
      {{"web", failover_service(region({kEu}, {dead_address}, "web-http"), region({kUs}, {us.address()}, "plain"))}});
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone()}}), m.error);
  REQUIRE(wait_for([&] { return real.served(200) >= 3; }));
  CHECK(m.wait_answer(kName, kEu));
  real.stop_listening();
  CHECK(m.wait_answer(kName, kUs));
}

TEST_CASE("tcp checks: a closed port is down, an open one up") {
  HttpBackend eu, us;
  Meridian m;
  const json tcp{{"type", "tcp"}, {"interval", "400ms"}, {"timeout", "350ms"}, {"rise", 2}, {"fall", 2}, {"jitter", 0}};
  const json config = base_config({{"tcp", tcp}}, {{"web", failover_service(region({kEu}, {eu.address()}, "tcp"),
                                                                             region({kUs}, {us.address()}, "tcp"))}});
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone()}}), m.error);
  REQUIRE(wait_for([&] { return eu.connections() >= 2; }));
  CHECK(eu.requests() == 0);  // a tcp check only connects
  REQUIRE(m.wait_answer(kName, kEu));
  eu.stop_listening();
  REQUIRE(m.wait_answer(kName, kUs));
  check_dig(m, kUs, 30);
  REQUIRE(eu.start_listening());
  REQUIRE(m.wait_answer(kName, kEu));
  check_dig(m, kEu, kFirstChoiceTtl);
}

// `initial: down` must reach DNS before the first answer: the region stays out
// until `rise` successes, even though nothing else republishes the routing state.
TEST_CASE("initial down: the region stays out of answers until rise successes in a row") {
  HttpBackend eu;
  // Never three successes in a row until the test says so.
  std::vector<Reply> pattern;
  for (int i = 0; i < 4; ++i) {
    pattern.push_back(Reply::ok());
    pattern.push_back(Reply::ok());
    pattern.push_back(Reply::status_code(500));
  }
  eu.script(pattern, Reply::status_code(500));
  Meridian m;
  const json check = test_check({{"initial", "down"}, {"rise", 3}, {"fall", 2}});
  // us-east has no check: always up.
  const json config = base_config(
      {{"web-http", check}},
      {{"web", failover_service(region({kEu}, {eu.address()}, "web-http"), region({kUs}, {}, ""))}});
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone()}}), m.error);

  // From the very first answer on, eu-west is out.
  check_dig(m, kUs, 30);
  const json entry = health_entry(m, key_of(eu));
  INFO(entry.dump());
  CHECK(entry.value("state", "") == "down");
  CHECK(region_status(m, "web", "eu-west").value("up", true) == false);

  REQUIRE(wait_for([&] { return eu.served(200) >= 8 && eu.served(500) >= 5; }));
  CHECK(m.log_count(change_line(eu, "up")) == 0);
  CHECK(m.one(kName) == kUs);

  eu.set_reply(Reply::ok());
  REQUIRE(m.wait_log(change_line(eu, "up")));
  REQUIRE(m.wait_answer(kName, kEu));
  check_dig(m, kEu, kFirstChoiceTtl);
  CHECK(m.log_count(change_line(eu, "up")) == 1);
  CHECK(m.log_clean());
}

TEST_CASE("min_healthy: a region with three backends needs two of them (count and 50%)") {
  HttpBackend b1, b2, b3, us;
  Meridian m;
  const std::vector<std::string> three = {b1.address(), b2.address(), b3.address()};
  json services = {{"web", failover_service(region({kEu}, three, "web-http", 2), region({kUs}, {us.address()}, "web-http"))},
                   {"pct", failover_service(region({kEu}, three, "web-http", "50%"), region({kUs}, {}, ""))}};
  json zone = standard_zone();
  zone["records"]["half"] = {{"service", "pct"}};
  const json config = base_config({{"web-http", test_check({{"fall", 2}})}}, services);
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", zone}}), m.error);
  const char* const kHalf = "half.example.test";
  REQUIRE(m.wait_answer(kName, kEu));
  REQUIRE(m.wait_answer(kHalf, kEu));

  b1.stop_listening();
  REQUIRE(wait_for([&] {
    return health_entry(m, key_of(b1)).value("state", "") == "down" &&
           health_entry(m, key_of(b1, "eu-west", "pct")).value("state", "") == "down";
  }));
  CHECK(region_status(m, "web", "eu-west").value("reason", "").find("2/3 backends up (need 2)") != std::string::npos);
  CHECK(region_status(m, "pct", "eu-west").value("reason", "").find("2/3 backends up (need 2)") != std::string::npos);
  // Two of three is enough: still the first choice, with the normal TTL.
  CHECK(m.one(kName) == kEu);
  CHECK(m.one(kHalf) == kEu);
  check_dig(m, kEu, kFirstChoiceTtl);

  b2.stop_listening();
  REQUIRE(m.wait_answer(kName, kUs));
  REQUIRE(m.wait_answer(kHalf, kUs));
  check_dig(m, kUs, 30);
  const json rs = region_status(m, "web", "eu-west");
  INFO(rs.dump());
  CHECK(rs.value("up", true) == false);
  CHECK(rs.value("reason", "").find("1/3 backends up (need 2)") != std::string::npos);

  REQUIRE(b1.start_listening());
  CHECK(m.wait_answer(kName, kEu));
  CHECK(m.wait_answer(kHalf, kEu));
  CHECK(m.log_clean());
}
