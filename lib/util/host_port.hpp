// Addresses with a port as operators write them: "127.0.0.1:5300", "[::1]:5300".
// Here rather than in net/ because the config readers, the admin endpoint and the
// forwarding tier parse them too, and none of them should depend on the DNS transport.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include <boost/asio/ip/address.hpp>

namespace meridian::util {

struct HostPort {
  boost::asio::ip::address address;
  uint16_t port = 0;
  std::string to_string() const;
};

// Parses "IPv4:port" or "[IPv6]:port"; nullopt when malformed.
std::optional<HostPort> parse_host_port(const std::string& text);

}  // namespace meridian::util
