// Health model pieces without a server: the health table's precedence and
// change notifications, the snapshot's override precedence, "checks" parsing,
// min_healthy arithmetic and override files.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "config/json_source.hpp"
#include "health/checks/check_config.hpp"
#include "health/health_snapshot.hpp"
#include "health/health_table.hpp"
#include "health/overrides.hpp"
#include "routing/service.hpp"

using namespace meridian;
using namespace meridian::health;

TEST_CASE("health table: any source saying down wins; changes notify subscribers") {
  HealthTable t;
  std::vector<std::pair<std::string, State>> heard;
  t.subscribe([&](const std::string& key, const Status& s) { heard.emplace_back(key, s.state); });

  CHECK(t.is_up("svc/r/192.0.2.1"));  // unknown keys are up
  CHECK(t.report("svc/r/192.0.2.1", Source::check, State::up, "HTTP status 200"));
  REQUIRE(heard.size() == 1);
  const uint64_t gen = t.generation();
  // Same state, new reason: no change, but the reason is kept.
  CHECK_FALSE(t.report("svc/r/192.0.2.1", Source::check, State::up, "HTTP status 204"));
  CHECK(heard.size() == 1);
  CHECK(t.generation() == gen);
  CHECK(t.effective()["svc/r/192.0.2.1"].reason == "HTTP status 204");

  CHECK(t.report("svc/r/192.0.2.1", Source::passive, State::down, "5 resets"));
  CHECK_FALSE(t.is_up("svc/r/192.0.2.1"));
  auto e = t.entries()["svc/r/192.0.2.1"];
  CHECK(e.effective.source == Source::passive);
  CHECK(e.effective.reason == "5 resets");
  CHECK(e.by_source.size() == 2);
  REQUIRE(heard.size() == 2);
  CHECK(heard.back().second == State::down);

  // Check down as well: the check (first source) names the reason.
  t.report("svc/r/192.0.2.1", Source::check, State::down, "timeout after 1000ms");
  CHECK(t.effective()["svc/r/192.0.2.1"].source == Source::check);

  t.forget("svc/r/192.0.2.1", Source::check);
  t.forget("svc/r/192.0.2.1", Source::passive);
  CHECK(t.effective().count("svc/r/192.0.2.1") == 0);

  t.report("a/b/1", Source::check, State::down, "x");
  t.report("a/c/2", Source::check, State::down, "y");
  t.retain([](const std::string& k) { return k == "a/b/1"; });
  CHECK(t.effective().size() == 1);
  CHECK_FALSE(t.is_up("a/b/1"));
  CHECK(t.is_up("a/c/2"));
}

TEST_CASE("health snapshot: an override wins, auto defers to what was observed") {
  OverrideMap o;
  o["web/eu"] = Override{Override::down, "maintenance", "ops.json"};
  o["web/us/192.0.2.21"] = Override{Override::up, "by hand", "ops.json"};
  o["web/us/192.0.2.22"] = Override{Override::automatic, "", "ops.json"};
  std::map<std::string, Status> seen;
  seen["web/us/192.0.2.21"] = Status{State::down, Source::check, "timeout", {}};
  seen["web/us/192.0.2.22"] = Status{State::down, Source::check, "HTTP status 500", {}};
  seen["web/us/backend/127.0.0.1:1"] = Status{State::down, Source::check, "connect", {}};
  const HealthSnapshot h(o, seen);

  Status s;
  CHECK(h.region_forced("web", "eu", s));
  CHECK(s.state == State::down);
  CHECK(s.source == Source::override_file);
  CHECK(s.reason == "maintenance");
  CHECK_FALSE(h.region_forced("web", "us", s));

  CHECK(h.endpoint("web", "us", "192.0.2.21").state == State::up);
  CHECK(h.endpoint("web", "us", "192.0.2.21").source == Source::override_file);
  CHECK(h.endpoint("web", "us", "192.0.2.22").state == State::down);  // auto: the check decides
  CHECK(h.endpoint("web", "us", "192.0.2.22").reason == "HTTP status 500");
  CHECK(h.endpoint("web", "us", "192.0.2.23").state == State::up);    // not checked: up
  CHECK(h.status("web/us/backend/127.0.0.1:1").state == State::down);
}

