#include "integration/harness/process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace meridian::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/meridian-it-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (std::getenv("MERIDIAN_KEEP_TEMP")) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& relative, const std::string& content) const {
  const std::string full = file(relative);
  fs::create_directories(fs::path(full).parent_path());
  std::ofstream out(full, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) throw std::runtime_error("cannot write " + full);
  return full;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string source_path(const std::string& relative) { return std::string(MERIDIAN_SOURCE_DIR) + "/" + relative; }

std::string meridian_binary() { return MERIDIAN_BINARY; }

std::optional<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return name;
    return std::nullopt;
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  dirs += ":/usr/sbin:/sbin:/usr/local/sbin";
  std::stringstream ss(dirs);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    const std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

bool have_program(const std::string& name) { return find_program(name).has_value(); }

namespace {

std::vector<char*> c_argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(char* const* argv, int out_fd, int err_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  const int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, 0);
  ::dup2(out_fd, 1);
  ::dup2(err_fd, 2);
  // Nothing else of the test goes along: a test's listening socket inherited by the
  // server would keep its port open (and connections to it unanswered) after the
  // test closed it.
  if (::close_range(3, ~0U, 0) != 0)
    for (int fd = 3; fd < 65536; ++fd) ::close(fd);
  // Undo the signal mask/handlers a test runner may have set.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  ::execv(argv[0], argv);
  ::_exit(127);
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv_in, std::chrono::milliseconds deadline) {
  CommandResult result;
  if (argv_in.empty()) return result;
  std::vector<std::string> args = argv_in;
  const auto exe = find_program(args[0]);
  if (!exe) {
    result.exit_code = 127;
    result.err = args[0] + ": not found";
    return result;
  }
  args[0] = *exe;
  auto argv = c_argv(args);
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe failed");
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) exec_child(argv.data(), out_pipe[1], err_pipe[1]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);

  const auto end = Clock::now() + deadline;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now()).count();
    if (left <= 0) {
      result.timed_out = true;
      ::kill(pid, SIGKILL);
      break;
    }
    const int r = ::poll(fds, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[8192];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) ::close(f.fd);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid || (r < 0 && errno != EINTR)) break;
    if (Clock::now() > end && !result.timed_out) {
      result.timed_out = true;  // closed its output but did not exit
      ::kill(pid, SIGKILL);
    }
    std::this_thread::sleep_for(milliseconds(5));
  }
  if (WIFEXITED(status) && !result.timed_out) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

// ---------------------------------------------------------------------------

pid_t spawn_process(std::vector<std::string> args, const std::string& log_path) {
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return -1;
  auto argv = c_argv(args);
  const pid_t pid = ::fork();
  if (pid == 0) exec_child(argv.data(), log_fd, log_fd);
  ::close(log_fd);
  return pid;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
}

bool ServerProcess::start(const std::string& config_path, std::chrono::milliseconds deadline) {
  log_path_ = fs::path(config_path).parent_path().string() + "/meridian.log";
  const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    error_ = "cannot create " + log_path_;
    return false;
  }
  std::vector<std::string> args = {meridian_binary(), "serve", "--config", config_path};
  auto argv = c_argv(args);
  pid_ = ::fork();
  if (pid_ < 0) {
    ::close(log_fd);
    error_ = "fork failed";
    return false;
  }
  if (pid_ == 0) exec_child(argv.data(), log_fd, log_fd);
  ::close(log_fd);

  const auto end = Clock::now() + deadline;
  for (;;) {
    const std::string text = log();
    if (text.find("event=ready") != std::string::npos) {
      std::istringstream lines(text);
      std::string line;
      while (std::getline(lines, line)) {
        if (line.find("event=listening") == std::string::npos) continue;
        const auto at = line.find("address=");
        if (at == std::string::npos) continue;
        std::string addr = line.substr(at + 8);
        addr = addr.substr(0, addr.find(' '));
        const auto colon = addr.rfind(':');
        Endpoint e;
        e.host = addr.substr(0, colon);
        if (!e.host.empty() && e.host.front() == '[') e.host = e.host.substr(1, e.host.size() - 2);
        e.port = static_cast<uint16_t>(std::stoi(addr.substr(colon + 1)));
        endpoints_.push_back(e);
      }
      if (endpoints_.empty()) {
        error_ = "ready without listening lines:\n" + text;
        return false;
      }
      return true;
    }
    if (!alive()) {
      error_ = "meridian exited before it was ready (status " + std::to_string(exit_status_) + "):\n" + log();
      return false;
    }
    if (Clock::now() > end) {
      error_ = "meridian not ready within the deadline:\n" + text;
      return false;
    }
    std::this_thread::sleep_for(milliseconds(20));  // poll interval, bounded by the deadline above
  }
}

bool ServerProcess::alive() {
  if (pid_ <= 0 || reaped_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    exit_status_ = status;
    return false;
  }
  return true;
}

int ServerProcess::stop(std::chrono::milliseconds deadline) {
  if (pid_ <= 0) return -3;
  if (!reaped_) {
    ::kill(pid_, SIGTERM);
    const auto end = Clock::now() + deadline;
    while (alive()) {
      if (Clock::now() > end) {
        ::kill(pid_, SIGKILL);
        int status;
        ::waitpid(pid_, &status, 0);
        reaped_ = true;
        return -2;
      }
      std::this_thread::sleep_for(milliseconds(10));
    }
  }
  if (WIFEXITED(exit_status_)) return WEXITSTATUS(exit_status_);
  return -1;
}

const Endpoint& ServerProcess::v4() const {
  for (const auto& e : endpoints_)
    if (!e.v6()) return e;
  return endpoints_.front();
}

const Endpoint* ServerProcess::v6() const {
  for (const auto& e : endpoints_)
    if (e.v6()) return &e;
  return nullptr;
}

std::string ServerProcess::log() const { return read_file(log_path_); }

bool have_ipv6_loopback() {
  const int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

std::string server_config(const std::string& zone_dir, const std::string& extra_dns) {
  std::string listen = "\"127.0.0.1:0\"";
  if (have_ipv6_loopback()) listen += ", \"[::1]:0\"";
  std::string dns = "\"listen\": [" + listen + "], \"threads\": 1";
  if (!extra_dns.empty()) dns += ", " + extra_dns;
  return "{\n  \"dns\": {" + dns + "},\n  \"zones\": \"" + zone_dir + "\"\n}\n";
}

uint16_t free_udp_tcp_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    const int t = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(t, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::getsockname(t, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
      ::close(t);
      continue;
    }
    const int u = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const bool ok = ::bind(u, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(u);
    ::close(t);
    if (ok) return ntohs(sa.sin_port);
  }
  return 0;
}

}  // namespace meridian::test
