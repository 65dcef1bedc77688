// The "h2" check: the http check's GET (`path`, `host`, `expect`, `body`) as an HTTP/2
// request, over TLS with ALPN "h2" (a server that does not select h2 fails the check),
// or over clear text with prior knowledge (h2c) when the check says "tls": false.
// Framing is libnghttp2's.
#pragma once
#include "health/checks/probe.hpp"

namespace meridian::health {

std::unique_ptr<Probe> make_h2_probe(boost::asio::any_io_executor executor, const CheckConfig& config);

}  // namespace meridian::health
