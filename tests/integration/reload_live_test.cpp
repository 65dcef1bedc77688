// Live reload of meridian.json and zones: a zone file renamed into place is
// picked up even when its size and mtime did not change, and SIGHUP reloads; an
// edited file is picked up without a signal; a malformed config is rejected (old state keeps serving,
// the error with file:line:column in /status and the metrics), a malformed zone
// keeps its last good version (the same, per zone); health
// states survive a reload; checks start and stop with the regions a reload adds
// and removes; no query is lost while reloading.
#include <doctest/doctest.h>

#include <atomic>
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
const char* const kUs = "127.0.0.21";

json quick_check() { return http_check({{"interval", "400ms"}, {"timeout", "350ms"}, {"fall", 2}, {"rise", 1}}); }

json web_service(const HttpBackend& eu) {
  return failover_service(region({kEu}, {eu.address()}, "web-http"), region({kUs}, {}, ""));
}

// The SOA serial served for example.test., or 0.
uint32_t served_serial(const Meridian& m) { return soa_serial(m, "example.test"); }

uint32_t dig_serial(const Meridian& m) {
  const DigResult d = dig(m.dns, {"+norec", "example.test", "SOA"});
  if (!d.ok || d.answer.size() != 1) return 0;
  return serial_in_soa_text(d.answer[0].rdata);
}

double metric(const Meridian& m, const std::string& name) {
  const auto e = prom::parse(m.metrics());
  return e.value(name).value_or(-1);
}

}  // namespace

TEST_CASE("a zone file renamed into place with the old size and mtime is picked up; SIGHUP reloads") {
  HttpBackend eu;
  Meridian m;
  REQUIRE_MESSAGE(m.start(base_config({{"web-http", quick_check()}}, {{"web", web_service(eu)}}),
                          {{"example.test.json", standard_zone(2026010101)}}),
                  m.error);
  REQUIRE(served_serial(m) == 2026010101u);
  const std::string zone = m.dir.file("zones/example.test.json");
  // Same size, and the old modification time put back: the new inode tells.
  const auto mtime = std::filesystem::last_write_time(zone);
  const std::string old_text = read_file(zone);
  const std::string new_text = standard_zone(2026010102).dump(2) + "\n";
  REQUIRE(old_text.size() == new_text.size());
  const std::string tmp = m.dir.write("zones/example.test.json.next", new_text);
  std::filesystem::last_write_time(tmp, mtime);
  std::filesystem::rename(tmp, zone);
  REQUIRE(wait_for([&] { return served_serial(m) == 2026010102u; }));

  // SIGHUP reloads; nothing changed, so the zone is taken over, not read again.
  REQUIRE(m.wait_log("event=reload_done", 1));
  const std::size_t done = m.log_count("event=reload_done");
  m.sighup();
  REQUIRE(m.wait_log("event=reload_done", done + 1));
  CHECK(m.log_count("event=reload_start trigger=SIGHUP") == 1);
  CHECK(served_serial(m) == 2026010102u);
  CHECK(dig_serial(m) == 2026010102u);
  const json status = m.status();
  INFO(status.dump());
  REQUIRE(status["zones"].size() == 1);
  CHECK(status["zones"][0]["zone"] == "example.test.");
  CHECK(status["zones"][0]["serial"] == 2026010102u);
  CHECK(status["reload"]["last_ok"] == true);
  CHECK(status["reload"]["last_built"]["zones_built"] == 0);
  CHECK(status["reload"]["last_built"]["zones_reused"] == 1);
  CHECK(metric(m, "meridian_reloads_total") >= 2);
  CHECK(prom::parse(m.metrics()).value("meridian_zone_serial", {{"zone", "example.test."}}) == 2026010102.0);
  CHECK(m.log_clean());
}

TEST_CASE("an edited zone file is picked up without a signal") {
  HttpBackend eu;
  Meridian m;
  REQUIRE_MESSAGE(m.start(base_config({{"web-http", quick_check()}}, {{"web", web_service(eu)}}),
                          {{"example.test.json", standard_zone(7)}}),
                  m.error);
  REQUIRE(served_serial(m) == 7u);
  json z = standard_zone(8);
  z["records"]["new"] = {{"A", "192.0.2.123"}};
  // Edited in place, as an operator's editor might.
  m.dir.write("zones/example.test.json", z.dump(2) + "\n");
  REQUIRE(wait_for([&] { return served_serial(m) == 8u; }));
  CHECK(dig_serial(m) == 8u);
  CHECK(m.one("new.example.test") == "192.0.2.123");
  CHECK(m.log_count("trigger=\"file change\"") >= 1);
}

