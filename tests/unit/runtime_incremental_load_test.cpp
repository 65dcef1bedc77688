// Incremental loads (runtime::load_state with the previous state): which inputs
// invalidate which parts. An unchanged zone file keeps its zone (the very same
// object), an unchanged database file its mapping, and a service whose compile
// inputs did not change its compiled classes; everything else is built anew.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "dns/name.hpp"
#include "routing/service_set.hpp"
#include "routing/routing_table.hpp"
#include "runtime/state_loader.hpp"
#include "unit/support/temp_dir.hpp"

using namespace meridian;

namespace {

namespace fs = std::filesystem;

const std::string kSrc = MERIDIAN_SOURCE_DIR;
const std::string kCity = kSrc + "/tests/data/geoip/GeoIP2-City-Test.mmdb";

std::string zone_text(const std::string& origin, uint32_t serial, const std::string& extra = "") {
  return "{\"origin\": \"" + origin + "\", \"soa\": {\"mname\": \"ns1\", \"rname\": \"hostmaster\", \"serial\": " +
         std::to_string(serial) + ", \"refresh\": 7200, \"retry\": 900, \"expire\": 1209600, \"minimum\": 300},\n" +
         "\"records\": {\"@\": {\"NS\": \"ns1\"}, \"ns1\": {\"A\": \"192.0.2.1\"}" + extra + "}}\n";
}

// Two geo services and a latency service; `web_geo` is web's geo map, `ecs` the dns.ecs value.
std::string config_text(const std::string& web_geo = R"({"EU": ["eu"], "default": ["us"]})",
                        const std::string& ecs = "true", const std::string& first_service = "") {
  return R"({"dns": {"listen": ["127.0.0.1:0"], "ecs": )" + ecs + R"(}, "zones": "zones/",
  "geoip": {"city": "city.mmdb"},
  "services": {)" + first_service + R"(
    "web": {"policy": "geo", "geo": )" + web_geo + R"(,
            "regions": {"eu": {"endpoints": ["192.0.2.11"]}, "us": {"endpoints": ["192.0.2.21"]}}},
    "api": {"policy": "geo", "geo": {"AS": ["us"], "default": ["eu"]},
            "regions": {"eu": {"endpoints": ["192.0.2.12"]}, "us": {"endpoints": ["192.0.2.22"]}}},
    "fast": {"policy": "latency", "latency": "latency.json",
             "regions": {"eu": {"endpoints": ["192.0.2.13"]}, "us": {"endpoints": ["192.0.2.23"]}}}
  }})";
}

std::string latency_text(int eu_rtt) {
  return R"({"regions": ["eu", "us"], "rows": {"EU": [)" + std::to_string(eu_rtt) + R"(, 90], "default": [80, 20]}})";
}

// Writes a file and moves its mtime on, so the change is seen even within the
// filesystem's timestamp granularity.
void rewrite(const test::UnitTempDir& dir, const std::string& name, const std::string& text) {
  static int step = 0;
  const std::string path = dir.write(name, text);
  fs::last_write_time(path, fs::last_write_time(path) + std::chrono::seconds(++step));
}

struct Site {
  test::UnitTempDir dir;
  Site() {
    fs::copy_file(kCity, dir.file("city.mmdb"));
    dir.write("latency.json", latency_text(10));
    dir.write("zones/a.json", zone_text("a.test.", 1, R"(, "www": {"service": "web"})"));
    dir.write("zones/b.json", zone_text("b.test.", 1, R"(, "api": {"service": "api"})"));
    dir.write("zones/c.json", zone_text("c.test.", 1));
    dir.write("meridian.json", config_text());
  }
  runtime::LoadedState load(const runtime::LoadedState* previous = nullptr) {
    config::Diagnostics d;
    auto state = runtime::load_state(dir.file("meridian.json"), d, {.previous = previous});
    INFO(d.to_string());
    REQUIRE(state);
    return std::move(*state);
  }
};

const zone::Zone* zone_of(const runtime::LoadedState& s, const char* origin) {
  return s.zones->find_exact(*dns::name_from_text(origin));
}

const routing::Service& service_of(const runtime::LoadedState& s, const char* name) {
  const int i = s.services->find(name);
  REQUIRE(i >= 0);
  return s.services->services[static_cast<std::size_t>(i)];
}

// The decision class of an IPv4 address in a service's trie, and its scope.
std::pair<uint32_t, unsigned> class_of(const routing::Service& s, const char* address) {
  const auto ip = util::IpAddress::parse(address);
  REQUIRE(ip);
  const auto r = s.trie.lookup(4, ip->bytes());
  return {r.value, r.depth};
}

}  // namespace

