// meridian.json: the server's own settings (listeners, limits, files). Paths are
// resolved against the folder holding the config file.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/cluster_settings.hpp"
#include "config/diagnostics.hpp"
#include "config/duration.hpp"  // parse_duration, which readers of other sections use too
#include "config/json_source.hpp"
#include "util/log.hpp"

namespace meridian::config {

// DNS Cookies (RFC 7873/9018); the secret file is read by cookies/secret_file.hpp.
struct CookieSettings {
  bool enabled = true;
  std::string secret_file;  // resolved path; empty: a random secret made at start
  bool require = false;     // BADCOOKIE to UDP queries whose COOKIE option has no valid server cookie
};

// Response rate limiting (lib/rrl); absent from meridian.json: off.
struct RrlSettings {
  uint32_t responses_per_second = 20;
  uint32_t nxdomains_per_second = 20;  // as responses_per_second unless given
  uint32_t errors_per_second = 20;     // as responses_per_second unless given
  uint32_t window = 15;
  uint32_t slip = 2;
  uint8_t ipv4_prefix = 24;
  uint8_t ipv6_prefix = 56;
  std::vector<std::string> exempt;     // networks, validated
  bool log_only = false;
  uint32_t table_size = 65536;         // buckets per UDP worker, rounded up to a power of two
  friend bool operator==(const RrlSettings&, const RrlSettings&) = default;
};

// A TSIG key (RFC 8945) of "tsig": {"NAME": {"algorithm": ..., "secret": BASE64 | "secret_file": FILE}}.
struct TsigKeySettings {
  std::string name;       // lower case, with a final dot ("xfr.")
  std::string algorithm;  // "hmac-sha256", "hmac-sha384" or "hmac-sha512"
  std::string secret;     // base64, from "secret" or read from "secret_file"
};

struct DnsSettings {
  std::vector<std::string> listen;         // "127.0.0.1:5300", "[::1]:5300"
  unsigned threads = 1;                    // UDP threads (sockets) per listen address
  unsigned tcp_threads = 1;
  uint16_t max_udp_payload = 1232;
  // RFC 9824 compact NXDOMAIN NSECs a DNS thread may sign per second (README DNSSEC).
  uint32_t online_signatures_per_second = 1000;
  std::chrono::milliseconds tcp_idle_timeout{10000};
  std::chrono::milliseconds tcp_message_timeout{5000};
  std::size_t tcp_max_connections = 1024;
  std::size_t tcp_max_per_client = 0;      // per /32 or /64; 0: no cap
  std::size_t tcp_max_transfers = 10;      // zone transfers (AXFR/IXFR) at once
  std::string nsid;                        // empty: NSID not sent
  std::optional<std::string> chaos_version;   // nullopt: disabled
  std::optional<std::string> chaos_identity;  // nullopt: disabled
  // Sources allowed to ask `_explain.NAME TXT`; empty: the feature is off.
  std::vector<std::string> explain_allow = {"127.0.0.0/8", "::1/128"};
  CookieSettings cookies;
  std::optional<RrlSettings> rrl;
};

struct AdminSettings {
  std::string listen;              // empty: no admin endpoint
  std::string token;               // bearer token; empty: none
  bool ready_after_checks = false; // /readyz waits for every check's first result
};

struct LogSettings {
  util::LogLevel level = util::LogLevel::info;
  util::LogFormat format = util::LogFormat::logfmt;
};

struct ServerConfig {
  std::string path;         // the config file
  std::string base_dir;     // its folder
  DnsSettings dns;
  std::vector<std::string> zone_paths;  // files or folders of *.json zones
  std::string health_dir;               // folder of health override files; empty: none
  AdminSettings admin;
  std::vector<TsigKeySettings> tsig;    // keys for zone transfers
  LogSettings log;                      // read at start (`serve --log-level` wins)
  std::string user;                     // "user" or "user:group" to run as once listeners are bound; empty: stay
  std::optional<ClusterSettings> cluster;  // health shared through etcd; nullopt: this node alone
  const JsonSource* source = nullptr;   // valid while the loader's JsonSource lives
};

// Reads the settings above from source; problems go to diagnostics.
ServerConfig read_server_config(const JsonSource& source, Diagnostics& diagnostics);

}  // namespace meridian::config
