#include "admin/reload_report.hpp"

#include <cmath>

namespace meridian::admin {

nlohmann::ordered_json build_counts_json(const runtime::BuildCounts& b) {
  return {{"zones_built", b.zones_built},
          {"zones_reused", b.zones_reused},
          {"services_compiled", b.services_compiled},
          {"services_reused", b.services_reused},
          {"databases_opened", b.databases_opened},
          {"databases_reused", b.databases_reused},
          {"routing_tables_built", b.routing_tables_built},
          {"routing_tables_reused", b.routing_tables_reused}};
}

nlohmann::ordered_json reload_report(const runtime::ReloadOutcome& o) {
  nlohmann::ordered_json j;
  j["result"] = o.ok ? "ok" : "rejected";
  j["trigger"] = o.trigger;
  j["took_ms"] = std::round(o.seconds * 1e4) / 10;  // 0.1 ms
  j["zones"] = o.zones;
  j["services"] = o.services;
  j["zone_failures"] = o.zone_failures;
  j["built"] = o.ok ? build_counts_json(o.built) : nlohmann::ordered_json();
  j["errors"] = o.errors;
  j["zone_errors"] = o.zone_errors;
  return j;
}

}  // namespace meridian::admin
