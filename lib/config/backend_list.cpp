#include "config/backend_list.hpp"

#include <set>

#include "config/json_object_reader.hpp"

#include "util/host_port.hpp"

namespace meridian::config {

namespace {

constexpr const char* kBackendForms = "\"HOST:PORT\" or {\"address\": \"HOST:PORT\", \"weight\": N}";

}  // namespace

std::vector<BackendSpec> read_backends(JsonObjectReader& region) {
  std::vector<BackendSpec> out;
  const nlohmann::json* list = region.find("backends");
  if (!list) return out;
  const JsonPointer at = region.pointer("backends");
  if (!list->is_array() || list->empty()) {
    region.error("backends", std::string("\"backends\" is a non-empty array of ") + kBackendForms);
    return out;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const nlohmann::json& entry = (*list)[i];
    JsonObjectReader backend(entry, at / i, region.sink());
    BackendSpec b;
    if (entry.is_string()) {
      b.address = entry.get<std::string>();
    } else if (entry.is_object() && entry.contains("address") && entry["address"].is_string()) {
      // Unknown keys first, as the forwarding tier always reported them.
      backend.allow({"address", "weight", "group", "max_connections"});
      backend.allow({"tls"});  // TLS toward the backend: read by forward::parse_region
      backend.allow({"protocol", "h2_max_sessions"});  // HTTP/2 toward the backend: likewise
      backend.report_unknown_keys();
      backend.string("address", b.address);
      backend.integer("weight", b.weight, 0, 1000000);
      backend.string("group", b.group);
      backend.integer("max_connections", b.max_connections, 1, 1000000);
    } else {
      backend.error(std::string("a backend is ") + kBackendForms);
      continue;
    }
    const auto hp = util::parse_host_port(b.address);
    if (!hp || hp->port == 0) {
      backend.error("\"" + b.address + "\" is not an address:port such as 127.0.0.1:9001 or [::1]:9001");
      continue;
    }
    b.host = hp->address.to_string();
    b.port = hp->port;
    if (!seen.insert(b.address).second) {
      backend.error("backend \"" + b.address + "\" is listed twice");
      continue;
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace meridian::config
