// Health override files (health/*.json), watched by the running server: "down"
// and "up" force a region, an endpoint or a backend whatever the checks say,
// "auto" hands control back; a change applies within about a second (inotify),
// whether the file is replaced by rename or written in place; a malformed file
// (or one naming unknown things) is rejected with file:line:column in /status
// and the metrics, and the last good overrides stay in force.
#include <doctest/doctest.h>

#include <fstream>
#include <regex>

#include "integration/harness/http_backend.hpp"
#include "integration/support_backends/meridian_fixture.hpp"
#include "integration/support_backends/prometheus_text.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

const char* const kName = "app.example.test";
const char* const kEu = "127.0.0.11";
const char* const kUs1 = "127.0.0.21";
const char* const kUs2 = "127.0.0.22";

struct Fixture {
  HttpBackend eu;
  Meridian m;
  std::string ops;  // health/ops.json

  Fixture() {
    json web = failover_service(region({kEu}, {eu.address()}, "web-http"), region({kUs1, kUs2}, {}, ""));
    web["answers"] = 2;
    const json config =
        base_config({{"web-http", http_check({{"interval", "400ms"}, {"timeout", "350ms"}, {"fall", 2}, {"rise", 1}})}},
                    {{"web", web}});
    REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone()}}), m.error);
    ops = m.dir.file("health/ops.json");
    REQUIRE(wait_for([&] { return eu.served(200) >= 1; }));
    REQUIRE(m.wait_answer(kName, kEu));
  }

  void write(const json& overrides) { write_atomic(ops, overrides.dump(2) + "\n"); }
  // Waits until the answer is exactly these addresses (sorted).
  bool wait_set(const std::vector<std::string>& want) const {
    return wait_for([&] { return m.a(kName).addresses == want; });
  }
  json region_status(const std::string& region) const {
    const json status = m.status();
    if (!status.is_object()) return json::object();
    for (const auto& svc : status.value("services", json::array()))
      for (const auto& r : svc.value("regions", json::array()))
        if (r.value("region", "") == region) return r;
    return json::object();
  }
  double metric(const std::string& name) const {
    const auto e = prom::parse(m.metrics());
    return e.value(name).value_or(-1);
  }
};

}  // namespace

TEST_CASE("a region override forces down and up; auto returns control to the checks") {
  Fixture f;
  const std::vector<std::string> us = {kUs1, kUs2};

  const auto written = Clock::now();
  f.write({{"web/eu-west", "down"}});
  REQUIRE(f.wait_set(us));
  MESSAGE("override applied after " << std::chrono::duration<double>(Clock::now() - written).count() << " s");
  {
    const Meridian::Answer a = f.m.a(kName);
    INFO(a.text);
    CHECK(a.ttl == 30);  // failover TTL
  }
  json status = f.m.status();
  INFO(status.dump());
  CHECK(status["overrides"]["web/eu-west"]["state"] == "down");
  CHECK(status["overrides"]["web/eu-west"]["file"].get<std::string>().find("ops.json") != std::string::npos);
  CHECK(f.region_status("eu-west").value("up", true) == false);
  CHECK(f.region_status("eu-west").value("reason", "").find("ops.json") != std::string::npos);
  CHECK(f.m.log_count("event=health_override key=web/eu-west state=down") >= 1);

  f.write({{"web/eu-west", "auto"}});
  REQUIRE(f.wait_set({kEu}));  // the check says up
  CHECK(f.m.a(kName).ttl == 150);  // TTL follows health: the check could flip it soon, so ttl_min (ttl / 2)

  // The backend dies: the check takes the region out; "up" forces it back in.
  f.eu.stop_listening();
  REQUIRE(f.wait_set(us));
  f.write({{"web/eu-west", {{"state", "up"}, {"reason", "checked by hand"}}}});
  REQUIRE(f.wait_set({kEu}));
  CHECK(f.m.a(kName).ttl == 300);  // an override does not expire: no health cap
  CHECK(f.region_status("eu-west").value("reason", "") == "checked by hand");
  // The health table still shows what the check says.
  CHECK(f.m.status()["health"]["web/eu-west/backend/" + f.eu.address()]["state"] == "down");

  f.write({{"web/eu-west", "auto"}});
  REQUIRE(f.wait_set(us));
  std::filesystem::remove(f.ops);
  REQUIRE(f.eu.start_listening());
  REQUIRE(f.wait_set({kEu}));
  CHECK(f.m.log_clean());
}