TEST_CASE("an edited latency table is picked up without a signal, soon after it is written") {
  Meridian m;
  json zone = standard_zone();
  zone["records"].erase("app");  // its service "web" is not configured here
  zone["records"]["fast"] = {{"service", "fast"}};
  const json fast = {{"policy", "latency"},
                     {"latency", "latency.json"},
                     {"regions", {{"a", {{"endpoints", json::array({"127.0.0.41"})}}}, {"b", {{"endpoints", json::array({"127.0.0.42"})}}}}}};
  const std::string table = m.dir.write("latency.json", R"({"regions": ["a", "b"], "rows": {"default": [10, 50]}})");
  REQUIRE_MESSAGE(m.start(base_config(json::object(), {{"fast", fast}}), {{"example.test.json", zone}}), m.error);
  REQUIRE(m.one("fast.example.test") == "127.0.0.41");

  const auto written = Clock::now();
  write_atomic(table, R"({"regions": ["a", "b"], "rows": {"default": [50, 10]}})");
  REQUIRE(wait_for([&] { return m.one("fast.example.test") == "127.0.0.42"; }));
  const double seconds = std::chrono::duration<double>(Clock::now() - written).count();
  MESSAGE("latency table reloaded after " << seconds << " s");
  CHECK(seconds < 3.0);
  CHECK(m.log_count("trigger=\"file change\"") >= 1);

  // A broken table is rejected with its position; the last good one keeps serving.
  write_atomic(table, "{\"regions\": [\"a\", \"b\"],\n \"rows\": {\"default\": [50, }}\n");
  REQUIRE(m.wait_log("event=reload_rejected"));
  const json status = m.status();
  INFO(status["reload"].dump());
  CHECK(std::regex_search(status["reload"]["last_error"].get<std::string>(), std::regex("latency\\.json:2:[0-9]+: ")));
  CHECK(m.one("fast.example.test") == "127.0.0.42");
  CHECK(m.log_clean());
}

