// The "http" check: GET `path` with a Host header (`host`, else the target's
// address); up when the status is one of `expect` and, if `body` is set, the
// body contains it.
#pragma once
#include "health/checks/probe.hpp"

namespace meridian::health {

std::unique_ptr<Probe> make_http_probe(boost::asio::any_io_executor executor, const CheckConfig& config);

}  // namespace meridian::health
