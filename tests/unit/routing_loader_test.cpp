// Configuration errors of services (routing::load_services) and of health
// override files (runtime::load_health_overrides): each must name the file and
// the line:column of the offending value or key, located here by searching the
// text we wrote.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/json_source.hpp"
#include "unit/support/temp_dir.hpp"
#include "unit/support/text_position.hpp"
#include "routing/service_set.hpp"
#include "runtime/state_loader.hpp"

using namespace meridian;

namespace {

using meridian::test::where;

const std::string kSrc = MERIDIAN_SOURCE_DIR;
const std::string kCity = kSrc + "/tests/data/geoip/GeoIP2-City-Test.mmdb";
const std::string kFixtures = kSrc + "/tests/data/routing/";

std::string subst(std::string text) {
  for (auto at = text.find("@CITY@"); at != std::string::npos; at = text.find("@CITY@")) text.replace(at, 6, kCity);
  return text;
}

config::Diagnostics load_errors(const std::string& json, std::string* text_out = nullptr) {
  const std::string text = subst(json);
  if (text_out) *text_out = text;
  const config::JsonSource src = config::JsonSource::parse(text, "meridian.json");
  config::Diagnostics d;
  routing::load_services(src, kFixtures, d);
  return d;
}

// Exactly one diagnostic... or at least one at this place with this text.
void expect_error_at(const config::Diagnostics& d, const std::string& file, std::pair<std::size_t, std::size_t> pos,
                     const std::string& words) {
  INFO(d.to_string());
  REQUIRE_FALSE(d.empty());
  bool found = false;
  for (const auto& item : d.items())
    if (item.file == file && item.line == pos.first && item.column == pos.second &&
        item.message.find(words) != std::string::npos)
      found = true;
  CHECK_MESSAGE(found, "expected " << file << ":" << pos.first << ":" << pos.second << " mentioning \"" << words << "\"");
}

using TempDir = meridian::test::UnitTempDir;

const char* const kServices = R"({
  "geoip": {"city": "@CITY@"},
  "services": {
    "web": {"policy": "geo",
            "geo": {"EU": ["eu"], "default": ["us"]},
            "regions": {"eu": {"endpoints": ["192.0.2.11", "2001:db8::11"]},
                        "us": {"endpoints": ["192.0.2.21"]}}}
  }
})";

std::shared_ptr<const routing::ServiceSet> services() {
  const config::JsonSource src = config::JsonSource::parse(subst(kServices), "meridian.json");
  config::Diagnostics d;
  auto set = routing::load_services(src, kFixtures, d);
  REQUIRE(d.empty());
  return set;
}

}  // namespace

