// One bad zone file does not stop the others (issue #12): a server starts with
// the zones that load and answers SERVFAIL for one that does not; a reload that
// breaks one zone serves everything else that changed while the broken zone
// keeps its last good version; /status, the metrics and the log say which zone
// failed and where (file:line:column). Errors outside zone files still reject
// the whole reload.
#include <doctest/doctest.h>

#include <regex>

#include "integration/support_backends/meridian_fixture.hpp"
#include "integration/support_backends/metrics_scrape.hpp"
#include "integration/support_backends/prometheus_text.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

json zone_of(const std::string& origin, uint32_t serial, const json& more = json::object()) {
  json records{{"@", {{"NS", json::array({"ns1"})}}}, {"ns1", {{"A", "192.0.2.1"}}}, {"www", {{"A", "192.0.2.80"}}}};
  for (const auto& [k, v] : more.items()) records[k] = v;
  return zone_json(origin, serial, records);
}

int rcode_of(const Meridian& m, const std::string& name) {
  const Message r = ask_udp(m.dns, QuerySpec{name, qtype::A});
  return r.ok ? r.rcode : -1;
}

const json* zone_entry(const json& status, const std::string& file) {
  for (const auto& z : status["zones"])
    if (z["file"] == file) return &z;
  return nullptr;
}

json simple_web() {
  return failover_service(region({"127.0.0.11"}, {}, ""), region({"127.0.0.21"}, {}, ""));
}

}  // namespace

TEST_CASE("a start with one broken zone among five serves the other four and reports the broken one") {
  Meridian m;
  json broken = zone_of("broken.test.", 7);
  broken["records"]["bad"] = {{"AAAA", "2001:db8::zz"}};
  std::map<std::string, json> zones;
  for (const char* origin : {"a.test.", "b.test.", "c.test.", "d.test."})
    zones[std::string(origin) + "json"] = zone_of(origin, 1);
  zones["broken.test.json"] = broken;
  REQUIRE_MESSAGE(m.start(base_config(json::object(), json::object()), zones), m.error);
  const std::string file = m.dir.file("zones/broken.test.json");

  for (const char* origin : {"a.test", "b.test", "c.test", "d.test"}) {
    CAPTURE(origin);
    CHECK(soa_serial(m, origin) == 1u);
    CHECK(m.one(std::string("www.") + origin) == "192.0.2.80");
  }
  // Configured but not served: SERVFAIL, as Knot answers (a resolver tries another server).
  int rcode = -1;
  CHECK(soa_serial(m, "broken.test", &rcode) == 0u);
  CHECK(rcode == rcode::SERVFAIL);
  CHECK(rcode_of(m, "www.broken.test") == rcode::SERVFAIL);
  CHECK(rcode_of(m, "www.nowhere.test") == rcode::REFUSED);  // not ours at all

  const std::string log = m.log();
  INFO(log);
  CHECK(std::regex_search(log, std::regex("event=zone_error zone=broken\\.test\\. file=[^ ]*broken\\.test\\.json "
                                          "error=\"[^\"]*broken\\.test\\.json:[0-9]+:[0-9]+: ")));
  CHECK(log.find("event=zone_not_loaded zone=broken.test.") != std::string::npos);
  CHECK(log.find("event=ready zones=4 ") != std::string::npos);
  CHECK(log.find("zone_failures=1") != std::string::npos);

  const json status = m.status();
  INFO(status["zones"].dump());
  REQUIRE(status["zones"].size() == 5);
  const json* entry = zone_entry(status, file);
  REQUIRE(entry != nullptr);
  CHECK((*entry)["zone"] == "broken.test.");
  CHECK((*entry)["state"] == "error");
  CHECK((*entry)["serial"].is_null());
  CHECK((*entry)["errors"] == 1);
  CHECK(std::regex_search((*entry)["error"].get<std::string>(), std::regex("broken\\.test\\.json:[0-9]+:[0-9]+: .*2001:db8::zz")));
  for (const auto& z : status["zones"])
    if (z["file"] != file) CHECK(z["state"] == "loaded");

  const auto metrics = scrape(m);
  CHECK(metrics.value("meridian_zone_loaded", {{"zone", "broken.test."}, {"file", file}}) == 0.0);
  CHECK(metrics.value("meridian_zone_stale", {{"zone", "broken.test."}, {"file", file}}) == 0.0);
  CHECK(metrics.value("meridian_zone_load_errors", {{"zone", "broken.test."}, {"file", file}}) == 1.0);
  CHECK(metrics.value("meridian_zone_loaded", {{"zone", "a.test."}, {"file", m.dir.file("zones/a.test.json")}}) == 1.0);
  CHECK(metrics.sum("meridian_zone_loaded") == 4.0);
  CHECK_FALSE(metrics.value("meridian_zone_serial", {{"zone", "broken.test."}}).has_value());

  // Fixed, it is picked up like any edit.
  write_atomic(file, zone_of("broken.test.", 8).dump(2) + "\n");
  REQUIRE(wait_for([&] { return soa_serial(m, "broken.test") == 8u; }));
  CHECK(zone_entry(m.status(), file)->at("state") == "loaded");
  CHECK(scrape(m).sum("meridian_zone_loaded") == 5.0);
  CHECK(m.log_clean());
}

