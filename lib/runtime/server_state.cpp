#include "runtime/server_state.hpp"

#include <set>

#include "runtime/file_fingerprint.hpp"
#include "util/log.hpp"

namespace meridian::runtime {

using util::log;
using util::LogLevel;

ServerState::ServerState(std::string config_path, LoadedState initial, net::SnapshotHolder& holder,
                         health::HealthTable& table, health::CheckRunner* checks)
    : config_path_(std::move(config_path)), holder_(holder), table_(table), checks_(checks), state_(std::move(initial)) {
  if (checks_) checks_->apply(check_targets(*state_.services, state_.checks));
  publish_locked();
  config_fingerprint_ = fingerprint(config_paths());
  health_fingerprint_ = fingerprint(health_paths());
}

std::vector<std::string> ServerState::config_paths() const {
  std::vector<std::string> paths{config_path_};
  paths.insert(paths.end(), state_.config.zone_paths.begin(), state_.config.zone_paths.end());
  return paths;
}

std::vector<std::string> ServerState::health_paths() const {
  if (state_.config.health_dir.empty()) return {};
  return {state_.config.health_dir};
}

bool ServerState::reload(const std::string& trigger) {
  std::lock_guard lock(mutex_);
  log(LogLevel::info, "reload_start", {{"trigger", trigger}});
  config::Diagnostics diagnostics;
  auto next = load_state(config_path_, diagnostics);
  ++status_.reloads;
  if (!next) {
    ++status_.failures;
    status_.last_ok = false;
    status_.last_error = diagnostics.to_string();
    for (const auto& d : diagnostics.items()) log(LogLevel::error, "reload_error", {{"error", d.to_string()}});
    log(LogLevel::warn, "reload_rejected", {{"reason", "invalid files; the previous state keeps serving"}});
    // Remember the broken files so they are not retried until edited again.
    config_fingerprint_ = fingerprint(config_paths());
    return false;
  }
  if (apply_hook_) {
    try {
      apply_hook_(*next);
    } catch (const std::exception& e) {
      ++status_.failures;
      status_.last_ok = false;
      status_.last_error = e.what();
      log(LogLevel::error, "reload_error", {{"error", e.what()}});
      log(LogLevel::warn, "reload_rejected", {{"reason", "the previous state keeps serving"}});
      config_fingerprint_ = fingerprint(config_paths());
      return false;
    }
  }
  if (next->config.dns.listen != state_.config.dns.listen)
    log(LogLevel::warn, "reload_listen_unchanged", {{"reason", "listen addresses change on restart only"}});
  state_ = std::move(*next);
  // Entries of endpoints and backends that still exist keep their state.
  std::set<std::string> keys;
  for (const auto& svc : state_.services->services)
    for (const auto& r : svc.regions) {
      for (const auto& e : r.endpoints) keys.insert(r.endpoint_key(svc.name, e));
      for (const auto& b : r.backends) keys.insert(r.backend_key(svc.name, b));
    }
  table_.retain([&](const std::string& key) { return keys.count(key) > 0; });
  if (checks_) checks_->apply(check_targets(*state_.services, state_.checks));
  publish_locked();
  status_.last_ok = true;
  status_.last_error.clear();
  config_fingerprint_ = fingerprint(config_paths());
  health_fingerprint_ = fingerprint(health_paths());
  log(LogLevel::info, "reload_done", {{"zones", std::to_string(state_.zones->size())},
                                      {"services", std::to_string(state_.services->services.size())}});
  return true;
}

bool ServerState::reload_health() {
  config::Diagnostics diagnostics;
  auto overrides = load_health_overrides(state_.config.health_dir, *state_.services, diagnostics);
  health_fingerprint_ = fingerprint(health_paths());
  if (!overrides) {
    ++status_.failures;
    status_.last_ok = false;
    status_.last_error = diagnostics.to_string();
    for (const auto& d : diagnostics.items()) log(LogLevel::error, "health_file_error", {{"error", d.to_string()}});
    log(LogLevel::warn, "health_file_rejected", {{"reason", "the previous overrides stay in force"}});
    return false;
  }
  for (const auto& [key, o] : *overrides)
    log(LogLevel::info, "health_override",
        {{"key", key}, {"state", o.mode == health::Override::up ? "up" : o.mode == health::Override::down ? "down" : "auto"},
         {"reason", o.reason}});
  state_.health = std::make_shared<health::HealthSnapshot>(std::move(*overrides), state_.health->observed());
  publish_locked();
  status_.last_ok = true;
  status_.last_error.clear();
  return true;
}

void ServerState::publish_locked() {
  state_.health = std::make_shared<health::HealthSnapshot>(state_.health->overrides(), table_.effective());
  state_.snapshot = make_snapshot(state_.config, state_.zones, state_.services, *state_.health);
  holder_.publish(state_.snapshot);
}

void ServerState::refresh_health() {
  std::lock_guard lock(mutex_);
  publish_locked();
}

void ServerState::poll() {
  bool config_changed;
  {
    std::lock_guard lock(mutex_);
    config_changed = fingerprint(config_paths()) != config_fingerprint_;
    if (!config_changed && fingerprint(health_paths()) != health_fingerprint_) reload_health();
  }
  if (config_changed) reload("file change");
}

ReloadStatus ServerState::reload_status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

LoadedState ServerState::current() const {
  std::lock_guard lock(mutex_);
  return state_;
}

}  // namespace meridian::runtime
