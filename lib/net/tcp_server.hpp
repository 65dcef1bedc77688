// DNS over TCP (RFC 7766): length-prefixed messages, several queries per
// connection answered in order, an idle timeout between messages, a deadline for
// reading one message, and a cap on concurrent connections.
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "net/dns_stats.hpp"
#include "net/snapshot_holder.hpp"
#include "util/host_port.hpp"

namespace meridian::net {

struct TcpLimits {
  std::chrono::milliseconds idle_timeout{10000};    // waiting for the next query
  std::chrono::milliseconds message_timeout{5000};  // reading one query once its length arrived
  std::size_t max_connections = 1024;
};

class TcpServer {
 public:
  TcpServer(const SnapshotHolder& snapshots, DnsStats& stats, TcpLimits limits);
  ~TcpServer();

  // Binds a listener; throws boost::system::system_error when it cannot.
  util::HostPort bind(const util::HostPort& where);
  void start(unsigned threads);
  // Stops accepting, lets in-flight answers go out (up to grace), then closes.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

  std::size_t connections() const { return connections_.load(); }

 private:
  class Connection;
  void accept(boost::asio::ip::tcp::acceptor& acceptor);

  const SnapshotHolder& snapshots_;
  DnsStats& stats_;
  DnsCounters& counters_;
  TcpLimits limits_;
  // Declared before io_: pending handlers own connections whose destructors
  // touch these while io_ is being destroyed.
  std::atomic<std::size_t> connections_{0};
  std::atomic<bool> stopping_{false};
  // Live connections, so stop() can close the idle ones at once.
  std::mutex registry_mutex_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> registry_;
  boost::asio::io_context io_;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<std::thread> threads_;
};

}  // namespace meridian::net
