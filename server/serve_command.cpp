#include <csignal>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <thread>

#include "commands.hpp"
#include "runtime/dns_service.hpp"
#include "runtime/server_state.hpp"
#include "runtime/state_loader.hpp"
#include "util/log.hpp"

namespace meridian::cli {

namespace {

using util::log;
using util::LogLevel;

// Polls the watched files about once a second until stopped.
class FileWatcher {
 public:
  explicit FileWatcher(runtime::ServerState& state) : state_(state), thread_([this] { run(); }) {}
  ~FileWatcher() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_; })) {
      lock.unlock();
      state_.poll();
      lock.lock();
    }
  }
  runtime::ServerState& state_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
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
  auto initial = runtime::load_state(config_path, diagnostics);
  if (!initial) {
    diagnostics.print(std::cerr);
    log(LogLevel::error, "start_failed", {{"config", config_path}, {"errors", std::to_string(diagnostics.size())}});
    return 1;
  }
  runtime::DnsService dns(initial->config.dns);
  const std::size_t zones = initial->zones->size();
  const std::size_t services = initial->services->services.size();
  runtime::ServerState state(config_path, std::move(*initial), dns.snapshots());
  try {
    for (const auto& hp : dns.start())
      log(LogLevel::info, "listening", {{"address", hp.to_string()}, {"transports", "udp,tcp"}});
  } catch (const std::exception& e) {
    log(LogLevel::error, "start_failed", {{"error", e.what()}});
    return 1;
  }
  FileWatcher watcher(state);
  log(LogLevel::info, "ready", {{"zones", std::to_string(zones)}, {"services", std::to_string(services)},
                                {"version", MERIDIAN_VERSION}});

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      state.reload("SIGHUP");
      continue;
    }
    log(LogLevel::info, "shutdown", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    dns.stop();
    log(LogLevel::info, "stopped");
    return 0;
  }
}

}  // namespace meridian::cli
