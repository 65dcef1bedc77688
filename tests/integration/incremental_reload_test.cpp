// Cost follows the change, on the real binary: with a GeoIP database of 20,000
// networks loaded, editing one zone of several rebuilds that zone
// only (the counters in /status and /metrics say so) and the edit is served; a
// database replaced by rename (as geoipupdate does) is picked up while queries
// run, none lost, with the new answers after the swap; a corrupt database is
// rejected with the reason and the old one keeps answering.
#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "integration/support_backends/meridian_fixture.hpp"
#include "integration/support_backends/prometheus_text.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

constexpr unsigned kNetworks = 20000;  // 10.0.0.0/24 .. 10.78.31.0/24

// A City-shaped CSV: /24s alternating between Europe and North America, so the
// compiled trie keeps every one of them; `first_in` is where 10.0.0.0/24 is.
std::string city_csv(const char* first_in) {
  std::string csv = "network,continent,country,subdivision,city,latitude,longitude,asn\n";
  for (unsigned i = 0; i < kNetworks; ++i) {
    const bool eu = i == 0 ? std::string(first_in) == "EU" : i % 2 == 0;
    csv += "10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/24," +
           (eu ? "EU,IE,L,Dublin,53.35,-6.26,64497\n" : "NA,US,VA,Ashburn,39.04,-77.49,64496\n");
  }
  return csv;
}

// Builds `name` in the fixture's folder with `meridian geodata build`.
void build_database(const Meridian& m, const std::string& name, const char* first_in) {
  const std::string csv = m.dir.write(name + ".csv", city_csv(first_in));
  const CommandResult r = run_command({meridian_binary(), "geodata", "build", csv, "-o", m.dir.file(name)});
  REQUIRE_MESSAGE(r.exit_code == 0, (r.out + r.err));
}

json geo_service() {
  return {{"policy", "geo"},
          {"ttl", 300},
          {"geo", {{"EU", {"eu"}}, {"NA", {"us"}}, {"default", {"us"}}}},
          {"regions", {{"eu", {{"endpoints", {"127.0.0.11"}}}}, {"us", {{"endpoints", {"127.0.0.21"}}}}}}};
}

json small_zone(const std::string& origin, uint32_t serial, const json& www) {
  return zone_json(origin, serial, {{"@", {{"NS", "ns1"}}}, {"ns1", {{"A", "192.0.2.1"}}}, {"www", www}});
}

std::map<std::string, json> zones(uint32_t serial_of_c) {
  std::map<std::string, json> z;
  z["a.test.json"] = small_zone("a.test.", 1, {{"service", "web"}});
  z["b.test.json"] = small_zone("b.test.", 1, {{"A", "192.0.2.2"}});
  z["c.test.json"] = small_zone("c.test.", serial_of_c, {{"A", "192.0.2.3"}});
  z["d.test.json"] = small_zone("d.test.", 1, {{"A", "192.0.2.4"}});
  return z;
}

// www.a.test A as a client in 10.0.0.0/24 (ECS), the way a resolver asks.
QuerySpec geo_query() {
  QuerySpec q{"www.a.test", qtype::A};
  Edns e;
  e.options.emplace_back(8, std::string("\x00\x01\x18\x00\x0a\x00\x00", 7));  // family 1, /24, scope 0, 10.0.0
  q.edns = e;
  return q;
}

std::string geo_answer(const Meridian& m) {
  const Message r = ask_udp(m.dns, geo_query());
  const auto a = Message::of_type(r.answer, qtype::A);
  return r.ok && a.size() == 1 ? a.front().rdata : "";
}

struct Server {
  Meridian m;
  Server() {
    build_database(m, "city.mmdb", "EU");
    json config = base_config(json::object(), {{"web", geo_service()}});
    config["geoip"] = {{"city", "city.mmdb"}};
    config["dns"]["ecs"] = {{"max_prefix", {{"ipv4", 24}, {"ipv6", 56}}}};
    REQUIRE_MESSAGE(m.start(config, zones(1)), m.error);
    REQUIRE(geo_answer(m) == "127.0.0.11");
  }
};

}  // namespace

