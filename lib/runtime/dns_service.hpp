// The DNS listeners of a running server: UDP workers and the TCP pool on every
// configured address, sharing one snapshot holder and one set of counters.
#pragma once
#include <memory>
#include <ostream>
#include <vector>

#include "config/server_config.hpp"
#include "net/dns_stats.hpp"
#include "net/snapshot_holder.hpp"
#include "net/tcp_server.hpp"
#include "net/udp_server.hpp"
#include "util/host_port.hpp"

namespace meridian::runtime {

class DnsService {
 public:
  explicit DnsService(const config::DnsSettings& settings);
  ~DnsService();

  net::SnapshotHolder& snapshots() { return snapshots_; }
  net::DnsStats& stats() { return stats_; }
  const net::TcpServer& tcp() const { return *tcp_; }

  // Binds every listen address (UDP and TCP on the same port; port 0 picks one
  // free for both) and starts serving. Throws std::runtime_error naming the
  // address that could not be bound.
  std::vector<util::HostPort> start();
  void stop();

 private:
  util::HostPort bind_pair(const util::HostPort& wanted);

  config::DnsSettings settings_;
  net::SnapshotHolder snapshots_;
  net::DnsStats stats_;
  std::unique_ptr<net::UdpServer> udp_;
  std::unique_ptr<net::TcpServer> tcp_;
};

}  // namespace meridian::runtime
