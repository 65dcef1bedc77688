#include <csignal>
#include <iostream>
#include <pthread.h>

#include "commands.hpp"
#include "runtime/dns_service.hpp"
#include "runtime/state_loader.hpp"
#include "util/log.hpp"

namespace meridian::cli {

namespace {

using util::log;
using util::LogLevel;

std::string zone_summary(const query::Snapshot& s) {
  return std::to_string(s.zones->size());
}

// SIGHUP: build the new state off the query path; publish it only when complete.
void reload(const std::string& config_path, runtime::DnsService& dns) {
  config::Diagnostics diagnostics;
  auto state = runtime::load_state(config_path, diagnostics);
  if (!state) {
    for (const auto& d : diagnostics.items()) log(LogLevel::error, "reload_error", {{"error", d.to_string()}});
    log(LogLevel::warn, "reload_rejected", {{"reason", "invalid files; the previous state keeps serving"}});
    return;
  }
  dns.snapshots().publish(state->snapshot);
  log(LogLevel::info, "reload_done", {{"zones", zone_summary(*state->snapshot)}});
}

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
  auto state = runtime::load_state(config_path, diagnostics);
  if (!state) {
    diagnostics.print(std::cerr);
    log(LogLevel::error, "start_failed", {{"config", config_path}, {"errors", std::to_string(diagnostics.size())}});
    return 1;
  }
  runtime::DnsService dns(state->config.dns);
  dns.snapshots().publish(state->snapshot);
  try {
    for (const auto& hp : dns.start())
      log(LogLevel::info, "listening", {{"address", hp.to_string()}, {"transports", "udp,tcp"}});
  } catch (const std::exception& e) {
    log(LogLevel::error, "start_failed", {{"error", e.what()}});
    return 1;
  }
  log(LogLevel::info, "ready", {{"zones", zone_summary(*state->snapshot)}, {"version", MERIDIAN_VERSION}});

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      log(LogLevel::info, "reload_start", {{"trigger", "SIGHUP"}});
      reload(config_path, dns);
      continue;
    }
    log(LogLevel::info, "shutdown", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    dns.stop();
    log(LogLevel::info, "stopped");
    return 0;
  }
}

}  // namespace meridian::cli
