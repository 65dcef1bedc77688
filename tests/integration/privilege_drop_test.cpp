// "user" in meridian.json: once every listener is bound, a root process becomes
// that user (groups, gid, uid, no_new_privs) and keeps serving and reloading;
// root without "user" warns and runs on; a user that does not exist stops the start.
#include <doctest/doctest.h>

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>

#include "integration/harness/dig.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

json web_config() {
  return base_config(json::object(),
                     {{"web", failover_service(region({"127.0.0.11"}, {}, ""), region({"127.0.0.21"}, {}, ""))}});
}

// The value of a "Key:\t..." line of /proc/PID/status, tabs as spaces.
std::string proc_status(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    std::string value = line.substr(key.size() + 1);
    for (char& c : value) if (c == '\t') c = ' ';
    value.erase(0, value.find_first_not_of(' '));
    return value;
  }
  return {};
}

// A user other than root that exists on every Debian system.
const passwd* unprivileged_user() { return ::getpwnam("nobody"); }

}  // namespace

TEST_CASE("\"user\": after binding, the process runs as that user and still serves and reloads") {
  const passwd* nobody = unprivileged_user();
  REQUIRE_MESSAGE(nobody, "the test needs the user \"nobody\"");
  const std::string uid = std::to_string(nobody->pw_uid);
  const std::string gid = std::to_string(nobody->pw_gid);
  json config = web_config();
  config["user"] = "nobody";
  Meridian m;
  // The user must be able to read its files after the drop (mkdtemp makes 0700).
  ::chmod(m.dir.path().c_str(), 0755);
  if (::geteuid() != 0) {
    // Not root: it cannot switch, and says so instead of serving as someone else.
    CHECK_FALSE(m.start(config, {{"example.test.json", standard_zone()}}));
    CHECK_MESSAGE(m.error.find("not started as root") != std::string::npos, m.error);
    return;
  }
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone()}}), m.error);
  const pid_t pid = m.process.pid();
  CHECK(proc_status(pid, "Uid") == uid + " " + uid + " " + uid + " " + uid);
  CHECK(proc_status(pid, "Gid") == gid + " " + gid + " " + gid + " " + gid);
  CHECK(proc_status(pid, "NoNewPrivs") == "1");
  CHECK(proc_status(pid, "CapEff") == "0000000000000000");
  // Every thread, not only the one that dropped.
  std::size_t threads = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    std::ifstream in(entry.path() / "status");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    CHECK_MESSAGE(std::regex_search(text, std::regex("\nUid:\\s+" + uid + "\\s+" + uid + "\\s+" + uid + "\\s")), text);
    CHECK_MESSAGE(text.find("NoNewPrivs:\t1") != std::string::npos, text);
    ++threads;
  }
  CHECK(threads > 2);
  CHECK_MESSAGE(std::regex_search(m.process.log(), std::regex("event=privileges_dropped user=nobody group=\\S+ uid=" + uid)),
                m.process.log());
  CHECK(m.process.log().find("running_as_root") == std::string::npos);

  DigResult www = dig(m.dns, {"www.example.test", "A"});
  REQUIRE_MESSAGE(www.ok, www.output);
  CHECK(DigResult::keys(www.answer, "A") == std::vector<std::string>{"www.example.test. A 192.0.2.80"});
  CHECK(m.a("app.example.test").addresses == std::vector<std::string>{"127.0.0.11"});

  // A zone edit is read by the unprivileged process.
  json zone = standard_zone(2026010102);
  zone["records"]["www"] = {{"A", "192.0.2.81"}};
  write_atomic(m.dir.file("zones/example.test.json"), zone.dump(2));
  CHECK(wait_for([&] {
    const DigResult r = dig(m.dns, {"www.example.test", "A"});
    return DigResult::keys(r.answer, "A") == std::vector<std::string>{"www.example.test. A 192.0.2.81"};
  }));
  CHECK(m.process.stop() == 0);
}

TEST_CASE("root without \"user\" warns and serves; a user that does not exist stops the start") {
  {
    Meridian m;
    REQUIRE_MESSAGE(m.start(web_config(), {{"example.test.json", standard_zone()}}), m.error);
    if (::geteuid() == 0) CHECK_MESSAGE(m.process.log().find("level=warn event=running_as_root") != std::string::npos, m.process.log());
    else CHECK(m.process.log().find("running_as_root") == std::string::npos);
    CHECK(m.process.log().find("privileges_dropped") == std::string::npos);
  }
  {
    json config = web_config();
    config["user"] = "no-such-user-meridian";
    Meridian m;
    CHECK_FALSE(m.start(config, {{"example.test.json", standard_zone()}}));
    CHECK_MESSAGE(m.error.find("no such user \\\"no-such-user-meridian\\\"") != std::string::npos, m.error);
  }
}

TEST_CASE("\"user\" is checked: a name, optionally with \":group\"") {
  TempDir dir;
  dir.write("zones/example.test.json", standard_zone().dump(2));
  for (const char* bad : {"", ":nogroup", "nobody:", "a:b:c"}) {
    json config = web_config();
    config["user"] = bad;
    const std::string path = dir.write("bad.json", config.dump(2));
    const CommandResult r = run_command({meridian_binary(), "check", "--config", path});
    CHECK_MESSAGE(r.exit_code == 1, bad);
    CHECK_MESSAGE(std::regex_search(r.err, std::regex("bad\\.json:[0-9]+:[0-9]+: .*\"user\" names the user")), r.err);
  }
  json config = web_config();
  config["user"] = 7;
  CHECK(run_command({meridian_binary(), "check", "--config", dir.write("num.json", config.dump(2))}).exit_code == 1);
  config["user"] = "nobody:nogroup";
  CHECK(run_command({meridian_binary(), "check", "--config", dir.write("good.json", config.dump(2))}).exit_code == 0);
}
