// TTL follows health, end to end with dig: a first-choice answer whose check
// could flip it within seconds carries a TTL far below the service's ttl; a
// failover answer counts the rise successes that bring the first choice back;
// an override (which never expires) lifts the cap; ttl_follows_health false
// keeps the configured TTL; _explain says why.
#include <doctest/doctest.h>

#include "integration/harness/http_backend.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

const std::string kName = "app.example.test";
const std::string kFixed = "fixed.example.test";
const std::string kEu = "127.0.0.11";
const std::string kUs = "127.0.0.21";

// interval 2 s, no jitter: an up backend can flip after 3 failures, no sooner
// than 2 intervals after the next check (4-6 s); a down one after 2 successes (2-4 s).
json slow_check() { return http_check({{"interval", "2s"}, {"timeout", "1s"}, {"rise", 2}, {"fall", 3}}); }

DigRecord dig_one(const Meridian& m, const std::string& name, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"+norec", name, "A"};
  args.insert(args.end(), extra.begin(), extra.end());
  const DigResult d = dig(m.dns, args);
  INFO(d.output);
  REQUIRE(d.ok);
  REQUIRE(d.answer.size() == 1);
  return d.answer[0];
}

std::string explain_text(const Meridian& m, const std::string& name) {
  const DigResult d = dig(m.dns, {"+norec", "_explain." + name, "TXT"});
  std::string text;
  for (const auto& r : d.answer) text += r.rdata + "\n";
  return text;
}

struct Fixture {
  HttpBackend eu, us;
  Meridian m;
  Fixture() {
    json web = failover_service(region({kEu}, {eu.address()}, "web-http"), region({kUs}, {us.address()}, "web-http"));
    web["ttl_min"] = 1;
    json fixed = web;
    fixed["ttl_follows_health"] = false;
    json zone = standard_zone();
    zone["records"]["fixed"] = {{"service", "fixed"}};
    REQUIRE_MESSAGE(m.start(base_config({{"web-http", slow_check()}}, {{"web", web}, {"fixed", fixed}}),
                            {{"example.test.json", zone}}),
                    m.error);
    REQUIRE(wait_for([&] { return eu.served(200) >= 1 && us.served(200) >= 1; }));
    REQUIRE(m.wait_answer(kName, kEu));
  }
};

}  // namespace

TEST_CASE("a first-choice answer whose check could flip it soon gets a TTL far below the service ttl") {
  Fixture f;
  const DigRecord r = dig_one(f.m, kName);
  CHECK(r.rdata == kEu);
  MESSAGE("first-choice TTL " << r.ttl << " (ttl 300, check every 2 s, fall 3)");
  CHECK(r.ttl < 300);
  CHECK(r.ttl >= 4);  // never below what three failures take
  CHECK(r.ttl <= 6);

  // The same service with the cap switched off.
  CHECK(dig_one(f.m, kFixed).ttl == 300);

  const std::string why = explain_text(f.m, kName);
  INFO(why);
  CHECK(why.find("ttl 300 lowered by health: region eu-west (backend " + f.eu.address() + ") can change in") !=
        std::string::npos);
  CHECK(f.m.log_clean());
}

TEST_CASE("a failover answer counts the successes that bring the first choice back; an override lifts the cap") {
  Fixture f;
  f.eu.stop_listening();
  REQUIRE_MESSAGE(f.m.wait_answer(kName, kUs), f.m.a(kName).text);
  const DigRecord r = dig_one(f.m, kName);
  MESSAGE("failover TTL " << r.ttl << " (failover_ttl 30, rise 2 every 2 s)");
  CHECK(r.ttl < 30);
  CHECK(r.ttl >= 2);
  CHECK(r.ttl <= 4);
  REQUIRE(f.m.wait_answer(kFixed, kUs));  // its own check of the same backend
  CHECK(dig_one(f.m, kFixed).ttl == 30);

  // Both regions forced: nothing can change this answer on its own, so no cap.
  write_atomic(f.m.dir.file("health/ops.json"), R"({"web/eu-west": "down", "web/us-east": "up"})");
  REQUIRE(wait_for([&] { return f.m.a(kName).ttl == 30; }));
  const std::string why = explain_text(f.m, kName);
  INFO(why);
  CHECK(why.find("no active check can change this answer's health") != std::string::npos);
  CHECK(f.m.log_clean());
}
