// The client side of the admin endpoint, for `meridian reload` and
// `meridian status`: one HTTP/1.1 request with a deadline.
#pragma once
#include <chrono>
#include <string>

#include "util/host_port.hpp"

namespace meridian::admin {

struct ClientResponse {
  bool ok = false;      // an HTTP answer came back
  std::string error;    // why not (connection refused, timed out, ...)
  unsigned status = 0;
  std::string body;
};

// method "GET" or "POST"; token empty: no Authorization header. An unspecified
// listen address (0.0.0.0, ::) is reached on loopback.
ClientResponse admin_request(const util::HostPort& where, const std::string& method, const std::string& target,
                             const std::string& token, std::chrono::milliseconds deadline);

}  // namespace meridian::admin
