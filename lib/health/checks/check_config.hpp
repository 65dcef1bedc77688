// Active check definitions, the "checks" section of meridian.json: defined once
// by name and referenced by regions ("check": "web-http").
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostics.hpp"
#include "config/json_source.hpp"
#include "tls/client_tls_settings.hpp"

namespace meridian::health {

struct CheckConfig {
  // The check's "type": names its probe in the probe table (probe.hpp).
  std::string kind{tcp};
  static constexpr std::string_view tcp = "tcp";
  static constexpr std::string_view http = "http";
  static constexpr std::string_view https = "https";
  static constexpr std::string_view h2 = "h2";
  static constexpr std::string_view dns = "dns";
  std::string name;
  std::chrono::milliseconds interval{2000};
  std::chrono::milliseconds timeout{1000};
  unsigned rise = 2;            // consecutive successes to go up
  unsigned fall = 3;            // consecutive failures to go down
  bool initial_up = true;       // state before the first result
  double jitter = 0.1;          // each interval varies by up to this share
  std::chrono::milliseconds hold_down{0};  // minimum time between two state changes
  uint16_t port = 0;            // 0: the target's own port (backends) or 80 (http on endpoints)
  // http
  std::string path = "/";
  std::string host;             // Host header; default: the target address
  std::vector<unsigned> expect{200};
  std::string body_contains;
  // https, and h2 unless "tls": false (h2c, prior knowledge)
  bool tls = false;
  tls::ClientTlsSettings tls_settings;  // probes resume no session: each attempt verifies
  // dns
  std::string qname;
  uint16_t qtype = 1;           // A
  uint8_t expect_rcode = 0;     // NOERROR
  std::vector<std::string> expect_answer;  // addresses the answer must hold (normalised text)
  bool dns_tcp = false;         // "transport": "tcp"
};

// The port a check uses on an endpoint (a region without backends) when "port" is not
// set: 53 for dns, 443 for https and h2 over TLS, else 80.
uint16_t endpoint_default_port(const CheckConfig& config);

using CheckMap = std::map<std::string, CheckConfig>;

// base_dir: the folder relative file names ("ca") resolve against.
CheckMap read_checks(const config::JsonSource& source, config::Diagnostics& diagnostics,
                     const std::string& base_dir = "");

}  // namespace meridian::health
