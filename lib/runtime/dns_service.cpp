#include "runtime/dns_service.hpp"

#include <stdexcept>
#include <system_error>

namespace meridian::runtime {

DnsService::DnsService(const config::DnsSettings& settings) : settings_(settings) {
  net::TcpLimits limits;
  limits.idle_timeout = settings.tcp_idle_timeout;
  limits.message_timeout = settings.tcp_message_timeout;
  limits.max_connections = settings.tcp_max_connections;
  limits.max_per_client = settings.tcp_max_per_client;
  limits.max_transfers = settings.tcp_max_transfers;
  udp_ = std::make_unique<net::UdpServer>(snapshots_, stats_);
  tcp_ = std::make_unique<net::TcpServer>(snapshots_, stats_, limits);
}

DnsService::~DnsService() { stop(); }

util::HostPort DnsService::bind_pair(const util::HostPort& wanted) {
  // With port 0 the UDP port is chosen first; TCP then needs the same number,
  // which another program may hold, so try a few times.
  for (int attempt = 0;; ++attempt) {
    net::UdpServer probe(snapshots_, stats_);
    const util::HostPort udp_port = probe.bind(wanted, 1);
    probe.stop();  // release it: the real sockets are bound below with the same port
    try {
      const util::HostPort bound = tcp_->bind(udp_port);
      udp_->bind(bound, settings_.threads);
      return bound;
    } catch (const std::exception& e) {
      if (wanted.port != 0 || attempt >= 20) throw;
    }
  }
}

std::vector<util::HostPort> DnsService::start() {
  std::vector<util::HostPort> bound;
  for (const auto& text : settings_.listen) {
    const auto hp = util::parse_host_port(text);
    if (!hp) throw std::runtime_error("bad listen address " + text);
    try {
      bound.push_back(bind_pair(*hp));
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot listen on " + text + ": " + e.what());
    }
  }
  udp_->start();
  tcp_->start(settings_.tcp_threads);
  return bound;
}

void DnsService::stop() {
  if (tcp_) tcp_->stop();
  if (udp_) udp_->stop();
}

}  // namespace meridian::runtime
