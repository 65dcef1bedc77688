// What client-side TLS is asked for (a backend's "tls", an https/h2 check): plain
// values, so that settings can be compared and copied without OpenSSL in sight.
#pragma once
#include <string>
#include <vector>

namespace meridian::tls {

struct ClientTlsSettings {
  bool verify = true;
  std::string ca;                   // PEM file of trusted CAs (resolved); empty: the system store
  std::string sni;                  // server name sent; empty: none (the peer is an IP address)
  int min_version = 0x0303;         // TLS1_2_VERSION or TLS1_3_VERSION
  std::vector<std::string> alpn;    // offered protocols ("h2"), none by default
  bool resume_sessions = true;      // false for probes: each attempt verifies the certificate

  bool operator==(const ClientTlsSettings&) const = default;
};

}  // namespace meridian::tls