// A zone file that no longer loads does not fail the reload: the zone keeps its
// last good version ("stale"), and /status and the metrics say why.
TEST_CASE("a malformed zone file keeps its last good version; /status and metrics say why") {
  HttpBackend eu;
  Meridian m;
  REQUIRE_MESSAGE(m.start(base_config({{"web-http", quick_check()}}, {{"web", web_service(eu)}}),
                          {{"example.test.json", standard_zone(100)}}),
                  m.error);
  REQUIRE(served_serial(m) == 100u);
  REQUIRE(m.wait_answer(kName, kEu));
  const std::string zone = m.dir.file("zones/example.test.json");
  const std::map<std::string, std::string> labels{{"zone", "example.test."}, {"file", zone}};

  struct Bad {
    std::string what;
    std::string text;
    const char* message;
  };
  json unknown_service = standard_zone(102);
  unknown_service["records"]["other"] = {{"service", "nope"}};
  json bad_rdata = standard_zone(103);
  bad_rdata["records"]["www"] = {{"A", "not-an-address"}};
  const Bad cases[] = {
      {"JSON syntax", "{\n  \"origin\": \"example.test.\",\n  \"ttl\": 3600,\n  \"soa\": {\n", ""},
      {"unknown service", unknown_service.dump(2) + "\n", "nope"},
      {"bad rdata", bad_rdata.dump(2) + "\n", "not-an-address"},
  };
  for (const Bad& b : cases) {
    CAPTURE(b.what);
    const std::size_t stale = m.log_count("event=zone_stale");
    write_atomic(zone, b.text);
    REQUIRE(m.wait_log("event=zone_stale", stale + 1));
    CHECK(served_serial(m) == 100u);
    CHECK(m.one("www.example.test") == "192.0.2.80");
    CHECK(m.one(kName) == kEu);
    const json status = m.status();
    INFO(status["zones"].dump());
    // The reload itself went through: only this zone failed.
    CHECK(status["reload"]["last_ok"] == true);
    REQUIRE(status["zones"].size() == 1);
    const json& z = status["zones"][0];
    CHECK(z["state"] == "stale");
    CHECK(z["serial"] == 100u);
    CHECK(z["file"] == zone);
    CHECK(z["errors"].get<int>() >= 1);
    const std::string error = z["error"].get<std::string>();
    CHECK(error.find("example.test.json") != std::string::npos);
    CHECK(std::regex_search(error, std::regex("example\\.test\\.json:[0-9]+:[0-9]+: ")));
    CHECK(error.find(b.message) != std::string::npos);
    const auto metrics = prom::parse(m.metrics());
    CHECK(metrics.value("meridian_zone_loaded", labels) == 0.0);
    CHECK(metrics.value("meridian_zone_stale", labels) == 1.0);
    CHECK(metrics.value("meridian_zone_load_errors", labels) >= 1.0);
    CHECK(metrics.value("meridian_zone_serial", {{"zone", "example.test."}}) == 100.0);
    CHECK(metric(m, "meridian_last_reload_success") == 1);
  }
  write_atomic(zone, standard_zone(101).dump(2) + "\n");
  REQUIRE(wait_for([&] { return served_serial(m) == 101u; }));
  const json status = m.status();
  CHECK(status["zones"][0]["state"] == "loaded");
  CHECK(status["zones"][0]["error"].is_null());
  const auto metrics = prom::parse(m.metrics());
  CHECK(metrics.value("meridian_zone_loaded", labels) == 1.0);
  CHECK(metrics.value("meridian_zone_stale", labels) == 0.0);
  CHECK(metrics.value("meridian_zone_load_errors", labels) == 0.0);
  CHECK(metric(m, "meridian_reload_failures_total") == 0);
  CHECK(m.log_clean());
}

// A dynamic name whose service is not defined: the error names the zone file
// with the line:column of the name.
TEST_CASE("a zone naming an unknown service is reported with file:line:column") {
  HttpBackend eu;
  Meridian m;
  REQUIRE_MESSAGE(m.start(base_config({{"web-http", quick_check()}}, {{"web", web_service(eu)}}),
                          {{"example.test.json", standard_zone(100)}}),
                  m.error);
  json zone = standard_zone(102);
  zone["records"]["other"] = {{"service", "nope"}};
  write_atomic(m.dir.file("zones/example.test.json"), zone.dump(2) + "\n");
  REQUIRE(m.wait_log("event=zone_stale"));
  const std::string error = m.status()["zones"][0]["error"].get<std::string>();
  INFO(error);
  CHECK(std::regex_search(error, std::regex("example\\.test\\.json:[0-9]+:[0-9]+: other\\.example\\.test\\. uses service")));
  CHECK(m.log().find("event=zone_error zone=example.test.") != std::string::npos);
  CHECK(served_serial(m) == 100u);
}

TEST_CASE("a malformed meridian.json is rejected and the checks keep running") {
  HttpBackend eu;
  Meridian m;
  json config = base_config({{"web-http", quick_check()}}, {{"web", web_service(eu)}});
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone(5)}}), m.error);
  REQUIRE(m.wait_answer(kName, kEu));

  json bad = config;
  bad["services"]["web"]["regions"]["eu-west"]["check"] = "no-such-check";
  const std::size_t rejected = m.log_count("event=reload_rejected");
  write_atomic(m.config_path, bad.dump(2) + "\n");
  REQUIRE(m.wait_log("event=reload_rejected", rejected + 1));
  const json status = m.status();
  INFO(status["reload"].dump());
  CHECK(std::regex_search(status["reload"]["last_error"].get<std::string>(),
                          std::regex("meridian\\.json:[0-9]+:[0-9]+: .*no-such-check")));
  CHECK(metric(m, "meridian_last_reload_success") == 0);
  // The old check still decides: the backend dying still fails the region over.
  const uint64_t before = eu.requests();
  REQUIRE(wait_for([&] { return eu.requests() >= before + 2; }));
  eu.stop_listening();
  CHECK(m.wait_answer(kName, kUs));
}

