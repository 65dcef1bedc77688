// Runtime objects shared by a region's listeners, owned by the tier's io thread:
// Backend (one per health key, kept across reloads), Region (the backends of one
// region with their passive-health logic), Group (a balanced subset for a listener).
#pragma once
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>

#include "forward/balancer/balancer.hpp"
#include "forward/core/health_mirror.hpp"
#include "forward/resilience/circuit_breaker.hpp"
#include "forward/resilience/outlier.hpp"
#include "forward/settings.hpp"
#include "health/health_table.hpp"

namespace meridian::tls {
class ClientTls;  // tls/client_tls.hpp
}  // namespace meridian::tls

namespace meridian::forward {
namespace l7::h2 {
class ClientPool;  // forward/l7/h2/client_pool.hpp
}  // namespace l7::h2

using tcp = boost::asio::ip::tcp;

struct BackendCounters {
  uint64_t requests = 0;          // L7 requests / L4 connections sent
  uint64_t successes = 0;
  uint64_t failures = 0;          // connect failures, timeouts, 5xx
  uint64_t connect_failures = 0;
  uint64_t timeouts = 0;
  uint64_t bulkhead_full = 0;     // picks skipped because the backend was at max_connections
  uint64_t tls_handshakes = 0;    // completed TLS handshakes toward a backend with "tls"
  uint64_t tls_resumed = 0;       // of those, resumed sessions (no certificate exchange)
  uint64_t tls_handshake_failures = 0;
};

struct Backend {
  std::string key;      // service/region/backend/HOST:PORT
  std::string address;  // HOST:PORT as configured
  tcp::endpoint endpoint;
  std::string group;
  uint32_t weight = 1;
  uint32_t max_connections = 1024;

  // TLS toward the backend (its "tls"), else nullptr: plain TCP.
  std::shared_ptr<const tls::ClientTls> tls;
  std::shared_ptr<HealthFlag> health;  // verdict bits (verdict::*) from the shared health table and overrides
  uint32_t active = 0;                              // L4 sessions + L7 requests in flight
  CircuitBreaker circuit;
  OutlierState outlier;
  bool reported_down = false;  // our passive report in the health table says down
  Ms passive_hold{30000};      // a passive down with no failure for this long (and no ejection) expires
  BackendCounters counters;
  std::string last_error;

  using TlsStream = boost::asio::ssl::stream<tcp::socket&>;  // over `stream` (forward/tls/client_tls.hpp)
  struct Idle {
    std::unique_ptr<tcp::socket> stream;
    Time since;
    std::unique_ptr<TlsStream> tls;  // after stream: goes first
  };
  std::deque<Idle> idle;  // keep-alive connections (L7): the most recent at the back
  // "protocol": "h2": L7 requests go as streams over h2_pool's sessions (made at the first).
  bool h2 = false;
  uint32_t h2_max_sessions = 4;
  std::shared_ptr<l7::h2::ClientPool> h2_pool;

  uint8_t verdict() const { return health->load(std::memory_order_relaxed); }
  // Healthy as far as the health table and the overrides say: not forced down, and
  // forced up or neither down by a check nor ejected.
  bool healthy(Time now) const {
    const uint8_t v = verdict();
    if (v & verdict::forced_down) return false;
    return (v & verdict::forced_up) || (!(v & verdict::down) && !outlier.ejected(now));
  }
  bool eligible(Time now) const {
    return weight > 0 && healthy(now) && circuit.available(now) && active < max_connections;
  }
  // When its region is forced up and no backend is eligible: anything not forced down
  // (checks and ejections ignored) that has room.
  bool eligible_fail_open(Time now) const {
    return weight > 0 && !(verdict() & verdict::forced_down) && circuit.available(now) && active < max_connections;
  }
  // Ends our passive "down" report (and, with uneject, the ejection): the backend takes
  // traffic again and the health table hears "up" from the passive source.
  void clear_passive(health::HealthTable& health, Time now, bool uneject, const std::string& why);
  // tls: where a pooled connection's TLS stream goes (nullptr when the backend has none).
  std::unique_ptr<tcp::socket> take_idle(Time now, Ms max_idle, std::unique_ptr<TlsStream>* tls = nullptr);
  // Keeps `s` for reuse (when fewer than pool_size are kept) and closes the kept ones
  // idle longer than max_idle, oldest first.
  void put_idle(std::unique_ptr<tcp::socket> s, Time now, std::size_t pool_size, Ms max_idle,
                std::unique_ptr<TlsStream> tls = nullptr);
  // Closes the idle pooled connections, and retires the HTTP/2 sessions (their streams in
  // flight finish first).
  void drop_idle();
};

class Region {
 public:
  Region(std::string service, std::string name, RegionForward settings, health::HealthTable& health)
      : service(std::move(service)), name(std::move(name)), settings(std::move(settings)),
        detector(this->settings.outlier), health_(health) {}

  void on_success(Backend& b, Time now);
  void on_failure(Backend& b, Time now, const std::string& why);
  std::size_t ejected(Time now) const;

  std::string service, name;
  RegionForward settings;
  OutlierDetector detector;
  std::vector<std::shared_ptr<Backend>> backends;

 private:
  health::HealthTable& health_;
};

class Group {
 public:
  Group(std::string name, std::vector<std::shared_ptr<Backend>> members, const BalanceSettings& balance);
  // Chooses an eligible backend, avoiding `avoid` when another one can take it.
  Backend* pick(Time now, uint64_t key, std::span<Backend* const> avoid);
  const std::string& name() const { return name_; }
  const std::vector<std::shared_ptr<Backend>>& members() const { return members_; }

 private:
  std::string name_;
  std::vector<std::shared_ptr<Backend>> members_;
  std::unique_ptr<Balancer> balancer_;
  std::vector<Candidate> scratch_;
};

}  // namespace meridian::forward
