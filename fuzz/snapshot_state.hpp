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
    return std::move(*loaded);
  }();
  return state;
}

}  // namespace meridian::fuzz
