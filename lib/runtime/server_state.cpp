#include "runtime/server_state.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>

#include "runtime/file_fingerprint.hpp"
#include "runtime/zone_loading.hpp"
#include "util/log.hpp"

namespace meridian::runtime {

using util::log;
using util::LogLevel;

namespace {

bool has_signed_zone(const zone::ZoneSet& zones) {
  bool any = false;
  zones.for_each_zone([&](const zone::Zone& z) { any = any || z.signed_zone(); });
  return any;
}

void add_counts(BuildCounts& total, const BuildCounts& more) {
  total.zones_built += more.zones_built;
  total.zones_reused += more.zones_reused;
  total.services_compiled += more.services_compiled;
  total.services_reused += more.services_reused;
  total.databases_opened += more.databases_opened;
  total.databases_reused += more.databases_reused;
  total.routing_tables_built += more.routing_tables_built;
  total.routing_tables_reused += more.routing_tables_reused;
}

double unix_seconds_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void observe_duration(ReloadStatus& status, double seconds) {
  std::size_t bucket = 0;
  while (bucket < kReloadDurationBounds.size() && seconds > kReloadDurationBounds[bucket]) ++bucket;
  ++status.duration_buckets[bucket];
  status.duration_sum += seconds;
}

std::string milliseconds_text(double seconds) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1fms", seconds * 1000);
  return text;
}

// Where the cookie secrets come from; the secrets themselves are never logged.
void log_cookie_policy(const config::CookieSettings& settings, const cookies::CookiePolicy& policy) {
  if (!policy.enabled) {
    log(LogLevel::info, "dns_cookies", {{"enabled", "false"}});
    return;
  }
  log(LogLevel::info, "dns_cookies",
      {{"enabled", "true"}, {"require", policy.require ? "true" : "false"},
       {"secret", policy.random_secret ? "random (made at start; give every node of an anycast set the same secret_file)"
                                       : settings.secret_file},
       {"previous_secret", policy.secrets.has_previous ? "accepted" : "none"}});
}

// Response rate limiting as configured (dns.rrl), at start and when a reload changes it.
void log_rrl(const std::optional<config::RrlSettings>& rrl) {
  if (!rrl) {
    log(LogLevel::info, "dns_rrl", {{"enabled", "false"}});
    return;
  }
  log(LogLevel::info, "dns_rrl",
      {{"enabled", "true"}, {"responses_per_second", std::to_string(rrl->responses_per_second)},
       {"nxdomains_per_second", std::to_string(rrl->nxdomains_per_second)},
       {"errors_per_second", std::to_string(rrl->errors_per_second)}, {"window", std::to_string(rrl->window)},
       {"slip", std::to_string(rrl->slip)}, {"ipv4_prefix", std::to_string(rrl->ipv4_prefix)},
       {"ipv6_prefix", std::to_string(rrl->ipv6_prefix)}, {"exempt", std::to_string(rrl->exempt.size())},
       {"log_only", rrl->log_only ? "true" : "false"}});
}

}  // namespace

ServerState::ServerState(std::string config_path, LoadedState initial, net::SnapshotHolder& holder,
                         health::HealthTable& table, health::CheckRunner* checks)
    : config_path_(std::move(config_path)), holder_(holder), table_(table), checks_(checks), state_(std::move(initial)) {
  add_counts(status_.total_built, state_.built);
  status_.last_success_unix_seconds = unix_seconds_now();
  if (checks_) checks_->apply(check_targets(*state_.services, state_.checks));
  log_cookie_policy(state_.config.dns.cookies, state_.cookies);
  if (state_.config.dns.rrl) log_rrl(state_.config.dns.rrl);
  const auto presigned = presign(state_);  // no other thread yet: the same as a reload's
  publish_locked(presigned.get());
  config_fingerprint_ = fingerprint(config_paths());
  health_fingerprint_ = fingerprint(health_paths());
  refresher_ = std::thread([this] { run_refresher(); });
}

ServerState::~ServerState() {
  {
    std::lock_guard lock(refresher_mutex_);
    refresher_stop_ = true;
  }
  refresher_wake_.notify_one();
  refresher_.join();
}

void ServerState::wake_refresher() {
  {
    std::lock_guard lock(refresher_mutex_);
    refresher_due_ = true;
  }
  refresher_wake_.notify_one();
}

