// "log": {"level", "format"} in meridian.json and `serve --log-level`: the level
// filters, "json" writes one JSON object per line, the flag wins over the file,
// and bad values are reported (exit 1 for the file, 2 for the flag). The server
// is started here with its own arguments; systemd's READY=1 on a test-owned
// socket says when it is up, since the log may not.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <regex>
#include <sstream>

#include "integration/harness/notify_listener.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

extern char** environ;

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

json config_with_log(const json& log) {
  json c = base_config(json::object(),
                       {{"web", failover_service(region({"127.0.0.11"}, {}, ""), region({"127.0.0.21"}, {}, ""))}});
  c["log"] = log;
  return c;
}

// `meridian serve --config <dir>/meridian.json [extra]` with stderr in <dir>/meridian.log,
// ready when it notifies READY=1; SIGTERM and the exit status on stop().
class LoggingServer {
 public:
  LoggingServer(TempDir& dir, const json& config, const std::vector<std::string>& extra)
      : notify_address_("@meridian-log-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter_)),
        systemd_(notify_address_) {
    dir.write("zones/example.test.json", standard_zone().dump(2));
    std::filesystem::create_directories(dir.file("health"));
    config_path_ = dir.write("meridian.json", config.dump(2));
    log_path_ = dir.file("meridian.log");
    std::vector<std::string> args{meridian_binary(), "serve", "--config", config_path_};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ScopedEnv notify("NOTIFY_SOCKET", notify_address_);
    spawned_ = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) == 0;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~LoggingServer() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
  }

  bool wait_ready() { return spawned_ && systemd_.wait_for_message("READY=1"); }
  std::string log() const { return read_file(log_path_); }
  bool wait_log(const std::string& needle) const {
    return wait_for([&] { return log().find(needle) != std::string::npos; });
  }
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto end = Clock::now() + kStopDeadline;
    while (Clock::now() < end) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // bounded by the deadline
    }
    return -2;
  }
  const std::string& config_path() const { return config_path_; }

 private:
  static inline int counter_ = 0;
  std::string notify_address_;
  NotifyListener systemd_;
  std::string config_path_, log_path_;
  pid_t pid_ = -1;
  bool spawned_ = false;
  bool reaped_ = false;
};

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    CHECK_MESSAGE(j.is_object(), "not a JSON object: " << line);
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

TEST_CASE("log.level warn and log.format json: JSON lines, warnings and errors only") {
  TempDir dir;
  LoggingServer s(dir, config_with_log({{"level", "warn"}, {"format", "json"}}), {});
  REQUIRE_MESSAGE(s.wait_ready(), s.log());
  // A health file that does not load: an error and a warning are logged, nothing at info.
  write_atomic(dir.file("health/bad.json"), R"({"web/no-such-region": "down"})");
  REQUIRE_MESSAGE(s.wait_log("health_file_rejected"), s.log());
  CHECK(s.stop() == 0);
  const auto lines = json_lines(s.log());
  bool rejected = false;
  for (const auto& j : lines) {
    CHECK(j.contains("ts"));
    CHECK(j.contains("event"));
    const std::string level = j.value("level", "");
    CHECK_MESSAGE((level == "warn" || level == "error"), j.dump());
    if (j.value("event", "") == "health_file_rejected") rejected = level == "warn" && j.contains("reason");
  }
  CHECK(rejected);
}

TEST_CASE("--log-level wins over log.level; the format still comes from the file") {
  TempDir dir;
  LoggingServer s(dir, config_with_log({{"level", "error"}, {"format", "json"}}), {"--log-level", "info"});
  REQUIRE_MESSAGE(s.wait_ready(), s.log());
  REQUIRE_MESSAGE(s.wait_log("\"event\":\"ready\""), s.log());
  CHECK(s.stop() == 0);
  bool listening = false;
  for (const auto& j : json_lines(s.log()))
    listening = listening || (j.value("event", "") == "listening" && j.value("level", "") == "info" &&
                              j.value("address", "").rfind("127.0.0.1:", 0) == 0);
  CHECK(listening);
}

TEST_CASE("the default is logfmt at info") {
  TempDir dir;
  json c = config_with_log(json::object());
  LoggingServer s(dir, c, {});
  REQUIRE_MESSAGE(s.wait_ready(), s.log());
  REQUIRE_MESSAGE(s.wait_log("event=ready"), s.log());
  CHECK(s.stop() == 0);
  CHECK(std::regex_search(s.log(), std::regex("(^|\n)ts=[0-9T:.Z-]+ level=info event=listening address=127\\.0\\.0\\.1:")));
}

