#include <csignal>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <functional>
#include <memory>
#include <optional>
#include <set>

#include "admin_routes.hpp"
#include "cluster/cluster_node.hpp"
#include "commands.hpp"
#include "config/json_source.hpp"
#include "forward/forwarding_tier.hpp"
#include "runtime/dns_service.hpp"
#include "runtime/privileges.hpp"
#include "runtime/server_state.hpp"
#include "runtime/state_watcher.hpp"
#include "runtime/state_loader.hpp"
#include "runtime/zone_loading.hpp"
#include "systemd_notify.hpp"
#include "transfer/transfer.hpp"
#include "util/log.hpp"

namespace meridian::cli {

using util::log;
using util::LogLevel;

namespace {

// A reload reaches the forwarding tier before it is published: new listeners
// bind (or the reload is rejected), backends and regions follow the services.
class ForwardingReload : public runtime::ReloadParticipant {
 public:
  explicit ForwardingReload(forward::ForwardingTier& tier) : tier_(tier) {}
  void prepare(const runtime::LoadedState& next) override {
    tier_.apply(*next.forwarding);
    if (after) after(next);
  }
  // Told of a reload the forwarding tier accepted (the cluster node learns the new keys).
  std::function<void(const runtime::LoadedState&)> after;

 private:
  forward::ForwardingTier& tier_;
};

std::string serving_text(std::size_t zones, std::size_t services, std::size_t zone_failures) {
  std::string text = "serving " + std::to_string(zones) + " zone" + (zones == 1 ? "" : "s") + ", " +
                     std::to_string(services) + " service" + (services == 1 ? "" : "s");
  if (zone_failures) text += " (" + std::to_string(zone_failures) + " zone file(s) do not load)";
  return text;
}

// systemd sees every reload: RELOADING=1 before, READY=1 after, and the result in STATUS=.
class NotifyReloads : public runtime::ReloadObserver {
 public:
  explicit NotifyReloads(const SystemdNotifier& notifier) : notifier_(notifier) {}
  void reload_started(const std::string&) override { notifier_.reloading(); }
  void reload_finished(const runtime::ReloadOutcome& o) override {
    char took[32];
    std::snprintf(took, sizeof took, "%.1fms", o.seconds * 1000);
    std::string result = o.ok ? std::string("ok in ") + took
                              : "rejected (" + std::to_string(o.errors.size()) + " error(s)" +
                                    (o.errors.empty() ? std::string() : ", first: " + o.errors.front()) + ")";
    notifier_.notify("READY=1\nSTATUS=" + serving_text(o.zones, o.services, o.zone_failures) + "; last reload (" +
                     o.trigger + ") " + result);
  }

