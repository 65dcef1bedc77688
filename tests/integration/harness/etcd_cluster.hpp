// A real etcd cluster on loopback for the cluster tests: N members (3 by
// default) of Debian's etcd-server, each on two free ports (client, peer) with its
// data folder in a temp dir; members can be killed, stopped (SIGSTOP), continued
// and restarted. etcdctl runs against every member.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

#include "integration/harness/process.hpp"

namespace meridian::test {

class EtcdCluster {
 public:
  explicit EtcdCluster(int members = 3);
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Starts every member and waits until each answers a health check; false (see
  // error()) when etcd is missing or does not come up before the deadline.
  bool start(std::chrono::milliseconds deadline = std::chrono::seconds(90));
  const std::string& error() const { return error_; }

  int size() const { return static_cast<int>(members_.size()); }
  std::string client_url(int i) const;
  std::vector<std::string> client_urls() const;
  std::string endpoints_flag() const;  // --endpoints=URL,URL,URL

  void kill(int i);    // SIGKILL, reaped
  void pause(int i);   // SIGSTOP
  void resume(int i);  // SIGCONT
  // Starts a killed member again with its data folder; waits until it is healthy.
  bool restart(int i, std::chrono::milliseconds deadline = std::chrono::seconds(60));
  bool healthy(int i) const;

  // etcdctl (API v3) against every member; stdout, stderr and the exit code.
  CommandResult etcdctl(const std::vector<std::string>& args,
                        std::chrono::milliseconds deadline = std::chrono::seconds(30)) const;
  // The store's current revision (0 when it cannot be read).
  int64_t revision() const;
  // The member that leads the cluster now, -1 when none does (or it cannot be read).
  int leader() const;
  std::string log(int i) const;

 private:
  struct Member {
    std::string name;
    uint16_t client_port = 0;
    uint16_t peer_port = 0;
    pid_t pid = -1;
  };
  bool launch(int i, bool existing);
  bool wait_healthy(const std::vector<int>& which, std::chrono::milliseconds deadline);

  TempDir dir_;
  std::vector<Member> members_;
  std::string etcd_, etcdctl_;
  std::string error_;
};

}  // namespace meridian::test
