// Integration-test harness: temp dirs, child processes, and the real meridian
// server started on loopback with a free port.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace meridian::test {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Generous: tests run under ASan+UBSan on a loaded 2-core machine.
inline constexpr std::chrono::seconds kStartDeadline{30};
inline constexpr std::chrono::seconds kStopDeadline{30};
inline constexpr std::chrono::seconds kCommandDeadline{60};

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction unless MERIDIAN_KEEP_TEMP is set.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // Writes (creating folders) path()/relative; returns the full path.
  std::string write(const std::string& relative, const std::string& content) const;
  std::string file(const std::string& relative) const { return path_ + "/" + relative; }

 private:
  std::string path_;
};

std::string read_file(const std::string& path);
// A file from the source tree, e.g. source_path("tests/data/dns/example.com.json").
std::string source_path(const std::string& relative);
std::string meridian_binary();

struct CommandResult {
  int exit_code = -1;     // -1 when killed by a signal or timed out
  int signal = 0;         // the terminating signal, if any
  bool timed_out = false;
  std::string out;        // stdout
  std::string err;        // stderr
};

// Runs argv (argv[0] looked up in PATH when it has no '/'), captures stdout and
// stderr, kills it (SIGKILL) when it outlives the deadline.
CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds deadline = kCommandDeadline);

// True when an executable of this name is found in PATH (or at this path).
bool have_program(const std::string& name);
std::optional<std::string> find_program(const std::string& name);

// A listening address reported by the server: "127.0.0.1:5300" or "[::1]:5300".
struct Endpoint {
  std::string host;  // "127.0.0.1" or "::1"
  uint16_t port = 0;
  bool v6() const { return host.find(':') != std::string::npos; }
};

// Starts argv (argv[0] a path) with stdout and stderr appended to log_path; the
// child dies with the test (PR_SET_PDEATHSIG). The pid, or -1.
pid_t spawn_process(std::vector<std::string> argv, const std::string& log_path);

// A port free for both UDP and TCP on 127.0.0.1 right now, for peer servers
// (knotd, gdnsd) that cannot be told to pick one themselves.
uint16_t free_udp_tcp_port();

// The real meridian binary running `serve --config <dir>/meridian.json`.
// Stderr goes to <dir>/meridian.log; start() waits for `event=ready` and parses
// the `event=listening address=...` lines.
class ServerProcess {
 public:
  ServerProcess() = default;
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // config_path: a meridian.json. Returns false (with the log in error()) when
  // the process exits or does not become ready before the deadline.
  bool start(const std::string& config_path, std::chrono::milliseconds deadline = kStartDeadline);

  // SIGTERM, then wait for the exit; returns the exit code (-1: killed by a signal,
  // -2: did not exit in time and was SIGKILLed).
  int stop(std::chrono::milliseconds deadline = kStopDeadline);

  bool alive();
  pid_t pid() const { return pid_; }
  const std::vector<Endpoint>& endpoints() const { return endpoints_; }
  const Endpoint& v4() const;  // the first IPv4 listener
  const Endpoint* v6() const;  // the first IPv6 listener, if any
  uint16_t port() const { return v4().port; }
  std::string log() const;     // everything written to stderr so far
  const std::string& error() const { return error_; }

 private:
  pid_t pid_ = -1;
  int exit_status_ = 0;
  bool reaped_ = false;
  std::string log_path_;
  std::string error_;
  std::vector<Endpoint> endpoints_;
};

// Whether the host can bind ::1 (some containers have no IPv6 loopback).
bool have_ipv6_loopback();

// A config for a server on 127.0.0.1:0 (and [::1]:0 when available) serving
// zone_dir; extra_dns is a JSON object body merged into "dns", e.g.
// R"("nsid": "x", "tcp": {"idle_timeout": "1s"})".
std::string server_config(const std::string& zone_dir, const std::string& extra_dns = "");

}  // namespace meridian::test
