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

namespace meridian::health {

struct CheckConfig {
  // The check's "type": names its probe in the probe table (probe.hpp).
  std::string kind{tcp};
  static constexpr std::string_view tcp = "tcp";
  static constexpr std::string_view http = "http";
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
};

using CheckMap = std::map<std::string, CheckConfig>;

CheckMap read_checks(const config::JsonSource& source, config::Diagnostics& diagnostics);

}  // namespace meridian::health