TEST_SUITE("runtime.incremental_load") {
  TEST_CASE("a reload of unchanged files builds nothing and serves the same objects") {
    Site site;
    const auto first = site.load();
    CHECK(first.built.zones_built == 3);
    CHECK(first.built.zones_reused == 0);
    CHECK(first.built.services_compiled == 3);
    CHECK(first.built.databases_opened == 1);

    const auto second = site.load(&first);
    CHECK(second.built.zones_built == 0);
    CHECK(second.built.zones_reused == 3);
    CHECK(second.built.services_compiled == 0);
    CHECK(second.built.services_reused == 3);
    CHECK(second.built.databases_opened == 0);
    CHECK(second.built.databases_reused == 1);
    for (const char* origin : {"a.test.", "b.test.", "c.test."}) CHECK(zone_of(second, origin) == zone_of(first, origin));
    CHECK(second.services->geo.city == first.services->geo.city);
    // Counter slots stay with their zones.
    CHECK(zone_of(second, "b.test.")->index() == zone_of(first, "b.test.")->index());
  }

  TEST_CASE("a zone edit rebuilds that zone only") {
    Site site;
    const auto first = site.load();
    rewrite(site.dir, "zones/b.json", zone_text("b.test.", 2, R"(, "api": {"service": "api"})"));
    const auto second = site.load(&first);
    CHECK(second.built.zones_built == 1);
    CHECK(second.built.zones_reused == 2);
    CHECK(second.built.services_compiled == 0);
    CHECK(zone_of(second, "a.test.") == zone_of(first, "a.test."));
    CHECK(zone_of(second, "c.test.") == zone_of(first, "c.test."));
    REQUIRE(zone_of(second, "b.test.") != zone_of(first, "b.test."));
    CHECK(zone_of(second, "b.test.")->serial() == 2u);
    CHECK(zone_of(first, "b.test.")->serial() == 1u);  // the served one is untouched
    // No service changed: the set itself is kept (the server then keeps its routing table too).
    CHECK(second.services == first.services);
    // The new zone takes a slot no other zone holds.
    CHECK(zone_of(second, "b.test.")->index() != zone_of(second, "a.test.")->index());
    CHECK(zone_of(second, "b.test.")->index() != zone_of(second, "c.test.")->index());
  }

  TEST_CASE("a zone replaced by rename is read again, even with the same size and time") {
    Site site;
    const auto first = site.load();
    const std::string path = site.dir.file("zones/c.json");
    const auto mtime = fs::last_write_time(path);
    site.dir.write("zones/c.new", zone_text("c.test.", 7));  // same length as serial 1
    fs::last_write_time(site.dir.file("zones/c.new"), mtime);
    fs::rename(site.dir.file("zones/c.new"), path);
    const auto second = site.load(&first);
    CHECK(second.built.zones_built == 1);
    CHECK(zone_of(second, "c.test.")->serial() == 7u);
  }

  TEST_CASE("one service's geo map edited: that service is compiled, the others and every zone are taken over") {
    Site site;
    const auto first = site.load();
    rewrite(site.dir, "meridian.json", config_text(R"({"EU": ["us"], "default": ["eu"]})"));
    const auto second = site.load(&first);
    CHECK(second.built.services_compiled == 1);
    CHECK(second.built.services_reused == 2);
    CHECK(second.built.zones_reused == 3);
    CHECK(second.built.databases_reused == 1);
    CHECK(second.services != first.services);
    // The taken-over classes answer as a fresh compile does; the edited service changed.
    Site fresh_site;
    rewrite(fresh_site.dir, "meridian.json", config_text(R"({"EU": ["us"], "default": ["eu"]})"));
    const auto fresh = fresh_site.load();
    for (const char* service : {"web", "api", "fast"})
      for (const char* address : {"81.2.69.160", "175.16.199.1", "89.160.20.112", "192.0.2.1", "2.125.160.216"}) {
        INFO(service << " " << address);
        const auto [klass, depth] = class_of(service_of(second, service), address);
        const auto [fresh_class, fresh_depth] = class_of(service_of(fresh, service), address);
        CHECK(depth == fresh_depth);
        CHECK(service_of(second, service).classes[klass] == service_of(fresh, service).classes[fresh_class]);
      }
    const auto eu_client = class_of(service_of(second, "web"), "81.2.69.160");  // GB, in Europe
    CHECK(service_of(second, "web").classes[eu_client.first].tiers.front().regions.front() ==
          service_of(second, "web").region_index("us"));
  }

  TEST_CASE("ECS settings changed: every service is compiled again") {
    Site site;
    const auto first = site.load();
    rewrite(site.dir, "meridian.json", config_text(R"({"EU": ["eu"], "default": ["us"]})", R"({"max_prefix": {"ipv4": 20}})"));
    const auto second = site.load(&first);
    CHECK(second.built.services_compiled == 3);
    CHECK(second.built.zones_reused == 3);
  }

  TEST_CASE("a latency table edit compiles the service that reads it") {
    Site site;
    const auto first = site.load();
    rewrite(site.dir, "latency.json", latency_text(95));
    const auto second = site.load(&first);
    CHECK(second.built.services_compiled == 1);
    CHECK(second.built.services_reused == 2);
    const auto eu = class_of(service_of(second, "fast"), "81.2.69.160");
    CHECK(service_of(second, "fast").classes[eu.first].tiers.front().regions.front() ==
          service_of(second, "fast").region_index("us"));
  }

  TEST_CASE("a database replaced by rename is opened again and every service compiled against it") {
    Site site;
    const auto first = site.load();
    fs::copy_file(kCity, site.dir.file("city.new"));
    fs::rename(site.dir.file("city.new"), site.dir.file("city.mmdb"));
    const auto second = site.load(&first);
    CHECK(second.built.databases_opened == 1);
    CHECK(second.built.databases_reused == 0);
    CHECK(second.built.services_compiled == 3);
    CHECK(second.services->geo.city != first.services->geo.city);
    CHECK(second.built.zones_reused == 3);
  }

  TEST_CASE("a corrupt database is rejected with the reason; the state before it is untouched") {
    Site site;
    const auto first = site.load();
    site.dir.write("city.new", "this is not a MaxMind database");
    fs::rename(site.dir.file("city.new"), site.dir.file("city.mmdb"));
    config::Diagnostics d;
    CHECK_FALSE(runtime::load_state(site.dir.file("meridian.json"), d, {.previous = &first}));
    const std::string text = d.to_string();
    INFO(text);
    CHECK(text.find("city.mmdb") != std::string::npos);
    CHECK(text.find("MaxMind") != std::string::npos);
    CHECK(first.services->geo.city->lookup(4, util::IpAddress::parse("81.2.69.160")->bytes()).found);
  }

  TEST_CASE("services moved to other slots: zones with dynamic names are relinked copies, static zones are shared") {
    Site site;
    const auto first = site.load();
    rewrite(site.dir, "meridian.json",
            config_text(R"({"EU": ["eu"], "default": ["us"]})", "true",
                        R"("aaa": {"policy": "failover", "order": ["x"], "regions": {"x": {"endpoints": ["192.0.2.99"]}}},)"));
    const auto second = site.load(&first);
    const int web = second.services->find("web");
    REQUIRE(web >= 0);
    REQUIRE(web != first.services->find("web"));  // "aaa" comes first: the slots moved
    CHECK(zone_of(second, "a.test.") != zone_of(first, "a.test."));
    CHECK(zone_of(second, "a.test.")->find_head(*dns::name_from_text("www.a.test."))->service_index == web);
    CHECK(zone_of(first, "a.test.")->find_head(*dns::name_from_text("www.a.test."))->service_index ==
          first.services->find("web"));
    CHECK(zone_of(second, "c.test.") == zone_of(first, "c.test."));
    CHECK(second.built.zones_built + second.built.zones_reused == 3);
  }
}