namespace {
struct Checks {
  config::JsonSource source;
  config::Diagnostics diagnostics;
  CheckMap checks;
  explicit Checks(const std::string& text) : source(config::JsonSource::parse(text, "meridian.json")) {
    checks = read_checks(source, diagnostics);
  }
};
}  // namespace

TEST_CASE("checks: defaults, every setting, and errors with positions") {
  {
    Checks c(R"({"checks": {"t": {"type": "tcp"}}})");
    CHECK(c.diagnostics.size() == 0);
    const CheckConfig& t = c.checks.at("t");
    CHECK(t.kind == CheckConfig::tcp);
    CHECK(t.interval == std::chrono::milliseconds(2000));
    CHECK(t.timeout == std::chrono::milliseconds(1000));
    CHECK(t.rise == 2);
    CHECK(t.fall == 3);
    CHECK(t.initial_up);
    CHECK(t.hold_down == std::chrono::milliseconds(0));
  }
  {
    Checks c(R"({"checks": {"h": {"type": "http", "path": "/hc", "host": "x.test", "expect": [200, 204],
      "body": "ok", "port": 8080, "interval": "500ms", "timeout": "200ms", "rise": 1, "fall": 5,
      "initial": "down", "jitter": 0.2, "hold_down": "3s"}}})");
    CHECK(c.diagnostics.size() == 0);
    const CheckConfig& h = c.checks.at("h");
    CHECK(h.kind == CheckConfig::http);
    CHECK(h.path == "/hc");
    CHECK(h.host == "x.test");
    CHECK(h.expect == std::vector<unsigned>{200, 204});
    CHECK(h.body_contains == "ok");
    CHECK(h.port == 8080);
    CHECK(h.interval == std::chrono::milliseconds(500));
    CHECK(h.timeout == std::chrono::milliseconds(200));
    CHECK(h.rise == 1);
    CHECK(h.fall == 5);
    CHECK_FALSE(h.initial_up);
    CHECK(h.jitter == doctest::Approx(0.2));
    CHECK(h.hold_down == std::chrono::milliseconds(3000));
  }
  const char* const bad[] = {
      R"({"checks": {"x": {"type": "icmp"}}})",
      R"({"checks": {"x": {"type": "tcp", "timeout": "3s", "interval": "1s"}}})",
      R"({"checks": {"x": {"type": "tcp", "path": "/"}}})",
      R"({"checks": {"x": {"type": "http", "rise": 0}}})",
      R"({"checks": {"x": {"type": "http", "fall": -1}}})",
      R"({"checks": {"x": {"type": "http", "initial": "maybe"}}})",
      R"({"checks": {"x": {"type": "http", "jitter": 0.9}}})",
      R"({"checks": {"x": {"type": "http", "expect": [99]}}})",
      R"({"checks": {"x": {"type": "http", "expect": []}}})",
      R"({"checks": {"x": {"type": "http", "path": "hc"}}})",
      R"({"checks": {"x": {"type": "http", "port": 70000}}})",
      R"({"checks": {"x": {"type": "http", "interval": "soon"}}})",
      R"({"checks": {"x": {"type": "http", "interval": "0s"}}})",
      R"({"checks": {"x": {"type": "http", "colour": "blue"}}})",
      R"({"checks": []})",
  };
  for (const char* text : bad) {
    CAPTURE(text);
    Checks c(text);
    REQUIRE(c.diagnostics.size() >= 1);
    const std::string message = c.diagnostics.to_string();
    CHECK(message.rfind("meridian.json:1:", 0) == 0);
  }
}

TEST_CASE("min_healthy: counts and percentages round up") {
  routing::MinHealthy count;
  count.count = 2;
  CHECK(count.required(3) == 2);
  routing::MinHealthy pct;
  pct.percent = 50;
  CHECK(pct.required(3) == 2);
  CHECK(pct.required(4) == 2);
  CHECK(pct.required(1) == 1);
  pct.percent = 100;
  CHECK(pct.required(3) == 3);
  pct.percent = 34;
  CHECK(pct.required(3) == 2);
  pct.percent = 1;
  CHECK(pct.required(3) == 1);
}

