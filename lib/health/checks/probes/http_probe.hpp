// The "http" check: GET `path` with a Host header (`host`, else the target's
// address); up when the status is one of `expect` and, if `body` is set, the
// body contains it. The "https" check is the same over TLS (CheckConfig::tls):
// a handshake that fails is the reason ("tls handshake failed: ...").
#pragma once
#include "health/checks/probe.hpp"

namespace meridian::health {

std::unique_ptr<Probe> make_http_probe(boost::asio::any_io_executor executor, const CheckConfig& config);

}  // namespace meridian::health
