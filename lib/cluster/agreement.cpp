#include "cluster/agreement.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

namespace meridian::cluster {

using nlohmann::json;

namespace {

std::optional<health::Override> parse_override(const std::string& text) {
  const json v = json::parse(text, nullptr, false);
  health::Override o;
  o.file = "etcd";
  std::string state;
  if (v.is_string()) state = v.get<std::string>();
  else if (v.is_object() && v.contains("state") && v["state"].is_string()) {
    state = v["state"].get<std::string>();
    if (v.contains("reason") && v["reason"].is_string()) o.reason = v["reason"].get<std::string>();
  } else {
    return std::nullopt;
  }
  if (state == "up") o.mode = health::Override::up;
  else if (state == "down") o.mode = health::Override::down;
  else if (state == "auto") o.mode = health::Override::automatic;
  else return std::nullopt;
  return o;
}

}  // namespace

ClusterData read_cluster_data(const ClusterKeys& keys, const std::map<std::string, std::string>& kvs) {
  ClusterData out;
  for (const auto& [key, value] : kvs) {
    const auto parsed = keys.parse(key);
    if (!parsed) {
      out.problems.push_back(key + ": not a key of meridian's layout");
      continue;
    }
    const json v = json::parse(value, nullptr, false);
    try {
      switch (parsed->kind) {
        case ClusterKeys::Parsed::Kind::node: {
          if (!v.is_object()) throw std::runtime_error("not an object");
          NodeRecord r;
          r.config_hash = v.value("config_hash", std::string());
          r.version = v.value("version", std::string());
          r.started = v.value("started", int64_t{0});
          r.last_seen = v.value("last_seen", int64_t{0});
          out.nodes[parsed->node] = r;
          break;
        }
        case ClusterKeys::Parsed::Kind::observation: {
          if (!v.is_object() || !v.contains("up") || !v["up"].is_boolean()) throw std::runtime_error("no \"up\"");
          NodeObservation o;
          o.up = v["up"].get<bool>();
          o.since = v.value("since", int64_t{0});
          o.reason = v.value("reason", std::string());
          out.observations[parsed->health_key][parsed->node] = o;
          break;
        }
        case ClusterKeys::Parsed::Kind::override_key: {
          const auto o = parse_override(value);
          if (!o) throw std::runtime_error("not \"up\", \"down\", \"auto\" or {\"state\": ..., \"reason\": ...}");
          if (o->mode != health::Override::automatic) out.overrides[parsed->health_key] = *o;
          break;
        }
      }
    } catch (const std::exception& e) {
      out.problems.push_back(key + ": " + e.what());
    }
  }
  return out;
}

std::string node_record_json(const std::string& node, const NodeRecord& r) {
  return json{{"node", node}, {"config_hash", r.config_hash}, {"version", r.version},
              {"started", r.started}, {"last_seen", r.last_seen}}.dump();
}

std::string observation_json(const NodeObservation& o) {
  return json{{"up", o.up}, {"since", o.since}, {"reason", o.reason}}.dump();
}

std::string override_json(health::Override::Mode mode, const std::string& reason) {
  const char* state = mode == health::Override::up ? "up" : mode == health::Override::down ? "down" : "auto";
  if (reason.empty()) return json(state).dump();
  return json{{"state", state}, {"reason", reason}}.dump();
}

bool agreed_down(int down, int observers, const config::AgreeRule& rule) {
  if (observers <= 0 || down <= 0) return false;
  switch (rule.kind) {
    case config::AgreeRule::Kind::majority: return 2 * down > observers;
    case config::AgreeRule::Kind::any: return true;
    case config::AgreeRule::Kind::all: return down == observers;
    case config::AgreeRule::Kind::fraction:
      // A small tolerance so that 0.5 of 2 or 1/3 written as 0.333333 count as meant.
      return static_cast<double>(down) + 1e-6 >= rule.fraction * observers;
  }
  return false;
}

std::map<std::string, AgreedKey> agree(const ClusterData& data, const config::AgreeRule& rule, int min_observers,
                                       const std::function<bool(const std::string&)>& known) {
  std::map<std::string, AgreedKey> out;
  for (const auto& [key, by_node] : data.observations) {
    if (known && !known(key)) continue;
    AgreedKey a;
    std::string first_reason;
    for (const auto& [node, o] : by_node) {
      if (!data.nodes.count(node)) continue;  // its lease expired: its votes are gone
      ++a.observers;
      if (!o.up) {
        ++a.down;
        a.down_nodes.push_back(node);
        if (first_reason.empty()) first_reason = o.reason;
      }
    }
    if (a.observers == 0) continue;
    a.counted = a.observers >= min_observers;
    const bool down = agreed_down(a.down, a.observers, rule);
    a.status.state = down ? health::State::down : health::State::up;
    a.status.source = health::Source::cluster;
    std::string text = std::to_string(a.down) + "/" + std::to_string(a.observers) + " nodes see it down";
    if (a.down > 0) {
      text += " (";
      for (std::size_t i = 0; i < a.down_nodes.size(); ++i) text += (i ? ", " : "") + a.down_nodes[i];
      text += ")";
      if (!first_reason.empty()) text += ": " + first_reason;
    }
    a.status.reason = text;
    out[key] = std::move(a);
  }
  return out;
}

health::ClusterInputs cluster_inputs(const ClusterData& data, const std::map<std::string, AgreedKey>& agreed,
                                     bool fresh) {
  health::ClusterInputs in;
  in.overrides = data.overrides;
  if (fresh)
    for (const auto& [key, a] : agreed)
      if (a.counted) in.agreed[key] = a.status;
  return in;
}

}  // namespace meridian::cluster
