// systemd notification over a test-owned $NOTIFY_SOCKET (a path, and an abstract
// socket): READY=1 once listeners are up, WATCHDOG=1 every half of
// $WATCHDOG_USEC, RELOADING=1 with MONOTONIC_USEC before and READY=1 with the
// result in STATUS= after each reload, STOPPING=1 on SIGTERM.
#include <doctest/doctest.h>

#include <time.h>

#include "integration/harness/notify_listener.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

long long monotonic_usec() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<long long>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
}

json config() {
  return base_config(json::object(),
                     {{"web", failover_service(region({"127.0.0.11"}, {}, ""), region({"127.0.0.21"}, {}, ""))}});
}

// The value of KEY= in a notify message ("" when absent).
std::string field(const std::string& message, const std::string& key) {
  std::istringstream lines(message);
  std::string line;
  while (std::getline(lines, line))
    if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
  return "";
}

void run_notify_scenario(const std::string& socket_address) {
  NotifyListener systemd(socket_address);
  ScopedEnv notify_socket("NOTIFY_SOCKET", socket_address);
  ScopedEnv watchdog("WATCHDOG_USEC", "400000");  // a ping every 200 ms
  Meridian m;
  REQUIRE_MESSAGE(m.start(config(), {{"example.test.json", standard_zone()}}), m.error);

  // READY=1 comes once every listener is up: the admin port answers and DNS is served.
  REQUIRE_MESSAGE(systemd.wait_for_message("READY=1"), systemd.all());
  const std::string ready = systemd.last_found();
  CHECK(field(ready, "STATUS") == "serving 1 zone, 1 service");
  CHECK(m.get("/readyz").status == 200);
  CHECK(m.one("app.example.test") == "127.0.0.11");

  // The watchdog keeps pinging (three in a row is enough to know it repeats).
  for (int i = 0; i < 3; ++i) CHECK_MESSAGE(systemd.wait_for_message("WATCHDOG=1"), systemd.all());

  // A reload: RELOADING=1 with the monotonic time, then READY=1 with the result.
  m.sighup();
  REQUIRE_MESSAGE(systemd.wait_for_message("RELOADING=1"), systemd.all());
  const long long stamp = std::atoll(field(systemd.last_found(), "MONOTONIC_USEC").c_str());
  const long long now = monotonic_usec();
  CHECK(stamp > 0);
  CHECK(stamp <= now);
  CHECK(stamp > now - 60'000'000);
  REQUIRE_MESSAGE(systemd.wait_for_message("READY=1"), systemd.all());
  CHECK(field(systemd.last_found(), "STATUS").find("last reload (SIGHUP) ok in ") != std::string::npos);

  // A rejected reload is still bracketed, and STATUS= says why.
  json broken = config();
  broken["admin"]["listen"] = "127.0.0.1:" + std::to_string(m.admin_port);
  broken["services"]["web"]["ttl"] = "not a number";
  write_atomic(m.config_path, broken.dump(2) + "\n");
  REQUIRE_MESSAGE(systemd.wait_for_message("RELOADING=1"), systemd.all());
  REQUIRE_MESSAGE(systemd.wait_for_message("READY=1"), systemd.all());
  const std::string status = field(systemd.last_found(), "STATUS");
  CHECK(status.find("serving 1 zone, 1 service; last reload") == 0);
  CHECK(status.find("rejected (") != std::string::npos);
  CHECK(status.find("meridian.json:") != std::string::npos);

  CHECK(m.process.stop() == 0);
  CHECK_MESSAGE(systemd.wait_for_message("STOPPING=1"), systemd.all());
  CHECK(m.log_clean());
}

}  // namespace

TEST_CASE("systemd notification on a socket path") {
  TempDir dir;
  // sockaddr_un holds 108 bytes: a short name under /tmp when $TMPDIR is long.
  std::string path = dir.file("notify");
  if (path.size() >= 100) path = "/tmp/meridian-notify-" + std::to_string(::getpid());
  ::unlink(path.c_str());
  run_notify_scenario(path);
  ::unlink(path.c_str());
}

TEST_CASE("systemd notification on an abstract socket") {
  run_notify_scenario("@meridian-notify-test-" + std::to_string(::getpid()));
}