TEST_CASE("bad log settings: the file is reported at file:line:column, the flag is a usage error") {
  TempDir dir;
  dir.write("zones/example.test.json", standard_zone().dump(2));
  const std::string loud = dir.write("loud.json", config_with_log({{"level", "loud"}}).dump(2));
  const CommandResult r1 = run_command({meridian_binary(), "check", "--config", loud});
  CHECK(r1.exit_code == 1);
  CHECK_MESSAGE(std::regex_search(r1.err, std::regex("loud\\.json:[0-9]+:[0-9]+: .*debug")), r1.err);
  const std::string colour = dir.write("colour.json", config_with_log({{"colour", true}}).dump(2));
  const CommandResult r2 = run_command({meridian_binary(), "check", "--config", colour});
  CHECK(r2.exit_code == 1);
  CHECK_MESSAGE(std::regex_search(r2.err, std::regex("colour\\.json:[0-9]+:[0-9]+: unknown key \"colour\"")), r2.err);
  const std::string not_object = dir.write("string.json", config_with_log("debug").dump(2));
  CHECK(run_command({meridian_binary(), "check", "--config", not_object}).exit_code == 1);
  const std::string good = dir.write("good.json", config_with_log({{"level", "debug"}, {"format", "logfmt"}}).dump(2));
  CHECK(run_command({meridian_binary(), "check", "--config", good}).exit_code == 0);
  CHECK(run_command({meridian_binary(), "serve", "--config", good, "--log-level", "loud"}).exit_code == 2);
}

// What systemd's JOURNAL_STREAM would say for this file: its "DEVICE:INODE".
std::string stream_id(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return std::to_string(static_cast<uint64_t>(st.st_dev)) + ":" + std::to_string(static_cast<uint64_t>(st.st_ino));
}

TEST_CASE("stderr is the journal (JOURNAL_STREAM matches it): each line starts with its syslog priority") {
  for (const char* format : {"logfmt", "json"}) {
    CAPTURE(format);
    TempDir dir;
    // The log file exists before the server opens it (O_TRUNC keeps the inode), so its id is known.
    const std::string log_path = dir.write("meridian.log", "");
    ScopedEnv journal("JOURNAL_STREAM", stream_id(log_path));
    LoggingServer s(dir, config_with_log({{"level", "debug"}, {"format", format}}), {});
    REQUIRE_MESSAGE(s.wait_ready(), s.log());
    write_atomic(dir.file("health/bad.json"), R"({"web/no-such-region": "down"})");
    REQUIRE_MESSAGE(s.wait_log("health_file_rejected"), s.log());
    CHECK(s.stop() == 0);
    std::istringstream in(s.log());
    std::string line;
    std::map<std::string, int> by_level;
    int lines = 0;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ++lines;
      std::smatch m;
      const bool prefixed = std::regex_search(line, m, std::regex(R"(^<([3467])>)"));
      CHECK_MESSAGE(prefixed, line);
      if (!prefixed) continue;
      const std::string rest = line.substr(3);
      // The prefix is the line's own level: error 3, warn 4, info 6, debug 7.
      const std::string level = format == std::string("json") ? json::parse(rest).value("level", "")
                                                              : rest.substr(rest.find("level=") + 6, rest.find(" event=") - rest.find("level=") - 6);
      const std::map<std::string, std::string> priority = {{"error", "3"}, {"warn", "4"}, {"info", "6"}, {"debug", "7"}};
      CHECK_MESSAGE(priority.count(level) == 1, line);
      if (priority.count(level)) CHECK_MESSAGE(priority.at(level) == m[1].str(), line);
      ++by_level[level];
    }
    CHECK(lines >= 3);
    CHECK(by_level["info"] >= 1);
    CHECK(by_level["error"] >= 1);  // the health file's error
    CHECK(by_level["warn"] >= 1);   // and its rejection
  }
}

TEST_CASE("JOURNAL_STREAM naming another stream (stderr redirected since): no prefixes") {
  TempDir dir;
  const std::string other = dir.write("other", "");
  ScopedEnv journal("JOURNAL_STREAM", stream_id(other));
  LoggingServer s(dir, config_with_log(json::object()), {});
  REQUIRE_MESSAGE(s.wait_ready(), s.log());
  REQUIRE_MESSAGE(s.wait_log("event=ready"), s.log());
  CHECK(s.stop() == 0);
  CHECK_MESSAGE(std::regex_search(s.log(), std::regex("^ts=")), s.log());
  CHECK(s.log().find("<6>") == std::string::npos);
}
