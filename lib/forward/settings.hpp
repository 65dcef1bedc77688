// The forwarding tier's configuration for one region, read from the region's
// "backends" and "forward" members of meridian.json. Every limit has an explicit
// default; lib/forward/README.md documents the JSON keys.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/backend_list.hpp"

namespace meridian::tls {
class ClientTls;  // tls/client_tls.hpp
}  // namespace meridian::tls

namespace meridian::forward {

using Ms = std::chrono::milliseconds;

// Errors at a JSON pointer relative to the region object ("/forward/l7/balance").
using ErrorSink = std::function<void(const nlohmann::json::json_pointer& relative, const std::string& message)>;

enum class Algorithm { round_robin, weighted_round_robin, least_conn, weighted_least_conn, ip_hash, consistent_hash, p2c };
const char* algorithm_name(Algorithm a);

struct HashKey {
  enum class Kind { client_ip, header, cookie };
  Kind kind = Kind::client_ip;
  std::string name;  // header or cookie name
};

struct BalanceSettings {
  Algorithm algorithm = Algorithm::round_robin;
  HashKey key;           // ip_hash always uses the client IP
  unsigned vnodes = 160;  // consistent_hash: virtual nodes per unit of weight
};

// Read once with the region (config/backend_list.hpp): routing keeps the same list.
using BackendSpec = config::BackendSpec;

struct CircuitSettings {
  bool enabled = true;
  Ms window{10000};
  unsigned buckets = 10;
  unsigned min_requests = 20;
  double failure_rate = 0.5;
  Ms open_timeout{5000};
  unsigned half_open_probes = 3;
};

struct OutlierSettings {
  unsigned consecutive_failures = 5;  // 0: off
  Ms base_ejection{30000};
  Ms max_ejection{300000};
  unsigned max_ejection_percent = 50;
};

struct BulkheadSettings {
  uint32_t max_connections = 1024;  // per backend: L4 sessions + L7 requests in flight
};

struct RetrySettings {
  unsigned max_retries = 2;
  Ms backoff_base{25};
  Ms backoff_cap{1000};
  double budget_ratio = 0.2;
  Ms budget_window{10000};
  unsigned budget_min_retries = 10;  // per window, allowed even at low traffic
  Ms retry_after_cap{2000};          // a 429 whose Retry-After is longer is passed through
};

struct RateLimitSettings {
  bool enabled = false;
  double rate = 0;   // tokens per second
  double burst = 0;  // bucket size
  std::size_t max_clients = 100000;
};

// A condition on a request header or cookie of a route.
struct ValueMatch {
  enum class Kind { exact, prefix, regex, present, absent };
  std::string name;   // header name (any case) or cookie name (exact)
  Kind kind = Kind::exact;
  std::string value;  // exact, prefix, regex (RE2 syntax, found anywhere in the value)
};

// One share of a route's split.
struct SplitShare {
  std::string group;
  uint32_t weight = 1;
};

// How a split keeps a client on the group it got.
struct Sticky {
  enum class Kind { none, cookie, hash };
  Kind kind = Kind::none;
  std::string cookie;  // cookie: its name (the value is the group's name)
  HashKey key;         // hash: client IP, a header or a cookie, hashed onto the weights
};

struct Route {
  std::string host;         // empty: any; "*.example.com" matches subdomains
  std::string path_prefix;  // empty: any
  std::string path;         // exact path (without the query); empty: any
  std::vector<std::string> methods;  // empty: any
  std::vector<ValueMatch> headers, cookies;  // all must hold
  std::string group = "default";
  std::vector<SplitShare> split;  // when not empty, instead of group
  Sticky sticky;
  bool idempotent = false;  // its requests may be retried as idempotent ones (POSTs, gRPC methods)
};

enum class ProxyProtocol { off, v1, v2 };

// TLS termination on an L7 listener ("forward.l7.tls"). The files are read (and the
// contexts built) when the configuration is loaded, so a bad certificate is a load
// error at its line; a reload reads them again (they are watched like any other file).
class ServerTls;  // forward/tls/server_tls.hpp
struct TlsCertificateFiles {
  std::string cert, key;  // resolved against meridian.json's folder
};
struct ServerTlsSettings {
  std::vector<TlsCertificateFiles> certificates;  // the first one when no SNI matches
  std::vector<std::string> alpn{"http/1.1"};      // as configured; what is offered: ServerTls
  int min_version = 0x0303;                       // TLS1_2_VERSION or TLS1_3_VERSION
  std::shared_ptr<const ServerTls> loaded;        // set by parse_region when the files load
};

// HTTP/2 toward clients of an L7 listener ("forward.l7.http2"): ALPN h2 on TLS listeners,
// h2c with prior knowledge on clear-text ones.
struct Http2Settings {
  uint32_t max_concurrent_streams = 100;  // per connection, also bounds requests still at backends
  uint32_t max_resets = 200;              // streams reset by the client per flood_window ...
  uint32_t max_control_frames = 1000;     // ... SETTINGS and PING frames (not acks) per flood_window
  Ms flood_window{10000};                 // over either: GOAWAY (ENHANCE_YOUR_CALM) and close
};

// An L4 listener's route by TLS server name ("forward.l4.sni"): "www.example.com" (exact,
// lower case), "*.example.com" (any name below it) or "*" (everything else, no SNI too).
struct SniRoute {
  std::string name;
  std::string group;
};

struct L4Settings {
  std::string listen;
  std::vector<SniRoute> sni;  // empty: no ClientHello is read, every backend takes connections
  BalanceSettings balance;
  Ms connect_timeout{2000};
  Ms idle_timeout{300000};
  unsigned connect_attempts = 3;
  uint32_t max_connections = 10000;
  ProxyProtocol proxy_protocol = ProxyProtocol::off;
  std::size_t buffer_bytes = 16384;
};

struct L7Settings {
  std::string listen;
  BalanceSettings balance;
  Ms connect_timeout{2000};
  Ms header_timeout{10000};     // first byte of a request to the end of its header
  Ms request_timeout{60000};    // whole request (header and body) from the client
  Ms backend_timeout{30000};    // a backend's whole response
  Ms keepalive_timeout{60000};  // idle client connection between requests
  Ms pool_idle_timeout{30000};  // idle pooled backend connection
  std::size_t max_header_bytes = 16384;
  std::size_t max_body_bytes = 10u << 20;
  std::size_t max_response_bytes = 64u << 20;
  uint32_t max_connections = 10000;  // client connections
  uint32_t max_pending = 1024;       // requests in flight to backends
  uint32_t pool_size = 1024;         // idle keep-alive connections kept per backend
  std::vector<Route> routes;
  RetrySettings retry;
  RateLimitSettings rate_limit;
  Ms websocket_idle_timeout{300000};  // an upgraded (WebSocket) connection with no byte either way
  std::string forwarded_proto = "http";  // "https" by default on a TLS listener
  std::optional<ServerTlsSettings> tls;
  Http2Settings http2;
};

// HTTP/2 toward a backend (its "protocol": "h2"): streams multiplexed over at most
// max_sessions pooled connections (l7/h2/client_pool.hpp).
struct BackendHttp2 {
  uint32_t max_sessions = 4;
  bool operator==(const BackendHttp2&) const = default;
};

struct RegionForward {
  std::vector<BackendSpec> backends;
  // Backends spoken to in HTTP/2 (their "protocol": "h2"), by address; the others: HTTP/1.1.
  std::map<std::string, BackendHttp2> backend_h2;
  // TLS toward a backend (its "tls"), by backend address; loaded when the settings are read.
  std::map<std::string, std::shared_ptr<const tls::ClientTls>> backend_tls;
  std::optional<L4Settings> l4;
  std::optional<L7Settings> l7;
  CircuitSettings circuit;
  OutlierSettings outlier;
  BulkheadSettings bulkhead;
  Ms drain_timeout{5000};
};

// Reads and checks one region's "backends" and "forward" (members of the region
// object `region`); every problem goes to error. Returns false when there was any.
bool parse_region(const nlohmann::json& region, RegionForward& out, const ErrorSink& error);
// The same with "backends" already read (by the services loader, whose errors
// they were): checks and reads "forward" only.
// base_dir: the folder relative file names (TLS certificates) resolve against.
bool parse_region(const nlohmann::json& region, std::vector<BackendSpec> backends, RegionForward& out,
                  const ErrorSink& error, const std::string& base_dir = "");

// The files a region's forwarding settings read (certificates, keys, backend CAs): a change to one
// is a change to the configuration (ServerState watches them).
std::vector<std::string> watched_files(const RegionForward& settings);

// A region the forwarding tier serves, with its settings as read once at load
// (runtime::LoadedState::forwarding).
struct ForwardedRegion {
  std::string service;
  std::string region;
  RegionForward settings;
};
using ForwardingPlan = std::vector<ForwardedRegion>;

}  // namespace meridian::forward