void ServerState::run_refresher() {
  for (;;) {
    {
      std::unique_lock lock(refresher_mutex_);
      refresher_wake_.wait(lock, [&] { return refresher_due_ || refresher_stop_; });
      if (refresher_stop_) return;
      refresher_due_ = false;
    }
    const auto now = static_cast<uint32_t>(std::time(nullptr));
    std::shared_ptr<const routing::ServiceSet> services;
    std::shared_ptr<const routing::RoutingTable> table;  // the served one, which the next publish keeps
    {
      std::lock_guard lock(mutex_);
      services = state_.services;
      table = routing_table_;
    }
    // Signed with no lock held: publishes (health, reloads) go on meanwhile with
    // the signatures kept, which are still valid.
    bool any = false;
    for (const ZoneSigning::RefreshJob& job : signing_.refresh_jobs(now, services)) {
      {
        std::lock_guard lock(refresher_mutex_);
        if (refresher_stop_) return;
      }
      if (!signing_.refresh(job, now)) continue;
      any = true;
      // The dynamic answers for the new window too, so that the publish below takes
      // them from the cache instead of signing them all with the state mutex held.
      if (table) signing_.presign_answers(job, *table);
    }
    if (any) refresh_health();  // a snapshot with the new signatures (dynamic answers signed for their window)
  }
}

std::vector<std::string> ServerState::config_paths() const {
  std::vector<std::string> paths{config_path_};
  paths.insert(paths.end(), state_.config.zone_paths.begin(), state_.config.zone_paths.end());
  if (state_.cookies.enabled && !state_.config.dns.cookies.secret_file.empty())
    paths.push_back(state_.config.dns.cookies.secret_file);
  for (const auto& s : state_.services->services)
    if (!s.latency_path.empty() && std::find(paths.begin(), paths.end(), s.latency_path) == paths.end())
      paths.push_back(s.latency_path);
  // TLS certificates and keys of the forwarding tier: a renewed one is a reload.
  if (state_.forwarding)
    for (const auto& r : *state_.forwarding)
      for (auto& f : forward::watched_files(r.settings))
        if (std::find(paths.begin(), paths.end(), f) == paths.end()) paths.push_back(std::move(f));
  // CA files of https/h2 checks: a replaced one is a reload (probes also read it per attempt).
  for (const auto& [name, check] : state_.checks)
    if (check.tls && !check.tls_settings.ca.empty() &&
        std::find(paths.begin(), paths.end(), check.tls_settings.ca) == paths.end())
      paths.push_back(check.tls_settings.ca);
  // A database replaced by rename (geoipupdate) is picked up like any other file.
  for (const auto& [path, stamp] : state_.services->database_stamps)
    if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(path);
  return paths;
}

std::vector<std::string> ServerState::watched_paths() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> paths = config_paths();
  for (auto& p : health_paths()) paths.push_back(std::move(p));
  return paths;
}

std::vector<std::string> ServerState::health_paths() const {
  if (state_.config.health_dir.empty()) return {};
  return {state_.config.health_dir};
}

void ServerState::set_reload_observer(ReloadObserver* observer) {
  std::lock_guard lock(mutex_);
  observer_ = observer;
}

ReloadOutcome ServerState::reload(const std::string& trigger) {
  std::lock_guard reloading(reload_mutex_);
  std::unique_lock lock(mutex_);
  if (observer_) observer_->reload_started(trigger);
  ReloadOutcome outcome = reload_locked(trigger, lock);
  observe_duration(status_, outcome.seconds);
  if (observer_) observer_->reload_finished(outcome);
  return outcome;
}

