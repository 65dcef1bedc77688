// Services and regions as compiled from meridian.json: what a dynamic name can
// answer, and for every client class the ordered preference over regions.
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/backend_list.hpp"
#include "health/health_key.hpp"
#include "routing/prefix_trie.hpp"
#include "util/ip_address.hpp"

namespace meridian::routing {

struct Endpoint {
  std::string address_text;
  util::IpAddress ip;
  uint32_t weight = 1;
};

struct Location {
  double latitude = 0;
  double longitude = 0;
};

// Read once by the services loader; the forwarding tier gets the same list.
using Backend = config::BackendSpec;

// How many backends must be up for the region to be up: a count or a share.
struct MinHealthy {
  unsigned count = 1;
  double percent = -1;  // >= 0: a percentage of the backends instead of a count
  unsigned required(std::size_t backends) const;
};

struct Region {
  std::string name;
  std::vector<Endpoint> endpoints;
  uint32_t weight = 1;
  std::optional<Location> location;
  std::vector<Backend> backends;
  std::string check;         // name of a check in "checks"; empty: not checked
  MinHealthy min_healthy;
  // After coming back up, the share of its first-choice clients grows from 0 to
  // 100% over this time (0: at once).
  std::chrono::milliseconds slow_start{0};

  // Health identities: of the region (overrides, slow start), of what it holds.
  health::HealthKey key(const std::string& service) const { return health::HealthKey::region(service, name); }
  health::HealthKey endpoint_key(const std::string& service, const Endpoint& e) const {
    return health::HealthKey::endpoint(service, name, e.address_text);
  }
  health::HealthKey backend_key(const std::string& service, const Backend& b) const {
    return health::HealthKey::backend(service, name, b.address);
  }
};

namespace policies {
struct Policy;  // routing/policies/policy.hpp
}
// A service's "policy" as written ("geo", ...).
const char* policy_name(const policies::Policy* policy);

// Regions in a tier are equivalent for a client (chosen among by weight); the
// first tier with a healthy region wins.
struct Tier {
  std::vector<uint16_t> regions;
};
struct Preference {
  std::vector<Tier> tiers;
  bool operator==(const Preference& o) const;
};
bool operator==(const Tier& a, const Tier& b);

struct Service {
  std::string name;
  const policies::Policy* policy = nullptr;  // from the policy table, set by the loader
  uint32_t ttl = 300;
  uint32_t failover_ttl = 30;
  // TTL follows health: an answer's TTL is lowered to the time until the health
  // that decided it can next change, but not below ttl_min (default ttl / 2).
  bool ttl_follows_health = true;
  uint32_t ttl_min = 150;
  unsigned answers = 1;     // 0: all healthy endpoints
  bool fail_open = true;
  std::vector<Region> regions;

  // Client classification: address (either family) -> index into classes.
  std::vector<Preference> classes;
  PrefixTrie trie;
  uint32_t fallback_class = 0;  // the class of a client no rule matches (transfers ship its answer)

  // Policy inputs, kept for explain.
  std::vector<std::pair<std::string, std::vector<uint16_t>>> geo_map;    // key -> regions (geo)
  std::vector<std::pair<std::string, std::vector<double>>> latency_rows; // key -> RTT per region (latency)
  double tolerance_ms = 0;
  std::string latency_path;  // the latency table read (latency policy), watched for reloads
  // Everything classes and trie were compiled from, as text: equal inputs, equal classes.
  std::string compile_inputs;

  int region_index(const std::string& name) const;
};

}  // namespace meridian::routing
