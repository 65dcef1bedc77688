// POST /reload answers once the reload finished, with its result; `meridian
// reload` and `meridian status` over the admin endpoint and their exit codes;
// the probes answer without the token and every other route needs it; `/`
// lists the routes; methods are checked.
#include <doctest/doctest.h>

#include <cmath>
#include <regex>
#include <thread>

#include "integration/harness/http_backend.hpp"
#include "integration/support_backends/meridian_fixture.hpp"
#include "integration/support_backends/metrics_scrape.hpp"
#include "integration/support_backends/prometheus_text.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

const char* const kToken = "s3cret";

json api_config(const json& admin = json{{"listen", "127.0.0.1:0"}, {"token", kToken}}) {
  return base_config(json::object(),
                     {{"web", failover_service(region({"127.0.0.11"}, {}, ""), region({"127.0.0.21"}, {}, ""))}}, admin);
}

// A request with any method, with the token or without; 90 s for a reload to answer.
HttpResponse admin_request(uint16_t port, const std::string& method, const std::string& target, bool with_token) {
  std::vector<std::string> headers;
  if (with_token) headers.push_back(std::string("Authorization: Bearer ") + kToken);
  return http_request(port, method, target, headers, std::chrono::seconds(90));
}

CommandResult meridian_cli(const std::vector<std::string>& args) {
  std::vector<std::string> argv{meridian_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

std::string admin_address(const Meridian& m) { return "127.0.0.1:" + std::to_string(m.admin_port); }

// A loopback port nothing listens on (bound, then closed).
uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

TEST_CASE("reload metrics: a duration histogram of every reload, the last success's time; build_info") {
  const double started = unix_now();
  Meridian m;
  REQUIRE_MESSAGE(m.start(api_config(), {{"example.test.json", standard_zone()}}), m.error);
  const prom::Exposition first = scrape(m);
  CHECK(first.families.at("meridian_reload_duration_seconds").type == "histogram");
  CHECK(first.value("meridian_reload_duration_seconds_count") == 0);
  CHECK(first.value("meridian_reload_duration_seconds_bucket", {{"le", "+Inf"}}) == 0);
  // The load at start counts as the first success.
  const double at_start = first.value("meridian_reload_last_success_timestamp_seconds").value_or(0);
  CHECK(at_start >= std::floor(started));
  CHECK(at_start <= unix_now() + 1);
  std::string version, compiler;
  for (const auto& sample : first.samples)
    if (sample.name == "meridian_build_info") {
      CHECK(sample.value == 1);
      version = sample.labels.count("version") ? sample.labels.at("version") : "";
      compiler = sample.labels.count("compiler") ? sample.labels.at("compiler") : "";
    }
  CHECK(version == MERIDIAN_VERSION);
  CHECK_MESSAGE(std::regex_search(compiler, std::regex("^(gcc|clang) [0-9]+\\.")), compiler);

  // Wall-clock seconds move between the start and the reload, so the timestamp must too.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  REQUIRE(admin_request(m.admin_port, "POST", "/reload", true).status == 200);
  const prom::Exposition ok = scrape(m);
  CHECK(ok.value("meridian_reload_duration_seconds_count") == 1);
  CHECK(ok.value("meridian_reload_duration_seconds_bucket", {{"le", "+Inf"}}) == 1);
  CHECK(ok.value("meridian_reload_duration_seconds_bucket", {{"le", "60"}}) == 1);
  CHECK(ok.value("meridian_reload_duration_seconds_sum").value_or(-1) > 0);
  const double after_ok = ok.value("meridian_reload_last_success_timestamp_seconds").value_or(0);
  CHECK(after_ok > at_start);

  // A rejected reload is timed too, and leaves the last success where it was.
  json broken = api_config({{"listen", "127.0.0.1:" + std::to_string(m.admin_port)}, {"token", kToken}});
  broken["dns"]["bogus_key"] = 1;
  write_atomic(m.config_path, broken.dump(2) + "\n");
  REQUIRE(admin_request(m.admin_port, "POST", "/reload", true).status == 422);
  const prom::Exposition rejected = scrape(m);
  CHECK(rejected.value("meridian_reload_duration_seconds_count") == 2);
  CHECK(rejected.value("meridian_reload_last_success_timestamp_seconds") == after_ok);
  // Buckets are cumulative: each is at most the next, the last equals the count.
  double previous = 0;
  int buckets = 0;
  for (const auto& sample : rejected.samples)
    if (sample.name == "meridian_reload_duration_seconds_bucket") {
      CHECK(sample.value >= previous);
      previous = sample.value;
      ++buckets;
    }
  CHECK(buckets >= 2);
  CHECK(previous == 2);
}

TEST_CASE("POST /reload answers after the reload with its result; a rejected one names file:line:column") {
  Meridian m;
  REQUIRE_MESSAGE(m.start(api_config(), {{"example.test.json", standard_zone()}}), m.error);
  const uint64_t before = m.status()["reload"]["reloads"].get<uint64_t>();

  const HttpResponse ok = admin_request(m.admin_port, "POST", "/reload", true);
  REQUIRE(ok.ok);
  INFO(ok.raw);
  CHECK(ok.status == 200);
  const json report = json::parse(ok.body);
  CHECK(report["result"] == "ok");
  CHECK(report["trigger"] == "admin");
  CHECK(report["took_ms"].is_number());
  CHECK(report["zones"] == 1);
  CHECK(report["services"] == 1);
  CHECK(report["errors"].empty());
  CHECK(report["zone_errors"].empty());
  // Nothing changed: the zone and the service were taken over.
  CHECK(report["built"]["zones_reused"] == 1);
  CHECK(report["built"]["zones_built"] == 0);
  CHECK(report["built"]["services_reused"] == 1);
  // The answer came after the reload: /status counts it already.
  CHECK(m.status()["reload"]["reloads"].get<uint64_t>() >= before + 1);

  // An unknown key in meridian.json: the reload is rejected, the old state serves.
  json broken = api_config({{"listen", "127.0.0.1:" + std::to_string(m.admin_port)}, {"token", kToken}});
  broken["dns"]["bogus_key"] = 1;
  write_atomic(m.config_path, broken.dump(2) + "\n");
  const HttpResponse rejected = admin_request(m.admin_port, "POST", "/reload", true);
  REQUIRE(rejected.ok);
  INFO(rejected.raw);
  CHECK(rejected.status == 422);
  const json bad = json::parse(rejected.body);
  CHECK(bad["result"] == "rejected");
  REQUIRE(bad["errors"].size() >= 1);
  const std::regex located("meridian\\.json:[0-9]+:[0-9]+: .*bogus_key");
  bool named = false;
  for (const auto& e : bad["errors"]) named = named || std::regex_search(e.get<std::string>(), located);
  CHECK_MESSAGE(named, bad.dump());
  CHECK(m.one("app.example.test") == "127.0.0.11");
  CHECK(m.log_clean());
}

TEST_CASE("meridian reload and meridian status: output and exit codes") {
  Meridian m;
  REQUIRE_MESSAGE(m.start(api_config(), {{"example.test.json", standard_zone()}}), m.error);
  // The config says 127.0.0.1:0 (a port picked at start), so --admin names the bound one.
  const std::string admin = admin_address(m);

  const CommandResult ok = meridian_cli({"reload", "--config", m.config_path, "--admin", admin});
  INFO(ok.out << ok.err);
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("reload ok") != std::string::npos);

  const CommandResult as_json = meridian_cli({"reload", "--config", m.config_path, "--admin", admin, "--json"});
  CHECK(as_json.exit_code == 0);
  CHECK(json::parse(as_json.out, nullptr, false).value("result", "") == "ok");

  const CommandResult status = meridian_cli({"status", "--config", m.config_path, "--admin", admin});
  INFO(status.out << status.err);
  CHECK(status.exit_code == 0);
  CHECK(status.out.find(": ready\n") != std::string::npos);
  CHECK(status.out.find("zone example.test. loaded") != std::string::npos);
  CHECK(status.out.find("service web (failover): eu-west=up us-east=up") != std::string::npos);
  const CommandResult status_json = meridian_cli({"status", "--config", m.config_path, "--admin", admin, "--json"});
  CHECK(status_json.exit_code == 0);
  CHECK(json::parse(status_json.out, nullptr, false).value("ready", false));

  // The token comes from the config; a wrong one given as a flag is refused.
  const CommandResult wrong_token = meridian_cli({"status", "--config", m.config_path, "--admin", admin, "--token", "nope"});
  CHECK(wrong_token.exit_code == 1);
  CHECK(wrong_token.err.find("401") != std::string::npos);
  // Nobody there.
  const CommandResult nobody =
      meridian_cli({"status", "--config", m.config_path, "--admin", "127.0.0.1:" + std::to_string(closed_port())});
  CHECK(nobody.exit_code == 1);
  // No admin endpoint in the config and none given.
  TempDir dir;
  const std::string no_admin = dir.write("meridian.json", R"({"dns": {"listen": ["127.0.0.1:0"]}, "zones": "zones/"})");
  CHECK(meridian_cli({"reload", "--config", no_admin}).exit_code == 1);
  CHECK(meridian_cli({"status", "--config", dir.file("missing.json")}).exit_code == 1);
  // Usage errors.
  CHECK(meridian_cli({"reload", "--bogus"}).exit_code == 2);
  CHECK(meridian_cli({"status", "--admin"}).exit_code == 2);

  // A rejected reload exits 1 and prints the error; the server keeps serving.
  json broken = api_config({{"listen", admin}, {"token", kToken}});
  broken["services"]["web"]["policy"] = "no-such-policy";
  write_atomic(m.config_path, broken.dump(2) + "\n");
  const CommandResult rejected = meridian_cli({"reload", "--config", m.config_path});  // address and token from the file
  INFO(rejected.out << rejected.err);
  CHECK(rejected.exit_code == 1);
  CHECK(std::regex_search(rejected.err, std::regex("meridian\\.json:[0-9]+:[0-9]+: ")));
  CHECK(rejected.err.find("reload rejected") != std::string::npos);
  CHECK(m.one("app.example.test") == "127.0.0.11");
  const CommandResult after = meridian_cli({"status", "--config", m.config_path});
  CHECK(after.exit_code == 0);
  CHECK(after.out.find("last rejected") != std::string::npos);

  // A zone file that does not load: the reload is published, the command exits 1.
  json fixed = api_config({{"listen", admin}, {"token", kToken}});
  write_atomic(m.config_path, fixed.dump(2) + "\n");
  CHECK(meridian_cli({"reload", "--config", m.config_path}).exit_code == 0);
  write_atomic(m.dir.file("zones/broken.test.json"), R"({"origin": "broken.test.", "records": {"@": {"A": "192.0.2.300"}}})");
  const CommandResult zone_bad = meridian_cli({"reload", "--config", m.config_path});
  INFO(zone_bad.out << zone_bad.err);
  CHECK(zone_bad.exit_code == 1);
  CHECK(zone_bad.out.find("reload ok") != std::string::npos);
  CHECK(zone_bad.err.find("broken.test.json:") != std::string::npos);
  CHECK(m.log_clean());
}

TEST_CASE("the probes answer without the token; every other route needs it; / lists the routes") {
  Meridian m;
  REQUIRE_MESSAGE(m.start(api_config(), {{"example.test.json", standard_zone()}}), m.error);
  CHECK(admin_request(m.admin_port, "GET", "/healthz", false).status == 200);
  const HttpResponse ready = admin_request(m.admin_port, "GET", "/readyz", false);
  CHECK(ready.status == 200);
  CHECK(ready.body == "ready\n");
  for (const char* path : {"/", "/metrics", "/status", "/no-such-page"})
    CHECK_MESSAGE(admin_request(m.admin_port, "GET", path, false).status == 401, path);
  CHECK(admin_request(m.admin_port, "POST", "/reload", false).status == 401);

  const HttpResponse index = admin_request(m.admin_port, "GET", "/", true);
  CHECK(index.status == 200);
  for (const char* line : {"POST /reload", "GET  /status", "GET  /metrics", "GET  /healthz", "GET  /readyz", "GET  /explain"})
    CHECK_MESSAGE(index.body.find(line) != std::string::npos, line << "\n" << index.body);
  CHECK(admin_request(m.admin_port, "GET", "/no-such-page", true).status == 404);
  // Methods: /reload is POST only, the others GET (and HEAD).
  CHECK(admin_request(m.admin_port, "GET", "/reload", true).status == 405);
  CHECK(admin_request(m.admin_port, "POST", "/status", true).status == 405);
  CHECK(admin_request(m.admin_port, "DELETE", "/status", true).status == 405);
  CHECK(admin_request(m.admin_port, "HEAD", "/status", true).status == 200);
  CHECK(m.log_clean());
}