TEST_SUITE("routing.loader") {
  TEST_CASE("a good configuration loads without diagnostics") {
    const auto d = load_errors(kServices);
    CHECK(d.empty());
  }

  TEST_CASE("unknown region in a geo list: at the list element") {
    std::string text;
    const auto d = load_errors(R"({
  "geoip": {"city": "@CITY@"},
  "services": {"web": {"policy": "geo",
    "geo": {"EU": ["eu", "mars"], "default": ["eu"]},
    "regions": {"eu": {"endpoints": ["192.0.2.11"]}}}}
})", &text);
    expect_error_at(d, "meridian.json", where(text, "\"mars\""), "mars");
    expect_error_at(d, "meridian.json", where(text, "\"mars\""), "unknown region");
  }

  TEST_CASE("a malformed geo key: at the key") {
    std::string text;
    const auto d = load_errors(R"({
  "geoip": {"city": "@CITY@"},
  "services": {"web": {"policy": "geo",
    "geo": {"EU": ["eu"], "country:usa": ["eu"], "default": ["eu"]},
    "regions": {"eu": {"endpoints": ["192.0.2.11"]}}}}
})", &text);
    expect_error_at(d, "meridian.json", where(text, "\"country:usa\""), "country:usa");
  }

  TEST_CASE("a net key with host bits: at the key") {
    std::string text;
    const auto d = load_errors(R"({
  "services": {"web": {"policy": "geo",
    "geo": {"net:10.0.0.1/8": ["eu"], "default": ["eu"]},
    "regions": {"eu": {"endpoints": ["192.0.2.11"]}}}}
})", &text);
    expect_error_at(d, "meridian.json", where(text, "\"net:10.0.0.1/8\""), "net:10.0.0.1/8");
  }

  TEST_CASE("bad endpoints: not an address, not an object with an address, listed twice") {
    std::string text;
    const auto d = load_errors(R"({
  "services": {"web": {"policy": "failover",
    "regions": {"eu": {"endpoints": ["192.0.2.11", "300.1.1.1", {"weight": 2}, "192.0.2.11"]}}}}
})", &text);
    expect_error_at(d, "meridian.json", where(text, "\"300.1.1.1\""), "300.1.1.1");
    expect_error_at(d, "meridian.json", where(text, "{\"weight\": 2}"), "endpoint");
    const auto last = text.rfind("\"192.0.2.11\"");
    const auto pos = where(text.substr(0, last) + "#MARK#" + text.substr(last + 1), "#MARK#");
    expect_error_at(d, "meridian.json", pos, "twice");
  }

  TEST_CASE("endpoint weight out of range: at the weight") {
    std::string text;
    const auto d = load_errors(R"({
  "services": {"web": {"policy": "failover",
    "regions": {"eu": {"endpoints": [{"address": "192.0.2.11", "weight": 0}]}}}}
})", &text);
    expect_error_at(d, "meridian.json", where(text, "0}]"), "weight");
  }

  TEST_CASE("backends are read with every key the forwarding tier uses; a mistyped key is at the key") {
    std::string text;
    const auto d = load_errors(R"({
  "services": {"web": {"policy": "failover",
    "regions": {"eu": {"endpoints": ["192.0.2.11"],
                       "backends": [{"address": "127.0.0.1:9001", "gruop": "api"}, {"address": "x"}]}}}}
})", &text);
    REQUIRE(d.size() == 2);
    CHECK(d.items()[0].message == "unknown key \"gruop\" (expected one of: address, weight, group, max_connections, tls, protocol, h2_max_sessions)");
    CHECK(std::make_pair(d.items()[0].line, d.items()[0].column) == where(text, "\"gruop\""));
    CHECK(d.items()[1].message == "\"x\" is not an address:port such as 127.0.0.1:9001 or [::1]:9001");
    CHECK(std::make_pair(d.items()[1].line, d.items()[1].column) == where(text, "{\"address\": \"x\"}"));

    const auto empty = load_errors(R"({"services": {"web": {"policy": "failover",
      "regions": {"eu": {"endpoints": ["192.0.2.11"], "backends": []}}}}})");
    REQUIRE(empty.size() == 1);
    // The forwarding tier's wording (it names the string form too).
    CHECK(empty.items()[0].message ==
          "\"backends\" is a non-empty array of \"HOST:PORT\" or {\"address\": \"HOST:PORT\", \"weight\": N}");

    const config::JsonSource src = config::JsonSource::parse(R"({"services": {"web": {"policy": "failover",
      "regions": {"eu": {"endpoints": ["192.0.2.11"],
                         "backends": [{"address": "127.0.0.1:9001", "group": "api", "max_connections": 7, "weight": 3},
                                      "[::1]:9002"]}}}}})", "meridian.json");
    config::Diagnostics good;
    const auto set = routing::load_services(src, kFixtures, good);
    INFO(good.to_string());
    REQUIRE(good.empty());
    const auto& backends = set->services.front().regions.front().backends;
    REQUIRE(backends.size() == 2);
    CHECK(backends[0].address == "127.0.0.1:9001");
    CHECK(backends[0].group == "api");
    CHECK(backends[0].max_connections == 7);
    CHECK(backends[0].weight == 3);
    CHECK(backends[1].host == "::1");
    CHECK(backends[1].port == 9002);
    CHECK(backends[1].group == "default");
  }

  TEST_CASE("location keys without a geoip database: at the policy") {
    std::string text;
    const auto d = load_errors(R"({
  "services": {"web": {"policy": "geo",
    "geo": {"EU": ["eu"], "default": ["eu"]},
    "regions": {"eu": {"endpoints": ["192.0.2.11"]}}}}
})", &text);
    expect_error_at(d, "meridian.json", where(text, "\"policy\": \"geo\"", 10), "geoip");
  }

  TEST_CASE("closest without a geoip database: at the policy") {
    std::string text;
    const auto d = load_errors(R"({
  "services": {"near": {"policy": "closest",
    "regions": {"eu": {"endpoints": ["192.0.2.11"], "location": [53.35, -6.26]}}}}
})", &text);
    expect_error_at(d, "meridian.json", where(text, "\"policy\": \"closest\"", 10), "geoip");
  }

  TEST_CASE("net and default keys alone need no geoip database") {
    const auto d = load_errors(R"({
  "services": {"web": {"policy": "geo",
    "geo": {"net:10.0.0.0/8": ["eu"], "default": ["us"]},
    "regions": {"eu": {"endpoints": ["192.0.2.11"]}, "us": {"endpoints": ["192.0.2.21"]}}}}
})");
    CHECK(d.empty());
  }

  TEST_CASE("a latency row with the wrong number of RTTs: in the latency file, at the row") {
    const auto d = load_errors(R"({
  "geoip": {"city": "@CITY@"},
  "services": {"fast": {"policy": "latency", "latency": "latency-short-row.json",
    "regions": {"eu": {"endpoints": ["192.0.2.11"]}, "us": {"endpoints": ["192.0.2.21"]},
                "ap": {"endpoints": ["192.0.2.31"]}}}}
})");
    std::ifstream in(kFixtures + "latency-short-row.json");
    const std::string table((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    INFO(d.to_string());
    REQUIRE_FALSE(d.empty());
    bool found = false;
    const auto pos = where(table, "[80, 12]");
    for (const auto& item : d.items())
      if (item.file.find("latency-short-row.json") != std::string::npos && item.line == pos.first &&
          item.column == pos.second)
        found = true;
    CHECK(found);
  }

  TEST_CASE("a latency table that does not exist names the path") {
    const auto d = load_errors(R"({
  "geoip": {"city": "@CITY@"},
  "services": {"fast": {"policy": "latency", "latency": "no-such-table.json",
    "regions": {"eu": {"endpoints": ["192.0.2.11"]}}}}
})");
    INFO(d.to_string());
    CHECK(d.to_string().find("no-such-table.json") != std::string::npos);
  }

  TEST_CASE("a latency service without any table: at the service") {
    std::string text;
    const auto d = load_errors(R"({
  "services": {"fast": {"policy": "latency",
    "regions": {"eu": {"endpoints": ["192.0.2.11"]}}}}
})", &text);
    expect_error_at(d, "meridian.json", where(text, "{\"policy\": \"latency\""), "latency");
  }

  TEST_CASE("other service errors are pinned too") {
    struct Case {
      const char* json;
      const char* marker;
      std::size_t skip;
      const char* words;
    };
    const Case cases[] = {
        {R"({"services": {"s": {"policy": "nearest", "regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})",
         "\"nearest\"", 0, "policy"},
        {R"({"services": {"s": {"policy": "failover", "answers": 0, "regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})",
         "0, \"regions\"", 0, "answers"},
        {R"({"services": {"s": {"policy": "failover", "answers": "some", "regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})",
         "\"some\"", 0, "answers"},
        {R"({"services": {"s": {"policy": "failover", "ttls": 5, "regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})",
         "\"ttls\"", 0, "ttls"},
        {R"({"services": {"s": {"policy": "failover", "order": ["a", "b"], "regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})",
         "\"b\"]", 0, "unknown region"},
        {R"({"services": {"s": {"policy": "weighted", "regions": {"a": {"weight": -1, "endpoints": ["192.0.2.1"]}}}}})",
         "-1", 0, "weight"},
        {R"({"services": {"s": {"policy": "closest", "regions": {"a": {"location": [95, 0], "endpoints": ["192.0.2.1"]}}}}})",
         "[95, 0]", 0, "location"},
        {R"({"services": {"s": {"policy": "failover", "regions": {"a": {"endpoints": []}}}}})",
         "{\"endpoints\"", 0, "endpoint"},
        {R"({"dns": {"ecs": {"max_prefix": {"ipv4": 33}}}, "services": {}})", "33", 0, "ipv4"},
        {R"({"dns": {"ecs": {"ipv4_in_ipv6": "yes"}}, "services": {}})", "\"yes\"", 0, "ipv4_in_ipv6"},
        {R"({"services": {"s": {"policy": "failover", "fail_open": "no", "regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})",
         "\"no\"", 0, "fail_open"},
    };
    for (const auto& c : cases) {
      std::string text;
      const auto d = load_errors(c.json, &text);
      INFO(c.json);
      expect_error_at(d, "meridian.json", where(text, c.marker, c.skip), c.words);
    }
  }

  TEST_CASE("a geoip path that cannot be opened: at the path, naming it") {
    std::string text;
    const auto d = load_errors(R"({"geoip": {"city": "missing-city.mmdb"}, "services": {}})", &text);
    expect_error_at(d, "meridian.json", where(text, "\"missing-city.mmdb\""), "missing-city.mmdb");
  }
}

