// Stand-alone forwarding tier for tools/bench (scenario proxy) while `meridian serve`
// does not start the forwarders yet: reads a meridian.json, applies its services to a
// ForwardingTier, prints the listeners, runs until SIGTERM/SIGINT.
// Built by tools/bench.d/proxy.sh against build/release/lib/libmeridian_core.a.
#include <csignal>
#include <filesystem>
#include <iostream>

#include "config/json_source.hpp"
#include "forward/forwarding_tier.hpp"
#include "health/health_table.hpp"
#include "routing/service_set.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: forward-bench-driver CONFIG.json\n";
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread starts
  try {
    const auto source = meridian::config::JsonSource::load_file(argv[1]);
    meridian::config::Diagnostics diags;
    const auto base = std::filesystem::absolute(argv[1]).parent_path().string();
    auto services = meridian::routing::load_services(source, base, diags);
    if (!diags.empty() || !services) {
      diags.print(std::cerr);
      return 1;
    }
    meridian::health::HealthTable health;
    meridian::forward::ForwardingTier tier(health);
    tier.apply(*services);
    for (const auto& l : tier.listening()) std::cout << "listening " << l << std::endl;
    int sig = 0;
    sigwait(&set, &sig);
    tier.stop();
  } catch (const std::exception& e) {
    std::cerr << "forward-bench-driver: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
