// The TCP proxy of one region: connect (with a timeout, retried on another backend
// when one refuses), optional PROXY protocol header, then bytes both ways (relay.hpp)
// with half-close passed through and an idle timeout.
#pragma once
#include <memory>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)

#include <boost/asio/awaitable.hpp>

#include "forward/core/backend.hpp"
#include "forward/core/listener.hpp"
#include "forward/l4/relay.hpp"
#include "forward/l4/sni_router.hpp"

namespace meridian::forward::l4 {

struct L4Config {
  L4Settings s;
  std::shared_ptr<Region> region;
  std::unique_ptr<Group> group;  // every backend of the region
  std::unique_ptr<SniRouter> sni;  // with "sni": the groups by TLS server name

  static std::shared_ptr<L4Config> build(const L4Settings& s, std::shared_ptr<Region> region);
};

class TcpListener final : public Listener {
 public:
  TcpListener(TierCore& core, ListenerIdentity id, tcp::acceptor acceptor, std::shared_ptr<L4Config> cfg)
      : Listener(core, std::move(id), std::move(acceptor)), cfg_(std::move(cfg)),
        relay_(std::make_shared<Relay>(core.io)) {}
  void update(std::shared_ptr<L4Config> cfg) { cfg_ = std::move(cfg); }
  void metrics(MetricSink& out) const override;
  nlohmann::json status() const override;

 private:
  uint64_t max_connections() const override { return cfg_->s.max_connections; }
  boost::asio::awaitable<void> session(tcp::socket client) override;

  std::shared_ptr<L4Config> cfg_;
  std::shared_ptr<Relay> relay_;  // moves the bytes of every connection of this listener
  uint64_t connect_retries_ = 0;
  uint64_t no_backend_ = 0;
  uint64_t idle_timeouts_ = 0;
  // connections closed before a backend was chosen by SNI: no route for the name, not a
  // ClientHello, or none within connect_timeout
  uint64_t sni_no_route_ = 0;
  uint64_t sni_invalid_ = 0;
  uint64_t sni_timeouts_ = 0;
  uint64_t bytes_in_ = 0;   // client -> backend
  uint64_t bytes_out_ = 0;  // backend -> client
};

}  // namespace meridian::forward::l4
