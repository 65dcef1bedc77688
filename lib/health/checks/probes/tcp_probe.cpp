#include "health/checks/probes/tcp_probe.hpp"

#include "health/checks/probes/connection_attempt.hpp"

namespace meridian::health {

namespace {
class TcpAttempt final : public ConnectionAttempt {
 public:
  TcpAttempt(boost::asio::any_io_executor executor, const CheckConfig& config, Probe::Done done)
      : ConnectionAttempt(std::move(executor), config.timeout, std::move(done)) {}

 private:
  void on_connected() override { finish(true, "connected"); }
};
}  // namespace

std::unique_ptr<Probe> make_tcp_probe(boost::asio::any_io_executor executor, const CheckConfig& config) {
  return std::make_unique<ConnectionProbe<TcpAttempt>>(std::move(executor), config);
}

}  // namespace meridian::health
