// A region's "backends" in meridian.json: the servers a forwarding region sends
// to. Read once, by the services loader, for both routing (health keys,
// "min_healthy") and the forwarding tier (balancing groups, per-backend limits).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace meridian::config {

class JsonObjectReader;  // config/json_object_reader.hpp

struct BackendSpec {
  std::string address;  // as written, "127.0.0.1:9001"; part of the health key
  std::string host;
  uint16_t port = 0;
  uint32_t weight = 1;  // 0: drained (no new traffic)
  std::string group = "default";
  uint32_t max_connections = 0;  // 0: the region's bulkhead default
};

// Reads the region's "backends" when present: the valid entries in order; each
// problem goes to the region reader's sink.
std::vector<BackendSpec> read_backends(JsonObjectReader& region);

}  // namespace meridian::config