ReloadOutcome ServerState::reload_locked(const std::string& trigger, std::unique_lock<std::mutex>& lock) {
  const auto started = std::chrono::steady_clock::now();
  ReloadOutcome outcome;
  outcome.trigger = trigger;
  // What is served once the reload is done (the previous state when it is rejected).
  auto describe_served = [&] {
    outcome.zones = state_.zones->size();
    outcome.services = state_.services->services.size();
    outcome.zone_failures = count_zone_failures(*state_.zone_reports);
  };
  auto rejected = [&](std::vector<std::string> errors) {
    outcome.errors = std::move(errors);
    outcome.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    describe_served();
    // Remember the broken files so they are not retried until edited again.
    config_fingerprint_ = fingerprint(config_paths());
    return outcome;
  };
  log(LogLevel::info, "reload_start", {{"trigger", trigger}});
  config::Diagnostics diagnostics;
  // Zone files that no longer load keep their versions from state_.
  auto next = load_state(config_path_, diagnostics, {.previous = &state_, .build_snapshot = false});
  ++status_.reloads;
  if (!next) {
    ++status_.failures;
    status_.last_ok = false;
    status_.last_error = diagnostics.to_string();
    std::vector<std::string> errors;
    for (const auto& d : diagnostics.items()) {
      errors.push_back(d.to_string());
      log(LogLevel::error, "reload_error", {{"error", errors.back()}});
    }
    log(LogLevel::warn, "reload_rejected", {{"reason", "invalid files; the previous state keeps serving"}});
    return rejected(std::move(errors));
  }
  if (participant_) {
    try {
      participant_->prepare(*next);
    } catch (const std::exception& e) {
      ++status_.failures;
      status_.last_ok = false;
      status_.last_error = e.what();
      log(LogLevel::error, "reload_error", {{"error", e.what()}});
      log(LogLevel::warn, "reload_rejected", {{"reason", "the previous state keeps serving"}});
      return rejected({e.what()});
    }
  }
  for (const auto& w : diagnostics.warnings()) log(LogLevel::warn, "load_warning", {{"warning", w.to_string()}});
  log_zone_failures(*next->zone_reports);
  if (next->config.dns.listen != state_.config.dns.listen)
    log(LogLevel::warn, "reload_listen_unchanged", {{"reason", "listen addresses change on restart only"}});
  if (next->cookies.secrets != state_.cookies.secrets || next->cookies.enabled != state_.cookies.enabled ||
      next->cookies.require != state_.cookies.require)
    log_cookie_policy(next->config.dns.cookies, next->cookies);
  if (next->config.dns.rrl != state_.config.dns.rrl) log_rrl(next->config.dns.rrl);
  // New or changed signed zones are signed now, with the state mutex released (for
  // a large zone this takes seconds): health changes, the signature refresher and
  // /status go on meanwhile with the state served until now. Reloads themselves
  // wait on reload_mutex_.
  bool health_reloaded_meanwhile = false;
  std::shared_ptr<const routing::RoutingTable> presigned;
  if (has_signed_zone(*next->zones)) {
    const uint64_t health_loads = health_loads_;
    lock.unlock();
    presigned = presign(*next);
    lock.lock();
    health_reloaded_meanwhile = health_loads_ != health_loads;
  }
  state_ = std::move(*next);
  // Entries of endpoints and backends that still exist keep their state.
  std::set<std::string> keys;
  for (const auto& svc : state_.services->services)
    for (const auto& r : svc.regions) {
      for (const auto& e : r.endpoints) keys.insert(r.endpoint_key(svc.name, e).to_string());
      for (const auto& b : r.backends) keys.insert(r.backend_key(svc.name, b).to_string());
    }
  table_.retain([&](const std::string& key) { return keys.count(key) > 0; });
  if (checks_) checks_->apply(check_targets(*state_.services, state_.checks));
  const bool kept_routing = publish_locked(presigned.get());
  // Override files edited while the zones were signed: next's were read before.
  if (health_reloaded_meanwhile) reload_health();
  status_.last_ok = true;
  status_.last_error.clear();
  status_.last_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  status_.last_success_unix_seconds = unix_seconds_now();
  status_.last_built = state_.built;
  status_.last_built.routing_tables_built = state_.snapshot->routing && !kept_routing;
  status_.last_built.routing_tables_reused = state_.snapshot->routing && kept_routing;
  add_counts(status_.total_built, state_.built);  // the load's parts (publish_locked counted the table)
  config_fingerprint_ = fingerprint(config_paths());
  health_fingerprint_ = fingerprint(health_paths());
  // A zone file that did not load does not fail the reload (the rest is served):
  // its state is in zone_reports, /status and the meridian_zone_* metrics.
  const BuildCounts& b = status_.last_built;
  log(LogLevel::info, "reload_done", {{"took", milliseconds_text(status_.last_seconds)},
                                      {"zones", std::to_string(state_.zones->size())},
                                      {"zones_built", std::to_string(b.zones_built)},
                                      {"zones_reused", std::to_string(b.zones_reused)},
                                      {"services", std::to_string(state_.services->services.size())},
                                      {"services_compiled", std::to_string(b.services_compiled)},
                                      {"services_reused", std::to_string(b.services_reused)},
                                      {"databases_opened", std::to_string(b.databases_opened)},
                                      {"routing_table", b.routing_tables_reused ? "reused" : b.routing_tables_built ? "built" : "none"},
                                      {"zone_failures", std::to_string(count_zone_failures(*state_.zone_reports))}});
  outcome.ok = true;
  outcome.seconds = status_.last_seconds;
  outcome.built = status_.last_built;
  describe_served();
  for (const auto& r : *state_.zone_reports)
    for (const auto& e : r.errors) outcome.zone_errors.push_back(e.to_string());
  return outcome;
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
  state_.health = std::make_shared<health::HealthSnapshot>(std::move(*overrides), std::map<std::string, health::Status>{});
  ++health_loads_;
  publish_locked();  // with what the table observed
  status_.last_ok = true;
  status_.last_error.clear();
  return true;
}

