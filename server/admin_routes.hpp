// Wires the admin endpoints to the running server's parts.
#pragma once
#include <atomic>
#include <chrono>
#include <functional>

#include "admin/admin_server.hpp"
#include "health/checks/check_runner.hpp"
#include "health/health_table.hpp"
#include "runtime/dns_service.hpp"
#include "runtime/server_state.hpp"

namespace meridian::cli {

// POST /reload answers 504 when the reload has not finished by then (it still
// completes; /status shows its result).
inline constexpr std::chrono::seconds kReloadDeadline{60};

struct RunningServer {
  runtime::DnsService& dns;
  runtime::ServerState& state;
  health::HealthTable& health;
  health::CheckRunner& checks;
  std::atomic<bool>& listeners_up;
  bool ready_after_checks = false;
  // Forwarding tier reports, when it runs.
  std::function<std::string()> forward_metrics;
  std::function<nlohmann::json()> forward_status;
  // Hands a reload to the thread that reloads (runtime::StateWatcher).
  std::function<void(std::string, std::function<void(const runtime::ReloadOutcome&)>)> request_reload;
  // The cluster node's reports, when "cluster" is configured.
  std::function<std::string()> cluster_metrics;
  std::function<nlohmann::json()> cluster_status;
};

void add_admin_routes(admin::AdminServer& server, RunningServer& running);

}  // namespace meridian::cli
