// The "tcp" check: up when a TCP connection to the target succeeds.
#pragma once
#include "health/checks/probe.hpp"

namespace meridian::health {

std::unique_ptr<Probe> make_tcp_probe(boost::asio::any_io_executor executor, const CheckConfig& config);

}  // namespace meridian::health
