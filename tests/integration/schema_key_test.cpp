// "$schema" (the key editors read a JSON Schema's address from) is accepted and
// ignored at the top of every file an operator edits: meridian.json, zone files,
// health override files and latency tables; any other unknown key still fails.
#include <doctest/doctest.h>

#include <filesystem>

#include "integration/support_backends/meridian_fixture.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

json with_schema(json j, const std::string& key = "$schema") {
  j[key] = "https://example.invalid/meridian/schema/x.schema.json";
  return j;
}

json read_json(const std::string& path) { return json::parse(read_file(path)); }

// The demo configuration copied into dir, each file given `key` at its top.
std::string demo_with_key(TempDir& dir, const std::string& key) {
  dir.write("meridian.json", with_schema(read_json(source_path("meridian.json")), key).dump(2));
  dir.write("zones/example.com.json", with_schema(read_json(source_path("zones/example.com.json")), key).dump(2));
  dir.write("health/demo.json", with_schema(json{{"api/standby", "down"}}, key).dump(2));
  dir.write("geodata/latency.json", with_schema(read_json(source_path("geodata/latency.json")), key).dump(2));
  std::filesystem::copy_file(source_path("geodata/demo-city.mmdb"), dir.file("geodata/demo-city.mmdb"));
  return dir.file("meridian.json");
}

}  // namespace

TEST_CASE("check accepts \"$schema\" in meridian.json, zone, health and latency files") {
  TempDir dir;
  const std::string config = demo_with_key(dir, "$schema");
  const CommandResult r = run_command({meridian_binary(), "check", "--config", config});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("$schema") == std::string::npos);  // no warning about it either
}

TEST_CASE("another unknown key in the same places is still an error") {
  TempDir dir;
  const std::string config = demo_with_key(dir, "$schemas");
  const CommandResult r = run_command({meridian_binary(), "check", "--config", config});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.find("meridian.json:") != std::string::npos);
  CHECK(r.err.find("example.com.json:") != std::string::npos);
  CHECK(r.err.find("demo.json:") != std::string::npos);
}

TEST_CASE("a running server takes a health file with \"$schema\"") {
  Meridian m;
  json config = base_config(json::object(),
                            {{"web", failover_service(region({"127.0.0.11"}, {}, ""), region({"127.0.0.21"}, {}, ""))}});
  config["$schema"] = "meridian.schema.json";
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", with_schema(standard_zone())}}), m.error);
  CHECK(m.one("app.example.test") == "127.0.0.11");
  write_atomic(m.dir.file("health/maintenance.json"), with_schema(json{{"web/eu-west", "down"}}).dump());
  CHECK(m.wait_answer("app.example.test", "127.0.0.21"));
  CHECK(m.log().find("health_file_rejected") == std::string::npos);
  CHECK(m.log_clean());
}