TEST_CASE("a start where no zone loads still starts, and serves the zone once its file is fixed") {
  Meridian m;
  const std::string text = "{\n  \"origin\": \"only.test.\",\n  \"records\": {\n";  // cut off
  m.dir.write("zones/only.test.json", text);
  REQUIRE_MESSAGE(m.start(base_config(json::object(), json::object()), {}), m.error);
  const std::string file = m.dir.file("zones/only.test.json");
  CHECK(rcode_of(m, "www.only.test") == rcode::REFUSED);  // the file never says which zone it holds
  const json status = m.status();
  INFO(status.dump());
  REQUIRE(status["zones"].size() == 1);
  CHECK(status["zones"][0]["zone"].is_null());  // the file never parsed far enough to say
  CHECK(status["zones"][0]["state"] == "error");
  CHECK(std::regex_search(status["zones"][0]["error"].get<std::string>(), std::regex("only\\.test\\.json:4:[0-9]+: invalid JSON")));
  CHECK(scrape(m).value("meridian_zone_loaded", {{"zone", ""}, {"file", file}}) == 0.0);

  write_atomic(file, zone_of("only.test.", 3).dump(2) + "\n");
  REQUIRE(wait_for([&] { return soa_serial(m, "only.test") == 3u; }));
  CHECK(m.one("www.only.test") == "192.0.2.80");
  CHECK(m.log_clean());
}

TEST_CASE("a reload that breaks one zone serves the rest of it; the broken zone keeps its last good version") {
  Meridian m;
  json config = base_config(json::object(), {{"web", simple_web()}});
  REQUIRE_MESSAGE(m.start(config, {{"a.test.json", zone_of("a.test.", 1)},
                                   {"b.test.json", zone_of("b.test.", 1, {{"app", {{"service", "web"}}}})},
                                   {"c.test.json", zone_of("c.test.", 1)}}),
                  m.error);
  const std::string a = m.dir.file("zones/a.test.json");
  const std::string b = m.dir.file("zones/b.test.json");
  const std::string c = m.dir.file("zones/c.test.json");
  REQUIRE(m.one("app.b.test") == "127.0.0.11");

  // One reload sees three edits: a and c move on, b breaks (bad rdata on line 30 or so).
  json broken_b = zone_of("b.test.", 2, {{"app", {{"service", "web"}}}, {"new", {{"A", "192.0.2.2"}}}});
  broken_b["records"]["www"] = {{"A", "192.0.2.999"}};
  write_atomic(a, zone_of("a.test.", 2, {{"new", {{"A", "192.0.2.2"}}}}).dump(2) + "\n");
  write_atomic(b, broken_b.dump(2) + "\n");
  write_atomic(c, zone_of("c.test.", 2).dump(2) + "\n");
  const std::size_t done = m.log_count("event=reload_done");
  m.sighup();
  REQUIRE(m.wait_log("event=reload_done", done + 1));
  // The file watcher may have reloaded in between; what counts is the state once all three are read.
  REQUIRE(wait_for([&] { return soa_serial(m, "a.test") == 2u && soa_serial(m, "c.test") == 2u; }));
  CHECK(m.one("new.a.test") == "192.0.2.2");
  // b: the version from before the edit, dynamic name included.
  CHECK(soa_serial(m, "b.test") == 1u);
  CHECK(m.one("www.b.test") == "192.0.2.80");
  CHECK(m.one("app.b.test") == "127.0.0.11");
  CHECK(m.a("new.b.test").rcode == rcode::NXDOMAIN);

  json status = m.status();
  INFO(status.dump());
  CHECK(status["reload"]["last_ok"] == true);
  const json* eb = zone_entry(status, b);
  REQUIRE(eb != nullptr);
  CHECK((*eb)["state"] == "stale");
  CHECK((*eb)["serial"] == 1u);
  CHECK(std::regex_search((*eb)["error"].get<std::string>(), std::regex("b\\.test\\.json:[0-9]+:[0-9]+: .*192\\.0\\.2\\.999")));
  CHECK(zone_entry(status, a)->at("state") == "loaded");
  CHECK(zone_entry(status, a)->at("serial") == 2u);
  CHECK(std::regex_search(m.log(), std::regex("event=zone_stale zone=b\\.test\\. file=[^ ]*b\\.test\\.json errors=1 serial=1 ")));
  auto metrics = scrape(m);
  CHECK(metrics.value("meridian_zone_stale", {{"zone", "b.test."}, {"file", b}}) == 1.0);
  CHECK(metrics.value("meridian_zone_loaded", {{"zone", "b.test."}, {"file", b}}) == 0.0);
  CHECK(metrics.value("meridian_zone_serial", {{"zone", "b.test."}}) == 1.0);
  CHECK(metrics.value("meridian_last_reload_success") == 1.0);

  // A broken meridian.json still rejects the whole reload: nothing changes.
  json bad_config = config;
  bad_config["dns"]["bogus"] = 1;
  const std::size_t rejected = m.log_count("event=reload_rejected");
  write_atomic(m.config_path, bad_config.dump(2) + "\n");
  REQUIRE(m.wait_log("event=reload_rejected", rejected + 1));
  CHECK(scrape(m).value("meridian_last_reload_success") == 0.0);
  CHECK(m.one("app.b.test") == "127.0.0.11");
  CHECK(zone_entry(m.status(), b)->at("state") == "stale");

  // Without the service its last good version needs, b is dropped too.
  json no_web = config;
  no_web["services"] = json::object();
  const std::size_t not_loaded = m.log_count("event=zone_not_loaded zone=b.test.");
  write_atomic(m.config_path, no_web.dump(2) + "\n");
  REQUIRE(m.wait_log("event=zone_not_loaded zone=b.test.", not_loaded + 1));
  CHECK(rcode_of(m, "www.b.test") == rcode::SERVFAIL);
  CHECK(soa_serial(m, "a.test") == 2u);
  status = m.status();
  eb = zone_entry(status, b);
  REQUIRE(eb != nullptr);
  CHECK((*eb)["state"] == "error");
  CHECK((*eb)["errors"] == 2);
  CHECK(scrape(m).value("meridian_last_reload_success") == 1.0);

  // Fixed (and without the service): served from the file again.
  write_atomic(b, zone_of("b.test.", 3).dump(2) + "\n");
  REQUIRE(wait_for([&] { return soa_serial(m, "b.test") == 3u; }));
  CHECK(zone_entry(m.status(), b)->at("state") == "loaded");
  metrics = scrape(m);
  CHECK(metrics.value("meridian_zone_loaded", {{"zone", "b.test."}, {"file", b}}) == 1.0);
  CHECK(metrics.value("meridian_zone_load_errors", {{"zone", "b.test."}, {"file", b}}) == 0.0);
  CHECK(m.log_clean());
}

