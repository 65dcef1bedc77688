#include "integration/harness/knot_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "integration/harness/dns_client.hpp"

namespace meridian::test {

std::vector<std::string> section_keys(const std::vector<Record>& section) {
  std::vector<std::string> out;
  for (const auto& r : section) out.push_back(r.key() + " ttl=" + std::to_string(r.ttl));
  std::sort(out.begin(), out.end());
  return out;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& s : lines) out += "\n    " + s;
  return out.empty() ? " (none)" : out;
}

KnotServer::~KnotServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status;
  const auto end = Clock::now() + kStopDeadline;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (Clock::now() > end) {
      kill_now();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void KnotServer::kill_now() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string KnotServer::log() const { return log_.empty() ? "" : read_file(log_); }

bool KnotServer::start(const std::string& knotd, const TempDir& dir, const std::vector<KnotZone>& zones,
                       const std::string& sections) {
  static std::atomic<int> instances{0};
  const std::string base = "knot-" + std::to_string(instances++);
  for (int attempt = 0; attempt < 3; ++attempt) {
    port_ = attempt == 0 && preferred_port_ ? preferred_port_ : free_udp_tcp_port();
    if (!port_) continue;
    std::string conf = "server:\n"
                       "    rundir: \"" + dir.file(base) + "\"\n"
                       "    listen: 127.0.0.1@" + std::to_string(port_) + "\n"
                       "    udp-workers: 1\n"
                       "    tcp-workers: 1\n"
                       "    background-workers: 1\n"
                       "log:\n"
                       "  - target: stderr\n"
                       "    any: info\n"
                       "database:\n"
                       "    storage: \"" + dir.file(base + "/db") + "\"\n"
                       "template:\n"
                       "  - id: default\n"
                       "    storage: \"" + dir.file(base) + "\"\n"
                       "    zonefile-sync: -1\n"
                       "    journal-content: none\n" +
                       sections +
                       "zone:\n";
    for (const auto& z : zones) {
      conf += "  - domain: " + z.origin + "\n";
      if (!z.master_file.empty()) conf += "    file: \"" + z.master_file + "\"\n";
      conf += z.options;
    }
    const std::string conf_path = dir.write(base + "/knot.conf", conf);
    log_ = dir.file(base + "/knotd.log");
    const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::execl(knotd.c_str(), knotd.c_str(), "-c", conf_path.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(log_fd);
    // Ready when every zone answers its SOA with NOERROR (a zone that failed to
    // load is SERVFAIL: knotd stays up, so this waits out the deadline).
    std::size_t ready = 0;
    const auto end = Clock::now() + kStartDeadline;
    while (Clock::now() < end && ready < zones.size()) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      QuerySpec q(zones[ready].origin, qtype::SOA);
      if (auto r = udp_exchange(endpoint(), build_query(q), std::chrono::milliseconds(500), std::chrono::milliseconds(500))) {
        if (parse_message(*r).rcode == rcode::NOERROR) {
          ++ready;
          continue;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (pid_ > 0 && ready == zones.size()) return true;
    kill_now();
    if (log().find("error in zone") != std::string::npos || log().find("failed to load") != std::string::npos)
      return false;  // the zone is the problem, not the port
  }
  return false;
}

}  // namespace meridian::test
