#include <csignal>
#include <pthread.h>

#include <atomic>
#include <iostream>
#include <optional>

#include "admin_routes.hpp"
#include "commands.hpp"
#include "forward/forwarding_tier.hpp"
#include "runtime/dns_service.hpp"
#include "runtime/server_state.hpp"
#include "runtime/state_watcher.hpp"
#include "runtime/state_loader.hpp"
#include "runtime/zone_loading.hpp"
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
  void prepare(const runtime::LoadedState& next) override { tier_.apply(*next.forwarding); }

 private:
  forward::ForwardingTier& tier_;
};

}  // namespace

int serve(const std::string& config_path) {
  // Signals are taken by this thread alone (sigwait), so every other thread
  // starts with them blocked.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  config::Diagnostics diagnostics;
  auto initial = runtime::load_state(config_path, diagnostics, {.build_snapshot = false});
  if (!initial) {
    diagnostics.print(std::cerr);
    log(LogLevel::error, "start_failed", {{"config", config_path}, {"errors", std::to_string(diagnostics.size())}});
    return 1;
  }
  for (const auto& w : diagnostics.warnings()) log(LogLevel::warn, "load_warning", {{"warning", w.to_string()}});
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
                        nullptr};
  const config::AdminSettings admin_settings = state.current().config.admin;
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
  } catch (const std::exception& e) {
    log(LogLevel::error, "start_failed", {{"error", e.what()}});
    return 1;
  }
  listeners_up.store(true);
  const auto republish = std::make_shared<runtime::RepublishOnHealthChange>(*watcher);
  health_table.add_listener(republish);
  log(LogLevel::info, "ready", {{"zones", std::to_string(zones)}, {"services", std::to_string(services)},
                                {"zone_failures", std::to_string(zone_failures)}, {"version", MERIDIAN_VERSION}});

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      watcher->request_reload("SIGHUP", nullptr);
      continue;
    }
    log(LogLevel::info, "shutdown", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    listeners_up.store(false);
    dns.stop();
    forwarding.stop();
    checks.stop();
    if (admin_server) admin_server->stop();
    log(LogLevel::info, "stopped");
    return 0;
  }
}

}  // namespace meridian::cli
