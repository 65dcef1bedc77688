// DNS over TCP (RFC 7766): length-prefixed messages, several queries per
// connection answered in order, an idle timeout between messages, a deadline for
// reading one message, and caps on concurrent connections: in all, and from one
// client network (a /32 or a /64), so that one source cannot take every slot.
#pragma once
#include <atomic>
#include <cstdint>
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "net/dns_stats.hpp"
#include "net/snapshot_holder.hpp"
#include "util/host_port.hpp"

namespace meridian::net {

struct TcpLimits {
  std::chrono::milliseconds idle_timeout{10000};    // waiting for the next query
  std::chrono::milliseconds message_timeout{5000};  // reading one query once its length arrived
  std::size_t max_connections = 1024;
  std::size_t max_per_client = 0;  // connections from one /32 (IPv4) or /64 (IPv6); 0: no cap
  std::size_t max_transfers = 10;  // AXFR/IXFR being built or sent at once; more are REFUSED
  std::chrono::milliseconds transfer_timeout{300000};  // sending one whole transfer
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
  // Connections closed at accept, by the cap they met (max_connections is checked first).
  uint64_t refused_max_connections() const { return refused_max_connections_.load(); }
  uint64_t refused_per_client() const { return refused_per_client_.load(); }
  // Zone transfers in progress, and those refused because max_transfers were.
  std::size_t transfers() const { return transfers_.load(); }
  uint64_t refused_transfers() const { return refused_transfers_.load(); }

  // The client network a connection counts against: a /32 or a /64 (an
  // IPv4-mapped IPv6 address counts as its IPv4 address).
  struct ClientNetwork {
    uint64_t prefix = 0;
    bool v6 = false;
    bool operator==(const ClientNetwork&) const = default;
  };
  struct ClientNetworkHash {
    std::size_t operator()(const ClientNetwork& n) const noexcept { return std::hash<uint64_t>{}(n.prefix * 2 + n.v6); }
  };
  static ClientNetwork client_network(const boost::asio::ip::address& address);

 private:
  class Connection;
  void accept(boost::asio::ip::tcp::acceptor& acceptor);
  // Takes a slot for the client's network; false when it has max_per_client already.
  bool take_client_slot(const ClientNetwork& network);
  void release_client_slot(const ClientNetwork& network);

  const SnapshotHolder& snapshots_;
  DnsCounters& counters_;
  TcpLimits limits_;
  // Declared before io_: pending handlers own connections whose destructors
  // touch these while io_ is being destroyed.
  std::atomic<std::size_t> connections_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> refused_max_connections_{0};
  std::atomic<uint64_t> refused_per_client_{0};
  std::atomic<std::size_t> transfers_{0};
  std::atomic<uint64_t> refused_transfers_{0};
  // Connections per client network (only with max_per_client); taken at accept,
  // never on the query path.
  std::mutex per_client_mutex_;
  std::unordered_map<ClientNetwork, uint32_t, ClientNetworkHash> per_client_;
  // Live connections, so stop() can close the idle ones at once.
  std::mutex registry_mutex_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> registry_;
  boost::asio::io_context io_;
  // Zone transfers are built here, never on the threads that answer queries
  // (declared after io_: joined and destroyed before it).
  boost::asio::thread_pool transfer_pool_{1};
  std::vector<std::unique_ptr<boost::asio::ip::tcp::acceptor>> acceptors_;
  std::vector<std::thread> threads_;
};

}  // namespace meridian::net
