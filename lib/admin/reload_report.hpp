// The JSON answer of POST /reload: what one reload did (runtime::ReloadOutcome).
#pragma once
#include <nlohmann/json.hpp>

#include "runtime/server_state.hpp"

namespace meridian::admin {

nlohmann::ordered_json build_counts_json(const runtime::BuildCounts& b);

// {"result": "ok"|"rejected", "trigger", "took_ms", "zones", "services",
//  "zone_failures", "built": {...}, "errors": [...], "zone_errors": [...]}
nlohmann::ordered_json reload_report(const runtime::ReloadOutcome& outcome);

}  // namespace meridian::admin
