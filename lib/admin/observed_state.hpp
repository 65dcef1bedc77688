// Everything the admin endpoints report, gathered at request time, and the
// renderers for /metrics (Prometheus text format 0.0.4) and /status (JSON).
#pragma once
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "health/checks/check_runner.hpp"
#include "health/health_table.hpp"
#include "net/dns_stats.hpp"
#include "query/snapshot.hpp"
#include "runtime/server_state.hpp"
#include "zone/zone_report.hpp"

namespace meridian::admin {

struct ObservedState {
  net::DnsStats::Totals dns;
  uint64_t tcp_refused_max_connections = 0;  // TCP connections closed at accept, by the cap reached
  uint64_t tcp_refused_max_per_client = 0;
  std::shared_ptr<const query::Snapshot> snapshot;
  std::shared_ptr<const std::vector<zone::ZoneReport>> zone_reports;  // null: every zone in the snapshot loaded
  std::map<std::string, health::Entry> health;
  health::OverrideMap overrides;
  std::map<std::string, health::CheckStats> checks;
  runtime::ReloadStatus reload;
  std::string forward_metrics;   // Prometheus lines from the forwarding tier
  nlohmann::json forward_status;  // its /status part
  std::string cluster_metrics;    // Prometheus lines from the cluster node (lib/cluster), when it runs
  nlohmann::json cluster_status;  // its /status part
  bool ready = false;
};

std::string render_metrics(const ObservedState& s);
nlohmann::ordered_json render_status(const ObservedState& s);

}  // namespace meridian::admin
