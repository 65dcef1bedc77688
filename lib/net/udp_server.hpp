// UDP DNS service: per listen address, one SO_REUSEPORT socket per thread, each
// thread receiving and sending in batches (recvmmsg/sendmmsg).
#pragma once
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "net/dns_stats.hpp"
#include "net/snapshot_holder.hpp"
#include "util/host_port.hpp"

namespace meridian::net {

class UdpServer {
 public:
  UdpServer(SnapshotHolder& snapshots, DnsStats& stats) : snapshots_(snapshots), stats_(stats) {}
  ~UdpServer() { stop(); }

  // Opens `threads` sockets on the address; port 0 picks a free port, which the
  // returned HostPort carries. Throws std::system_error when binding fails.
  util::HostPort bind(const util::HostPort& where, unsigned threads);
  void start();
  void stop();

 private:
  void worker(int fd);

  SnapshotHolder& snapshots_;
  DnsStats& stats_;
  std::vector<int> sockets_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
};

// Binds one UDP socket (SO_REUSEPORT, IPV6_V6ONLY for v6); returns the fd.
int open_udp_socket(const util::HostPort& where, bool reuse_port);
// The port a bound socket got.
uint16_t bound_port(int fd);

}  // namespace meridian::net
