#include "cluster/cluster_status.hpp"

#include <optional>
#include <vector>

#include "health/health_key.hpp"
#include "util/prometheus_text.hpp"

namespace meridian::cluster {

namespace {

using Label = util::PrometheusText::Label;

// A health key as the labels the other health metrics use: service, region and
// endpoint or backend (key="..." for text that is not a key).
std::vector<Label> key_labels(const std::optional<health::HealthKey>& key, const std::string& text) {
  std::vector<Label> labels;
  if (!key) {
    labels.emplace_back("key", text);
    return labels;
  }
  labels.emplace_back("service", key->service());
  labels.emplace_back("region", key->region_name());
  if (key->kind() == health::HealthKey::Kind::endpoint) labels.emplace_back("endpoint", key->address());
  if (key->kind() == health::HealthKey::Kind::backend) labels.emplace_back("backend", key->address());
  return labels;
}

const char* mode_name(health::Override::Mode m) {
  return m == health::Override::up ? "up" : m == health::Override::down ? "down" : "auto";
}

}  // namespace

nlohmann::ordered_json cluster_status_json(const ClusterStatus& s) {
  nlohmann::ordered_json j;
  j["cluster"] = s.cluster;
  j["node"] = s.node;
  j["config_hash"] = s.config_hash;
  j["etcd_member"] = s.member;
  j["connected"] = s.connected;
  j["fresh"] = s.fresh;
  j["view_age_seconds"] = s.view_age_seconds;
  if (!s.last_error.empty()) j["last_error"] = s.last_error;
  j["lease"] = std::to_string(s.lease);
  j["resyncs"] = s.resyncs;
  nlohmann::ordered_json nodes = nlohmann::ordered_json::object();
  for (const auto& [name, r] : s.nodes)
    nodes[name] = {{"config_hash", r.config_hash}, {"skewed", r.config_hash != s.config_hash},
                   {"version", r.version}, {"started", r.started}, {"last_seen", r.last_seen}};
  j["nodes"] = nodes;
  nlohmann::ordered_json agreed = nlohmann::ordered_json::object();
  for (const auto& [key, a] : s.agreed) {
    nlohmann::ordered_json k{{"state", health::state_name(a.status.state)}, {"observers", a.observers},
                             {"down", a.down}, {"counted", a.counted}, {"reason", a.status.reason}};
    if (const auto own = s.own.find(key); own != s.own.end()) {
      k["this_node"] = own->second ? "up" : "down";
      k["disagrees"] = own->second != (a.status.state == health::State::up);
    }
    agreed[key] = k;
  }
  j["agreed"] = agreed;
  nlohmann::ordered_json overrides = nlohmann::ordered_json::object();
  for (const auto& [key, o] : s.overrides) overrides[key] = {{"state", mode_name(o.mode)}, {"reason", o.reason}};
  j["overrides"] = overrides;
  return j;
}

std::string cluster_metrics(const ClusterStatus& s) {
  util::PrometheusText m;
  m.family("meridian_cluster_nodes", "gauge", "Live nodes of the cluster (node records under a lease in etcd).");
  m.sample("meridian_cluster_nodes", {}, static_cast<double>(s.nodes.size()));
  m.family("meridian_cluster_health_stale", "gauge",
           "1 while the cluster's view is stale (etcd unreachable for stale_after): the node answers from its own checks.");
  m.sample("meridian_cluster_health_stale", {}, s.fresh ? 0 : 1);
  m.family("meridian_cluster_skewed_nodes", "gauge", "Live nodes whose configuration hash differs from this node's.");
  std::size_t skewed = 0;
  for (const auto& [name, r] : s.nodes) skewed += r.config_hash != s.config_hash;
  m.sample("meridian_cluster_skewed_nodes", {}, static_cast<double>(skewed));
  m.family("meridian_cluster_resyncs_total", "counter",
           "Full re-reads of the cluster's keys after the first (a cancelled, compacted or silent watch, a new session after an etcd outage, the minute's re-read).");
  m.sample("meridian_cluster_resyncs_total", {}, static_cast<double>(s.resyncs));
  m.family("meridian_cluster_observers", "gauge", "Live nodes that observe a key, by service, region, endpoint or backend.");
  m.family("meridian_cluster_disagreement", "gauge",
           "1 when this node's own observation of a key differs from the state the cluster agreed on.");
  for (const auto& [key, a] : s.agreed) {
    const auto parsed = health::HealthKey::parse(key);
    const auto labels = key_labels(parsed, key);
    m.sample_with("meridian_cluster_observers", labels, a.observers);
    if (const auto own = s.own.find(key); own != s.own.end())
      m.sample_with("meridian_cluster_disagreement", labels,
                    own->second != (a.status.state == health::State::up) ? 1 : 0);
  }
  return m.render();
}

}  // namespace meridian::cluster
