// Base of the L4 and L7 listeners: the acceptor, the accept loop's bookkeeping and
// the counters both report.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "forward/core/backend.hpp"
#include "forward/core/tier_core.hpp"

namespace meridian::forward {

// Collects Prometheus samples grouped by family (one # HELP / # TYPE per family).
class MetricSink {
 public:
  void add(const std::string& name, const char* type, const char* help, const std::string& labels, double value);
  std::string render() const;

 private:
  struct Family {
    std::string name, type, help;
    std::string samples;
  };
  std::vector<Family> families_;
  std::map<std::string, std::size_t> index_;
};

struct ListenerIdentity {
  std::string kind;  // "l4" or "l7"
  std::string listen;  // as configured
  std::string service, region;
};

class Listener {
 public:
  Listener(TierCore& core, ListenerIdentity id, tcp::acceptor acceptor)
      : core_(core), id_(std::move(id)), acceptor_(std::move(acceptor)) {}
  virtual ~Listener() = default;
  virtual void start() = 0;
  void close() {
    boost::system::error_code ec;
    acceptor_.close(ec);
  }
  const ListenerIdentity& identity() const { return id_; }
  std::string bound() const;  // the real address:port
  virtual void metrics(MetricSink& out) const = 0;
  virtual nlohmann::json status() const = 0;

  // Binds address:port (throws std::runtime_error naming the address).
  static tcp::acceptor bind(boost::asio::io_context& io, const std::string& listen);

 protected:
  TierCore& core_;
  ListenerIdentity id_;
  tcp::acceptor acceptor_;
  uint64_t connections_total_ = 0;
  uint64_t connections_active_ = 0;
  uint64_t connections_refused_ = 0;  // over max_connections
  std::string labels() const;  // listener="...",service=...,region=...
};

std::string label_escape(const std::string& v);

}  // namespace meridian::forward