namespace {
struct TempHealthDir {
  std::string path;
  TempHealthDir() {
    path = (std::filesystem::temp_directory_path() /
            ("meridian-health-unit-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}())))
               .string();
    std::filesystem::create_directories(path);
  }
  ~TempHealthDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name, std::ios::trunc) << text;
  }
};

std::string only_web(const std::string& key) {
  return key.rfind("web/", 0) == 0 ? "" : "unknown service \"" + key.substr(0, key.find('/')) + "\"";
}
}  // namespace

TEST_CASE("override files: states, reasons, later files win, errors name file:line:column") {
  TempHealthDir dir;
  dir.write("a.json", R"({"web/eu": "down", "web/us/192.0.2.21": {"state": "up", "reason": "by hand"}})");
  dir.write("b.json", "{\"web/eu\": \"auto\"}\n");
  dir.write("notes.txt", "not json");
  {
    config::Diagnostics d;
    const OverrideMap o = load_overrides(dir.path, only_web, d);
    CHECK(d.size() == 0);
    REQUIRE(o.size() == 2);
    CHECK(o.at("web/eu").mode == Override::automatic);
    CHECK(o.at("web/us/192.0.2.21").mode == Override::up);
    CHECK(o.at("web/us/192.0.2.21").reason == "by hand");
  }
  dir.write("c.json", "{\n  \"web/eu\": \"down\",\n  \"api/eu\": \"down\"\n}\n");
  {
    config::Diagnostics d;
    load_overrides(dir.path, only_web, d);
    REQUIRE(d.size() == 1);
    INFO(d.to_string());
    CHECK(d.to_string().find("c.json:") != std::string::npos);
    CHECK(d.to_string().find("unknown service \"api\"") != std::string::npos);
  }
  dir.write("c.json", "{\n  \"web/eu\": \"down\",\n");
  {
    config::Diagnostics d;
    load_overrides(dir.path, only_web, d);
    REQUIRE(d.size() >= 1);
    CHECK(d.to_string().find("c.json:") != std::string::npos);
  }
  {
    config::Diagnostics d;
    CHECK(load_overrides(dir.path + "/missing", only_web, d).empty());
    CHECK(d.size() == 0);
  }
}

// Keys hold '/' ("web/eu"), which a JSON pointer must escape ("/web~1eu"); the
// position must still be the key's own line, not the enclosing object's.
TEST_CASE("override file errors point at the offending key's line and column") {
  TempHealthDir dir;
  dir.write("c.json", "{\n  \"web/eu\": \"down\",\n  \"api/eu\": \"down\"\n}\n");
  {
    config::Diagnostics d;
    load_overrides(dir.path, only_web, d);
    INFO(d.to_string());
    CHECK(d.to_string().find("c.json:3:3: ") != std::string::npos);
  }
  dir.write("c.json", "{\n  \"web/eu\": \"sideways\"\n}\n");
  {
    config::Diagnostics d;
    load_overrides(dir.path, only_web, d);
    INFO(d.to_string());
    CHECK(d.to_string().find("c.json:2:") != std::string::npos);
  }
}

// explain's mode: a file with any error is left out whole (a half-applied file
// would explain a state no server ever had); files before and after it apply.
TEST_CASE("override files, skip mode: a bad file is left out whole, its errors become warnings") {
  TempHealthDir dir;
  dir.write("a.json", R"({"web/eu": "down", "web/us": "down"})");
  dir.write("b.json", "{\n  \"web/us\": \"up\",\n  \"api/eu\": \"down\"\n}\n");  // one good key, one bad
  dir.write("c.json", R"({"web/ap": {"state": "down", "reason": "later file"}})");
  config::Diagnostics d;
  const OverrideMap o = load_overrides(dir.path, only_web, d, BadOverrideFile::skip);
  CHECK(d.empty());
  REQUIRE(d.warnings().size() == 2);
  CHECK(d.warnings()[0].to_string().find("b.json:3:3: unknown service \"api\"") != std::string::npos);
  CHECK(d.warnings()[1].message.find("health file rejected") != std::string::npos);
  REQUIRE(o.size() == 3);
  CHECK(o.at("web/eu").mode == Override::down);
  CHECK(o.at("web/us").mode == Override::down);  // b.json's "up" is not applied
  CHECK(o.at("web/ap").reason == "later file");

  config::Diagnostics strict;
  load_overrides(dir.path, only_web, strict);
  CHECK(strict.size() == 1);
  CHECK(strict.warnings().empty());
}