std::shared_ptr<const routing::RoutingTable> ServerState::presign(const LoadedState& next) {
  if (!next.zones || !has_signed_zone(*next.zones)) return nullptr;
  std::shared_ptr<const routing::RoutingTable> table;
  if (next.services && next.health)
    table = std::make_shared<routing::RoutingTable>(
        next.services,
        health::HealthSnapshot::of_table(next.health->overrides(), table_.entries(), table_.cluster()));
  signing_.prepare(*next.zones, next.services.get(), static_cast<uint32_t>(std::time(nullptr)), table.get());
  return table;
}

bool ServerState::publish_locked(const routing::RoutingTable* presigned) {
  // The forwarding tier reads the overrides from the table (a no-op when they did not change).
  table_.set_overrides(state_.health->overrides());
  state_.health = std::make_shared<health::HealthSnapshot>(
      health::HealthSnapshot::of_table(state_.health->overrides(), table_.entries(), table_.cluster()));
  // The services and the health the served table was built from did not change
  // (a reload of zones only): keep the table, whose build walks every service's trie.
  // (state_.snapshot is the new load's, without a table, during a reload: the served one is kept apart.)
  const bool keep_table = routing_table_ && routing_health_ && &routing_table_->services() == state_.services.get() &&
                          *routing_health_ == *state_.health && !routing_ramped_ && !slow_start_.ramping();
  // Else a new table, which takes over each service whose regions' health did not change.
  auto table_for = [&](const routing::RampShares& ramps) -> std::shared_ptr<const routing::RoutingTable> {
    if (!state_.services) return nullptr;
    const routing::RoutingTable* previous =
        presigned && &presigned->services() == state_.services.get() ? presigned : routing_table_.get();
    return std::make_shared<routing::RoutingTable>(state_.services, *state_.health, ramps, previous);
  };
  const auto unix_now = static_cast<uint32_t>(std::time(nullptr));
  auto signatures = state_.zones ? signing_.for_zones(*state_.zones, state_.services.get(), unix_now)
                                 : std::vector<std::shared_ptr<const zone::ZoneSignatures>>{};
  // First without ramps, to learn which regions are up now; a region that was
  // down and is up again starts its slow start.
  // Dynamic answers of signed zones, for the table the snapshot gets: cache hits,
  // but for sets that were never signed (a health change's new ones), signed here.
  auto answer_signatures = [&](const std::shared_ptr<const routing::RoutingTable>& table) {
    return state_.zones && !signatures.empty() ? signing_.answers_for(*state_.zones, table.get()) : nullptr;
  };
  auto first_table = keep_table ? routing_table_ : table_for({});
  auto snapshot = make_snapshot(state_.config, state_.cookies, state_.zones, state_.services, *state_.health, {},
                                first_table, signatures, answer_signatures(first_table));
  bool any_new = false;
  if (snapshot->routing) {
    for (const auto& started : slow_start_.observe(*snapshot->routing, std::chrono::steady_clock::now())) {
      any_new = true;
      log(LogLevel::info, "slow_start",
          {{"region", started.region.to_string()}, {"over_ms", std::to_string(started.over.count())}});
    }
  }
  const routing::RampShares ramps = slow_start_.shares(*state_.services, std::chrono::steady_clock::now());
  if (!ramps.empty() || any_new) {
    auto ramped_table = table_for(ramps);
    snapshot = make_snapshot(state_.config, state_.cookies, state_.zones, state_.services, *state_.health, ramps,
                             ramped_table, signatures, answer_signatures(ramped_table));
  }
  state_.snapshot = std::move(snapshot);
  const bool kept = state_.snapshot->routing && state_.snapshot->routing == routing_table_;
  if (state_.snapshot->routing)
    ++(kept ? status_.total_built.routing_tables_reused : status_.total_built.routing_tables_built);
  routing_table_ = state_.snapshot->routing;
  routing_health_ = state_.health;
  routing_ramped_ = !ramps.empty() || any_new;
  holder_.publish(state_.snapshot);
  return kept;
}

bool ServerState::ramping() const {
  std::lock_guard lock(mutex_);
  return slow_start_.ramping();
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
    // DNSSEC signatures due for refreshing: signed anew by the refresher thread.
    if (!config_changed && signing_.refresh_due(static_cast<uint32_t>(std::time(nullptr)))) wake_refresher();
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