TEST_CASE("a child zone that does not load is SERVFAIL, not answered by its parent") {
  Meridian m;
  json child = zone_of("sub.a.test.", 3);
  child["records"]["www"] = {{"A", "192.0.2.999"}};
  const json parent = zone_of("a.test.", 1, {{"sub", {{"NS", "ns.example.net."}}}, {"alias", {{"CNAME", "www.sub.a.test."}}}});
  REQUIRE_MESSAGE(m.start(base_config(json::object(), json::object()), {{"a.test.json", parent}, {"sub.a.test.json", child}}),
                  m.error);
  CHECK(soa_serial(m, "a.test") == 1u);
  CHECK(rcode_of(m, "www.a.test") == rcode::NOERROR);
  // Without the stand-in the parent would answer: a referral for sub, NXDOMAIN for names it lacks.
  int rcode = -1;
  CHECK(soa_serial(m, "sub.a.test", &rcode) == 0u);
  CHECK(rcode == rcode::SERVFAIL);
  CHECK(rcode_of(m, "www.sub.a.test") == rcode::SERVFAIL);
  CHECK(rcode_of(m, "deep.x.sub.a.test") == rcode::SERVFAIL);
  // A CNAME in a zone that loads into the one that did not: the chain stops there.
  const Message aliased = ask_udp(m.dns, QuerySpec{"alias.a.test", qtype::A});
  REQUIRE(aliased.ok);
  INFO(aliased.describe());
  CHECK(aliased.rcode == rcode::NOERROR);
  CHECK(aliased.aa);
  REQUIRE(aliased.answer.size() == 1);
  CHECK(aliased.answer[0].type == qtype::CNAME);
  CHECK(aliased.authority.empty());  // no referral from the parent for the target

  const json broken_fixed = zone_of("sub.a.test.", 4);
  write_atomic(m.dir.file("zones/sub.a.test.json"), broken_fixed.dump(2) + "\n");
  REQUIRE(wait_for([&] { return soa_serial(m, "sub.a.test") == 4u; }));
  CHECK(rcode_of(m, "www.sub.a.test") == rcode::NOERROR);
}
