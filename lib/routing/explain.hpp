// Why a client gets the answer it gets: the address used, the database record,
// the matched key, every candidate region with its health and metric, the
// decision, TTL and ECS scope. Shared by `meridian explain`, the admin
// endpoint and the `_explain` TXT query. Not on the query path.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "routing/routing_table.hpp"

namespace meridian::routing {

struct ExplainRequest {
  int service = -1;
  uint16_t qtype = 1;            // A or AAAA
  RouteClient client;            // address decided on (ECS prefix already applied)
  std::string client_text;       // as given, for the report
  int ecs_prefix = -1;           // source prefix when the address came from ECS
  health::Stability::Clock::time_point now = health::Stability::Clock::now();  // for the TTL
};

// Fills request.client from a client address and an optional ECS "ADDRESS/PREFIX"
// (capped as the server caps it); returns an error text, empty when fine.
std::string set_explain_client(ExplainRequest& request, const std::string& client, const std::string& ecs,
                               const EcsSettings& settings);

nlohmann::ordered_json explain(const RoutingTable& table, const ExplainRequest& request);
// The same, as short lines (for the terminal and TXT strings).
std::vector<std::string> explain_lines(const nlohmann::ordered_json& report);

}  // namespace meridian::routing