 private:
  const SystemdNotifier& notifier_;
};

// Every health key the services name (regions, endpoints, backends): what this
// node observes and accepts votes and cluster overrides for.
std::set<std::string> known_health_keys(const routing::ServiceSet& services) {
  std::set<std::string> keys;
  for (const auto& svc : services.services)
    for (const auto& r : svc.regions) {
      keys.insert(health::HealthKey::region(svc.name, r.name).to_string());
      for (const auto& e : r.endpoints) keys.insert(r.endpoint_key(svc.name, e).to_string());
      for (const auto& b : r.backends) keys.insert(r.backend_key(svc.name, b).to_string());
    }
  return keys;
}

// The hash of the configuration's services, as the nodes compare it.
std::string config_hash_of(const std::string& path) {
  try {
    return cluster::config_hash(config::JsonSource::load_file(path).root());
  } catch (const std::exception&) {
    return "unreadable";
  }
}

}  // namespace

int serve(const std::string& config_path, const std::string& log_level) {
  const auto level_override = util::parse_log_level(log_level);
  if (level_override) util::set_log_level(*level_override);
  // Signals are taken by this thread alone (sigwait), so every other thread
  // starts with them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  SystemdNotifier notifier;
  config::Diagnostics diagnostics;
  auto initial = runtime::load_state(config_path, diagnostics, {.build_snapshot = false});
  if (!initial) {
    diagnostics.print(std::cerr);
    log(LogLevel::error, "start_failed", {{"config", config_path}, {"errors", std::to_string(diagnostics.size())}});
    notifier.notify("STATUS=invalid configuration: " + (diagnostics.empty() ? config_path : diagnostics.items().front().to_string()));
    return 1;
  }
  util::set_log_format(initial->config.log.format);
  if (!level_override) util::set_log_level(initial->config.log.level);
  for (const auto& w : diagnostics.warnings()) log(LogLevel::warn, "load_warning", {{"warning", w.to_string()}});
  // The user is looked up before anything binds; no_new_privs is set before the
  // first thread starts so that every thread carries it.
  std::optional<runtime::RunAs> run_as;
  if (!initial->config.user.empty()) {
    std::string error;
    run_as = runtime::resolve_run_as(initial->config.user, error);
    if (!run_as) {
      log(LogLevel::error, "start_failed", {{"config", config_path}, {"error", "\"user\": " + error}});
      notifier.notify("STATUS=cannot start: \"user\": " + error);
      return 1;
    }
    runtime::forbid_new_privileges();
  } else if (::geteuid() == 0) {
    log(LogLevel::warn, "running_as_root",
        {{"hint", "set \"user\" in meridian.json to drop root once the listeners are bound"}});
  }
  // Zone files that do not load are left out; the server starts with the others
  // (or none: an edited file is reloaded).
  runtime::log_zone_failures(*initial->zone_reports);
  const std::size_t zone_failures = runtime::count_zone_failures(*initial->zone_reports);
  runtime::DnsService dns(initial->config.dns);
  const std::size_t zones = initial->zones->size();
  const std::size_t services = initial->services->services.size();
  health::HealthTable health_table;
  health::CheckRunner checks(health_table);
  forward::ForwardingTier forwarding(health_table);
  runtime::ServerState state(config_path, std::move(*initial), dns.snapshots(), health_table, &checks);
  ForwardingReload forwarding_reload(forwarding);
  std::atomic<bool> listeners_up{false};
  RunningServer running{dns, state, health_table, checks, listeners_up, state.current().config.admin.ready_after_checks,
                        [&forwarding] { return forwarding.metrics(); }, [&forwarding] { return forwarding.status(); },
                        nullptr, nullptr, nullptr};
  const config::AdminSettings admin_settings = state.current().config.admin;
  // With "cluster": this node's lease, observations and watch in etcd, on the checks' thread.
  std::unique_ptr<cluster::ClusterNode> cluster_node;
  const std::optional<config::ClusterSettings> cluster_settings = state.current().config.cluster;
  if (const auto& settings = cluster_settings) {
    cluster_node = std::make_unique<cluster::ClusterNode>(*settings, config_hash_of(config_path),
                                                          known_health_keys(*state.current().services), health_table,
                                                          checks.executor());
    running.cluster_metrics = [&cluster_node] { return cluster::cluster_metrics(cluster_node->status()); };
    running.cluster_status = [&cluster_node] { return nlohmann::json(cluster::cluster_status_json(cluster_node->status())); };
    forwarding_reload.after = [&cluster_node, &config_path, started = *settings](const runtime::LoadedState& next) {
      if (next.config.cluster != started)
        log(LogLevel::warn, "cluster_settings_unchanged", {{"reason", "\"cluster\" changes on restart only"}});
      cluster_node->reconfigure(known_health_keys(*next.services), config_hash_of(config_path));
    };
  }
  NotifyReloads notify_reloads(notifier);
  // Destroyed before the admin server: a reload it still holds answers nobody.
  std::unique_ptr<admin::AdminServer> admin_server;
  std::optional<runtime::StateWatcher> watcher;
  try {
    for (const auto& hp : dns.start())
      log(LogLevel::info, "listening", {{"address", hp.to_string()}, {"transports", "udp,tcp"}});
    forwarding.apply(*state.current().forwarding);
    state.set_reload_participant(&forwarding_reload);
    watcher.emplace(state);
    running.request_reload = [&watcher](std::string trigger, runtime::StateWatcher::ReloadDone done) {
      watcher->request_reload(std::move(trigger), std::move(done));
    };
    if (!admin_settings.listen.empty()) {
      admin::AdminOptions options;
      options.token = admin_settings.token;
      admin_server = std::make_unique<admin::AdminServer>(options);
      add_admin_routes(*admin_server, running);
      const auto bound = admin_server->start(*util::parse_host_port(admin_settings.listen));
      log(LogLevel::info, "listening", {{"address", bound.to_string()}, {"transports", "admin-http"}});
    }
    if (run_as) {
      runtime::drop_privileges(*run_as);
      log(LogLevel::info, "privileges_dropped", {{"user", run_as->user}, {"group", run_as->group},
                                                 {"uid", std::to_string(run_as->uid)},
                                                 {"gid", std::to_string(run_as->gid)}});
    }
  } catch (const std::exception& e) {
    log(LogLevel::error, "start_failed", {{"error", e.what()}});
    notifier.notify(std::string("STATUS=cannot start: ") + e.what());
    return 1;
  }
  listeners_up.store(true);
  // NOTIFY to secondaries when a reload changes a zone's serial (its own thread).
  transfer::NotifySender notify_secondaries([&dns] { return dns.snapshots().get(); });
  const auto republish = std::make_shared<runtime::RepublishOnHealthChange>(*watcher);
  health_table.add_listener(republish);
  if (cluster_node) {
    cluster_node->start();
    const auto& c = *cluster_settings;
    log(LogLevel::info, "cluster", {{"name", c.name}, {"node", c.node}, {"etcd", std::to_string(c.etcd.size()) + " member(s)"}});
  }
  log(LogLevel::info, "ready", {{"zones", std::to_string(zones)}, {"services", std::to_string(services)},
                                {"zone_failures", std::to_string(zone_failures)}, {"version", MERIDIAN_VERSION}});
  // Every listener is bound and the zones are loaded. Reloads are told from here on.
  notifier.notify("READY=1\nSTATUS=" + serving_text(zones, services, zone_failures));
  state.set_reload_observer(&notify_reloads);
  notifier.start_watchdog();

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      watcher->request_reload("SIGHUP", nullptr);
      continue;
    }
    log(LogLevel::info, "shutdown", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    notifier.notify("STOPPING=1");
    state.set_reload_observer(nullptr);
    listeners_up.store(false);
    // The lease first: this node's votes leave the agreed view at once.
    if (cluster_node) cluster_node->stop();
    dns.stop();
    forwarding.stop();
    checks.stop();
    if (admin_server) admin_server->stop();
    log(LogLevel::info, "stopped");
    return 0;
  }
}

}  // namespace meridian::cli
