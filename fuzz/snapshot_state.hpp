// The state fuzz/snapshot/meridian.json loads (zones, services over the demo
// geodata, and signed.fuzz.test with its keys), loaded once per process; aborts when it
// does not load.
#pragma once
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "config/diagnostics.hpp"
#include "runtime/state_loader.hpp"
#include "runtime/zone_signing.hpp"

namespace meridian::fuzz {

inline const runtime::LoadedState& snapshot_state() {
  static const runtime::LoadedState state = [] {
    // A checkout leaves the private keys readable by all, which the key loader refuses
    // (as it should for an operator's keys): these are test keys, made private here.
    for (const auto& entry : std::filesystem::directory_iterator(MERIDIAN_SOURCE_DIR "/fuzz/snapshot/zones/keys"))
      if (entry.path().extension() == ".private") ::chmod(entry.path().c_str(), 0600);
    config::Diagnostics diagnostics;
    auto loaded = runtime::load_state(MERIDIAN_SOURCE_DIR "/fuzz/snapshot/meridian.json", diagnostics);
    if (!loaded || !loaded->snapshot) {
      std::fprintf(stderr, "fuzz/snapshot/meridian.json does not load:\n%s\n", diagnostics.to_string().c_str());
      std::abort();
    }
    // Signed as the server publishes it (runtime::ServerState::publish_locked): the signed
    // zone's RRsets and NSECs, and every answer its dynamic names can give, so DO queries
    // take the signed path.
    runtime::LoadedState state = std::move(*loaded);
    static runtime::ZoneSigning signing;
    auto signatures = signing.for_zones(*state.zones, state.services.get(), 1'780'000'000u);
    auto answers = signing.answers_for(*state.zones, state.snapshot->routing.get());
    if (signatures.empty() || !answers) {
      std::fprintf(stderr, "fuzz/snapshot: signed.fuzz.test. was not signed\n");
      std::abort();
    }
    state.snapshot = runtime::make_snapshot(state.config, state.cookies, state.zones, state.services, *state.health, {},
                                            state.snapshot->routing, std::move(signatures), std::move(answers));
    return state;
  }();
  return state;
}

}  // namespace meridian::fuzz