TEST_SUITE("routing.health_files") {
  TEST_CASE("good override files load; later files win; auto is kept as automatic") {
    const auto set = services();
    TempDir dir;
    dir.write("a.json", R"({"web/eu": "down", "web/us/192.0.2.21": {"state": "down", "reason": "by hand"}})");
    dir.write("b.json", R"({"web/eu": {"state": "auto"}})");
    dir.write("notes.txt", "not json, not read");
    config::Diagnostics d;
    const auto m = runtime::load_health_overrides(dir.path(), *set, d);
    INFO(d.to_string());
    REQUIRE(m);
    CHECK(d.empty());
    REQUIRE(m->count("web/eu"));
    CHECK(m->at("web/eu").mode == health::Override::automatic);
    REQUIRE(m->count("web/us/192.0.2.21"));
    CHECK(m->at("web/us/192.0.2.21").mode == health::Override::down);
    CHECK(m->at("web/us/192.0.2.21").reason == "by hand");
  }

  TEST_CASE("override errors name the file and what is wrong; the file is rejected") {
    const auto set = services();
    struct Case {
      const char* text;
      const char* marker;
      const char* words;
    };
    const Case cases[] = {
        {"{\n  \"nope/eu\": \"down\"\n}", "\"nope/eu\"", "unknown service"},
        {"{\n  \"web/mars\": \"down\"\n}", "\"web/mars\"", "mars"},
        {"{\n  \"web/eu/192.0.2.99\": \"down\"\n}", "\"web/eu/192.0.2.99\"", "192.0.2.99"},
        {"{\n  \"web\": \"down\"\n}", "\"web\"", "service/region"},
        {"{\n  \"web/eu\": \"sideways\"\n}", "\"sideways\"", "sideways"},
        {"{\n  \"web/eu\": {\"state\": \"maybe\"}\n}", "\"maybe\"", "maybe"},
        {"{\n  \"web/eu\": {\"state\": \"down\", \"why\": \"x\"}\n}", "\"why\"", "why"},
        {"{\n  \"web/eu\": 5\n}", "5", "up"},
    };
    for (const auto& c : cases) {
      TempDir dir;
      const std::string file = dir.write("ops.json", c.text);
      config::Diagnostics d;
      const auto m = runtime::load_health_overrides(dir.path(), *set, d);
      INFO(c.text);
      CHECK_FALSE(m.has_value());
      INFO(d.to_string());
      bool found = false;
      for (const auto& item : d.items())
        if (item.file == file && item.line >= 1 && item.message.find(c.words) != std::string::npos) found = true;
      CHECK(found);
    }
  }

  TEST_CASE("override errors point at the line and column of the key or value") {
    const auto set = services();
    struct Case {
      const char* text;
      const char* marker;
      const char* words;
    };
    const Case cases[] = {
        {"{\n  \"nope/eu\": \"down\"\n}", "\"nope/eu\"", "unknown service"},
        {"{\n  \"web/mars\": \"down\"\n}", "\"web/mars\"", "mars"},
        {"{\n  \"web/eu/192.0.2.99\": \"down\"\n}", "\"web/eu/192.0.2.99\"", "192.0.2.99"},
        {"{\n  \"web\": \"down\"\n}", "\"web\"", "service/region"},
        {"{\n  \"web/eu\": \"sideways\"\n}", "\"sideways\"", "sideways"},
        {"{\n  \"web/eu\": {\"state\": \"maybe\"}\n}", "\"maybe\"", "maybe"},
        {"{\n  \"web/eu\": {\"state\": \"down\", \"why\": \"x\"}\n}", "\"why\"", "why"},
        {"{\n  \"web/eu\": 5\n}", "5", "up"},
    };
    for (const auto& c : cases) {
      TempDir dir;
      const std::string file = dir.write("ops.json", c.text);
      config::Diagnostics d;
      const auto m = runtime::load_health_overrides(dir.path(), *set, d);
      INFO(c.text);
      CHECK_FALSE(m.has_value());
      expect_error_at(d, file, where(c.text, c.marker), c.words);
    }
  }

  TEST_CASE("a file that does not parse is rejected with its position; a good file next to it does not save it") {
    const auto set = services();
    TempDir dir;
    dir.write("a.json", R"({"web/eu": "down"})");
    const std::string bad = dir.write("b.json", "{\n  \"web/us\": \"down\",\n}\n");
    config::Diagnostics d;
    const auto m = runtime::load_health_overrides(dir.path(), *set, d);
    CHECK_FALSE(m.has_value());
    INFO(d.to_string());
    REQUIRE_FALSE(d.empty());
    CHECK(d.items().front().file == bad);
    CHECK(d.items().front().line >= 2);
    CHECK(d.items().front().column >= 1);
  }
}