TEST_SUITE("runtime.incremental_load") {
  TEST_CASE("a health change rebuilds the routing of the services it touches; the others are taken over") {
    Site site;
    const auto state = site.load();
    const health::HealthSnapshot all_up;
    const routing::RoutingTable before(state.services, all_up);
    CHECK(before.services_taken_over() == 0);

    health::OverrideMap overrides;
    overrides["web/eu"] = health::Override{health::Override::down, "maintenance", "m.json"};
    const health::HealthSnapshot web_eu_down(overrides, {});
    const routing::RoutingTable after(state.services, web_eu_down, {}, &before);
    CHECK(after.services_taken_over() == 2);  // api and fast
    const int web = state.services->find("web");
    const int api = state.services->find("api");
    CHECK_FALSE(after.compiled(web).regions[0].up == before.compiled(web).regions[0].up);
    CHECK(after.compiled(api).regions == before.compiled(api).regions);
    // The taken-over service answers exactly as a fresh build does.
    const routing::RoutingTable fresh(state.services, web_eu_down);
    for (const int s : {api, state.services->find("fast"), web}) {
      CHECK(after.compiled(s).class_decision == fresh.compiled(s).class_decision);
      CHECK(after.compiled(s).trie.node_count() == fresh.compiled(s).trie.node_count());
    }
    // Another set (a reload that changed services): nothing is taken over.
    const auto reloaded = site.load();
    const routing::RoutingTable other(reloaded.services, web_eu_down, {}, &after);
    CHECK(other.services_taken_over() == 0);
  }
}