TEST_CASE("health states survive a reload; checks start and stop with the regions a reload adds and removes") {
  HttpBackend eu, extra;
  Meridian m;
  json config = base_config({{"web-http", quick_check()}}, {{"web", web_service(eu)}});
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone(1)}}), m.error);
  REQUIRE(m.wait_answer(kName, kEu));
  eu.stop_listening();
  REQUIRE(m.wait_answer(kName, kUs));
  const std::size_t ups = m.log_count("state=up");

  // Reload (new serial, and a third region with its own backend and check).
  json next = config;
  next["services"]["web"]["regions"]["ap-south"] = region({"127.0.0.31"}, {extra.address()}, "web-http");
  next["services"]["web"]["order"] = json::array({"eu-west", "us-east", "ap-south"});
  const std::size_t done = m.log_count("event=reload_done");
  write_atomic(m.config_path, next.dump(2) + "\n");
  REQUIRE(m.wait_log("event=reload_done", done + 1));
  // Right after the reload, eu-west is still down: its state was kept.
  for (int i = 0; i < 5; ++i) CHECK(m.one(kName) == kUs);
  CHECK(m.status()["health"]["web/eu-west/backend/" + eu.address()]["state"] == "down");
  CHECK(m.log_count("state=up") == ups);
  // The added region's backend is checked now.
  REQUIRE(wait_for([&] { return extra.requests() >= 2; }));
  CHECK(m.status()["health"].contains("web/ap-south/backend/" + extra.address()));

  // Remove it again: its checks stop and its entries leave the table and metrics.
  const std::size_t done2 = m.log_count("event=reload_done");
  write_atomic(m.config_path, config.dump(2) + "\n");
  REQUIRE(m.wait_log("event=reload_done", done2 + 1));
  REQUIRE(eu.start_listening());
  const uint64_t extra_after = extra.requests();
  const uint64_t eu_after = eu.requests();
  REQUIRE(wait_for([&] { return eu.requests() >= eu_after + 4; }));
  CHECK(extra.requests() <= extra_after + 1);  // at most one already in flight
  CHECK_FALSE(m.status()["health"].contains("web/ap-south/backend/" + extra.address()));
  CHECK(m.metrics().find("web/ap-south") == std::string::npos);
  CHECK(m.wait_answer(kName, kEu));
  CHECK(m.log_clean());
}

TEST_CASE("no query is lost while the server reloads") {
  HttpBackend eu;
  Meridian m;
  REQUIRE_MESSAGE(m.start(base_config({{"web-http", quick_check()}}, {{"web", web_service(eu)}}),
                          {{"example.test.json", standard_zone(1)}}),
                  m.error);
  REQUIRE(m.wait_answer(kName, kEu));
  // Ten reloads, each waited for, while queries go one at a time.
  const std::size_t base = m.log_count("event=reload_done");
  std::atomic<bool> stop{false};
  std::atomic<int> reloads{0};
  std::thread reloader([&] {
    for (int i = 0; i < 10 && !stop.load(); ++i) {
      m.sighup();
      if (!m.wait_log("event=reload_done", base + static_cast<std::size_t>(i) + 1, std::chrono::seconds(30))) break;
      ++reloads;
    }
    stop = true;
  });
  int sent = 0, answered = 0, wrong = 0;
  const auto end = Clock::now() + std::chrono::seconds(120);
  while ((!stop.load() || sent < 200) && sent < 100000 && Clock::now() < end) {
    QuerySpec q{(sent % 2) ? kName : "www.example.test", qtype::A};
    q.id = static_cast<uint16_t>(sent);
    // One datagram each, no resend: a lost query shows.
    const auto r = udp_exchange(m.dns, build_query(q), std::chrono::seconds(5), std::chrono::seconds(10));
    ++sent;
    if (!r) continue;
    ++answered;
    const Message msg = parse_message(*r);
    if (!msg.ok || msg.rcode != rcode::NOERROR || msg.answer.size() != 1) ++wrong;
  }
  stop = true;
  reloader.join();
  CHECK(reloads.load() == 10);
  MESSAGE(sent << " queries during " << reloads.load() << " reloads");
  CHECK(answered == sent);
  CHECK(wrong == 0);
  CHECK(m.process.alive());
  CHECK(m.log_clean());
}
