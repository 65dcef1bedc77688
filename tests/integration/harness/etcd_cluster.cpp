#include "integration/harness/etcd_cluster.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <thread>

namespace meridian::test {

EtcdCluster::EtcdCluster(int members) {
  for (int i = 0; i < members; ++i) members_.push_back({"m" + std::to_string(i), 0, 0, -1});
}

EtcdCluster::~EtcdCluster() {
  for (auto& m : members_) {
    if (m.pid <= 0) continue;
    ::kill(m.pid, SIGCONT);
    ::kill(m.pid, SIGKILL);
    int status;
    ::waitpid(m.pid, &status, 0);
  }
}

std::string EtcdCluster::client_url(int i) const {
  return "http://127.0.0.1:" + std::to_string(members_[static_cast<std::size_t>(i)].client_port);
}

std::vector<std::string> EtcdCluster::client_urls() const {
  std::vector<std::string> out;
  for (int i = 0; i < size(); ++i) out.push_back(client_url(i));
  return out;
}

std::string EtcdCluster::endpoints_flag() const {
  std::string s = "--endpoints=";
  for (int i = 0; i < size(); ++i) s += (i ? "," : "") + client_url(i);
  return s;
}

std::string EtcdCluster::log(int i) const { return read_file(dir_.file(members_[static_cast<std::size_t>(i)].name + ".log")); }

bool EtcdCluster::launch(int i, bool existing) {
  Member& m = members_[static_cast<std::size_t>(i)];
  std::string initial;
  for (const auto& o : members_)
    initial += (initial.empty() ? "" : ",") + o.name + "=http://127.0.0.1:" + std::to_string(o.peer_port);
  const std::string peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  // Election timings for a loaded 2-core machine (etcd's defaults: 100 ms, 1 s).
  std::vector<std::string> args = {etcd_, "--name", m.name, "--data-dir", dir_.file(m.name + ".data"),
                                   "--listen-client-urls", client_url(i), "--advertise-client-urls", client_url(i),
                                   "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                   "--initial-cluster", initial, "--initial-cluster-state", existing ? "existing" : "new",
                                   "--initial-cluster-token", "meridian-test-" + std::to_string(::getpid()),
                                   "--heartbeat-interval", "200", "--election-timeout", "2000"};
  m.pid = spawn_process(args, dir_.file(m.name + ".log"));
  return m.pid > 0;
}

bool EtcdCluster::healthy(int i) const {
  const CommandResult r = run_command({etcdctl_, "--endpoints=" + client_url(i), "--command-timeout=3s", "endpoint",
                                       "health"}, std::chrono::seconds(10));
  return r.exit_code == 0;
}

bool EtcdCluster::wait_healthy(const std::vector<int>& which, std::chrono::milliseconds deadline) {
  const auto end = Clock::now() + deadline;
  for (int i : which) {
    while (!healthy(i)) {
      if (Clock::now() > end) {
        error_ = "etcd member " + members_[static_cast<std::size_t>(i)].name + " not healthy in time:\n" + log(i);
        return false;
      }
      std::this_thread::sleep_for(milliseconds(200));  // poll, bounded by the deadline
    }
  }
  return true;
}

bool EtcdCluster::start(std::chrono::milliseconds deadline) {
  const auto etcd = find_program("etcd");
  const auto etcdctl = find_program("etcdctl");
  if (!etcd || !etcdctl) {
    error_ = "etcd and etcdctl are needed (Debian etcd-server and etcd-client; scripts/deps.sh installs them)";
    return false;
  }
  etcd_ = *etcd;
  etcdctl_ = *etcdctl;
  for (auto& m : members_) {
    m.client_port = free_udp_tcp_port();
    m.peer_port = free_udp_tcp_port();
    while (m.peer_port == m.client_port) m.peer_port = free_udp_tcp_port();
  }
  std::vector<int> all;
  for (int i = 0; i < size(); ++i) {
    if (!launch(i, false)) {
      error_ = "cannot start etcd";
      return false;
    }
    all.push_back(i);
  }
  return wait_healthy(all, deadline);
}

void EtcdCluster::kill(int i) {
  Member& m = members_[static_cast<std::size_t>(i)];
  if (m.pid <= 0) return;
  ::kill(m.pid, SIGCONT);
  ::kill(m.pid, SIGKILL);
  int status;
  ::waitpid(m.pid, &status, 0);
  m.pid = -1;
}

void EtcdCluster::pause(int i) { ::kill(members_[static_cast<std::size_t>(i)].pid, SIGSTOP); }
void EtcdCluster::resume(int i) { ::kill(members_[static_cast<std::size_t>(i)].pid, SIGCONT); }

bool EtcdCluster::restart(int i, std::chrono::milliseconds deadline) {
  kill(i);
  if (!launch(i, true)) return false;
  return wait_healthy({i}, deadline);
}

CommandResult EtcdCluster::etcdctl(const std::vector<std::string>& args, std::chrono::milliseconds deadline) const {
  std::vector<std::string> argv = {etcdctl_, endpoints_flag(), "--command-timeout=5s"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, deadline);
}

int64_t EtcdCluster::revision() const {
  const CommandResult r = etcdctl({"endpoint", "status", "--write-out=json"});
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_array()) return 0;
  int64_t best = 0;
  for (const auto& s : j)
    if (s.contains("Status") && s["Status"].contains("header"))
      best = std::max<int64_t>(best, s["Status"]["header"].value("revision", int64_t{0}));
  return best;
}

int EtcdCluster::leader() const {
  const CommandResult r = etcdctl({"endpoint", "status", "--write-out=json"});
  const auto j = nlohmann::json::parse(r.out, nullptr, false);
  if (!j.is_array()) return -1;
  for (const auto& s : j) {
    if (!s.contains("Status") || !s["Status"].contains("header")) continue;
    const auto& status = s["Status"];
    if (status.value("leader", uint64_t{0}) != status["header"].value("member_id", uint64_t{1})) continue;
    for (int i = 0; i < size(); ++i)
      if (s.value("Endpoint", "") == client_url(i)) return i;
  }
  return -1;
}

}  // namespace meridian::test