TEST_CASE("one zone edited among several: that zone is rebuilt, the rest and the GeoIP trie are reused") {
  Server s;
  const std::size_t done = s.m.log_count("event=reload_done");
  s.m.dir.write("zones/c.test.json", zones(2)["c.test.json"].dump(2) + "\n");
  REQUIRE(wait_for([&] { return soa_serial(s.m, "c.test") == 2u; }));
  REQUIRE(s.m.wait_log("event=reload_done", done + 1));
  const json status = s.m.status();
  INFO(status.dump());
  const json& built = status["reload"]["last_built"];
  CHECK(built["zones_built"] == 1);
  CHECK(built["zones_reused"] == 3);
  CHECK(built["services_compiled"] == 0);
  CHECK(built["services_reused"] == 1);
  CHECK(built["databases_opened"] == 0);
  CHECK(built["databases_reused"] == 1);
  CHECK(built["routing_tables_built"] == 0);  // no service and no health changed: the table is kept
  CHECK(built["routing_tables_reused"] == 1);
  CHECK(status["reload"]["last_seconds"].is_number());
  const auto metrics = prom::parse(s.m.metrics());
  CHECK(metrics.value("meridian_load_parts_total", {{"part", "zone"}, {"outcome", "reused"}}) == 3.0);
  CHECK(metrics.value("meridian_load_parts_total", {{"part", "zone"}, {"outcome", "built"}}) == 5.0);  // 4 at start
  CHECK(metrics.value("meridian_load_parts_total", {{"part", "service"}, {"outcome", "built"}}) == 1.0);
  CHECK(s.m.log_count("took=") >= 1);
  // The other zones and the dynamic name answer as before.
  CHECK(soa_serial(s.m, "b.test") == 1u);
  CHECK(geo_answer(s.m) == "127.0.0.11");
  CHECK(s.m.log_clean());
}

TEST_CASE("a database replaced by rename while queries run: none lost, new answers after the swap") {
  Server s;
  build_database(s.m, "city.next", "NA");  // 10.0.0.0/24 moves to North America
  std::atomic<bool> stop{false};
  std::atomic<unsigned> sent{0}, lost{0}, after_swap{0};
  std::thread load([&] {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!stop && std::chrono::steady_clock::now() < end && sent < 20000) {
      const std::string a = geo_answer(s.m);
      ++sent;
      if (a.empty()) ++lost;
      else if (a == "127.0.0.21") ++after_swap;
    }
  });
  // Let some queries in before the swap.
  wait_for([&] { return sent >= 50; });
  std::filesystem::rename(s.m.dir.file("city.next"), s.m.dir.file("city.mmdb"));
  const bool swapped = wait_for([&] { return after_swap >= 20; });
  stop = true;
  load.join();
  INFO("sent " << sent << ", lost " << lost << ", after the swap " << after_swap);
  CHECK(swapped);
  CHECK(lost == 0);
  CHECK(geo_answer(s.m) == "127.0.0.21");
  const json status = s.m.status();
  INFO(status.dump());
  CHECK(status["reload"]["last_built"]["databases_opened"] == 1);
  CHECK(status["reload"]["last_built"]["services_compiled"] == 1);
  CHECK(status["reload"]["last_built"]["zones_reused"] == 4);
  CHECK(status["reload"]["last_built"]["routing_tables_built"] == 1);
  CHECK(s.m.log_clean());
}

TEST_CASE("a corrupt database is rejected with the reason; the old one keeps answering") {
  Server s;
  const std::size_t failures = s.m.log_count("event=reload_rejected");
  s.m.dir.write("city.bad", "not a MaxMind database, but the name says it is\n");
  std::filesystem::rename(s.m.dir.file("city.bad"), s.m.dir.file("city.mmdb"));
  REQUIRE(s.m.wait_log("event=reload_rejected", failures + 1));
  const json status = s.m.status();
  INFO(status.dump());
  CHECK(status["reload"]["last_ok"] == false);
  const std::string error = status["reload"]["last_error"].get<std::string>();
  CHECK(error.find("city.mmdb") != std::string::npos);
  CHECK(error.find("MaxMind") != std::string::npos);
  CHECK(geo_answer(s.m) == "127.0.0.11");
  // A good database put back is picked up again.
  build_database(s.m, "city.next", "NA");
  std::filesystem::rename(s.m.dir.file("city.next"), s.m.dir.file("city.mmdb"));
  CHECK(wait_for([&] { return geo_answer(s.m) == "127.0.0.21"; }));
  CHECK(s.m.log_clean());
}
