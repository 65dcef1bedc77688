// Base of the L4 and L7 listeners: the acceptor, the accept loop (refusing over
// max_connections and while draining), and the connection counters both report.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <nlohmann/json.hpp>

#include "forward/core/backend.hpp"
#include "forward/core/tier_core.hpp"
#include "util/prometheus_text.hpp"

namespace meridian::forward {

// Collects Prometheus samples grouped by family (one # HELP / # TYPE per family).
using MetricSink = util::PrometheusText;

struct ListenerIdentity {
  std::string kind;  // "l4" or "l7"
  std::string listen;  // as configured
  std::string service, region;
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(TierCore& core, ListenerIdentity id, tcp::acceptor acceptor)
      : core_(core), id_(std::move(id)), acceptor_(std::move(acceptor)) {}
  virtual ~Listener() = default;
  // Starts the accept loop on the tier's io thread (the listener must be owned by a
  // shared_ptr); it ends when the acceptor is closed.
  void start();
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
  // Client connections allowed open at once; over it, new ones are closed at once.
  virtual uint64_t max_connections() const = 0;
  // One accepted client connection, spawned on the io thread by the accept loop.
  virtual boost::asio::awaitable<void> session(tcp::socket client) = 0;
  // The connection families every listener reports.
  void connection_metrics(MetricSink& out) const;

  TierCore& core_;
  ListenerIdentity id_;
  tcp::acceptor acceptor_;
  uint64_t connections_total_ = 0;
  uint64_t connections_active_ = 0;
  uint64_t connections_refused_ = 0;  // over max_connections
  std::string labels() const;  // tier="l4|l7",listener="HOST:PORT" (as bound),service=...,region=...

 private:
  boost::asio::awaitable<void> accept_loop();
};

// A label value escaped for the text format.
inline std::string label_escape(std::string_view v) { return util::prometheus_escape(v); }

}  // namespace meridian::forward