TEST_CASE("an override file applies within about a second, replaced by rename or written in place") {
  Fixture f;
  CHECK(f.m.log_count("event=file_watch_degraded") == 0);  // inotify watches the folder
  const std::vector<std::string> us = {kUs1, kUs2};
  auto seconds_until = [&](const std::vector<std::string>& want, const auto& edit) {
    const auto written = Clock::now();
    edit();
    REQUIRE(f.wait_set(want));
    return std::chrono::duration<double>(Clock::now() - written).count();
  };

  const double renamed = seconds_until(us, [&] { f.write({{"web/eu-west", "down"}}); });
  MESSAGE("override (renamed into place) applied after " << renamed << " s");
  CHECK(renamed < 3.0);  // about 0.1 s on an idle machine; loose for a loaded one

  const double in_place = seconds_until({kEu}, [&] { std::ofstream(f.ops) << R"({"web/eu-west": "auto"})"; });
  MESSAGE("override (written in place) applied after " << in_place << " s");
  CHECK(in_place < 3.0);

  CHECK(seconds_until(us, [&] { f.write({{"web/eu-west", "down"}}); }) < 3.0);
  const double gone = seconds_until({kEu}, [&] { std::filesystem::remove(f.ops); });
  MESSAGE("override file removed: applied after " << gone << " s");
  CHECK(gone < 3.0);
  CHECK(f.m.log_clean());
}

TEST_CASE("endpoint and backend overrides") {
  Fixture f;
  SUBCASE("an endpoint forced down leaves the answers") {
    f.write({{"web/eu-west", "down"}, {"web/us-east/127.0.0.22", "down"}});
    REQUIRE(f.wait_set({kUs1}));
    bool found = false;
    const json status = f.m.status();
    REQUIRE(status.is_object());
    for (const auto& svc : status["services"])
      for (const auto& r : svc["regions"])
        for (const auto& e : r["endpoints"])
          if (e["address"] == kUs2) {
            found = true;
            CHECK(e["state"] == "down");
            CHECK(e["source"] == "override");
          }
    CHECK(found);
    f.write(json::object());
    REQUIRE(f.wait_set({kEu}));
  }
  SUBCASE("a backend forced down takes its region below min_healthy") {
    f.write({{"web/eu-west/backend/" + f.eu.address(), "down"}});
    REQUIRE(f.wait_set({kUs1, kUs2}));
    CHECK(f.region_status("eu-west").value("reason", "").find("0/1 backends up") != std::string::npos);
    f.write({{"web/eu-west/backend/" + f.eu.address(), "auto"}});
    REQUIRE(f.wait_set({kEu}));
  }
}

TEST_CASE("a malformed or unknown override is rejected and the last good overrides stay") {
  Fixture f;
  const std::vector<std::string> us = {kUs1, kUs2};
  f.write({{"web/eu-west", "down"}});
  REQUIRE(f.wait_set(us));
  CHECK(f.metric("meridian_last_reload_success") == 1);

  struct Bad {
    const char* what;
    std::string text;
    const char* message;
  };
  const Bad cases[] = {
      {"syntax error", "{\n  \"web/eu-west\": \"up\",\n", ""},
      {"unknown service", "{\"web/eu-west\": \"up\",\n \"nope/eu-west\": \"down\"}\n", "unknown service"},
      {"unknown state", "{\"web/eu-west\": \"sideways\"}\n", "sideways"},
      {"unknown endpoint", "{\"web/eu-west\": \"up\", \"web/us-east/127.0.0.99\": \"down\"}\n", "127.0.0.99"},
  };
  for (const Bad& b : cases) {
    CAPTURE(b.what);
    const std::size_t rejected = f.m.log_count("event=health_file_rejected");
    write_atomic(f.ops, b.text);
    REQUIRE(f.m.wait_log("event=health_file_rejected", rejected + 1));
    const json status = f.m.status();
    INFO(status["reload"].dump());
    CHECK(status["reload"]["last_ok"] == false);
    const std::string error = status["reload"]["last_error"].get<std::string>();
    CHECK(std::regex_search(error, std::regex("ops\\.json:[0-9]+:[0-9]+: ")));
    CHECK(error.find(b.message) != std::string::npos);
    CHECK(f.metric("meridian_last_reload_success") == 0);
    CHECK(f.metric("meridian_reload_failures_total") >= 1);
    // The previous override ("down") is still in force.
    CHECK(status["overrides"]["web/eu-west"]["state"] == "down");
    CHECK(f.m.a(kName).addresses == us);
  }
  // A good file again: accepted, and the error clears.
  f.write({{"web/eu-west", "auto"}});
  REQUIRE(f.wait_set({kEu}));
  CHECK(f.m.status()["reload"]["last_ok"] == true);
  CHECK(f.metric("meridian_last_reload_success") == 1);
  CHECK(f.m.log_clean());
}
