// The state fuzz/snapshot/meridian.json loads (zones, services over the demo
// geodata), loaded once per process; aborts when it does not load.
#pragma once
#include <cstdio>
#include <cstdlib>

#include "config/diagnostics.hpp"
#include "runtime/state_loader.hpp"

namespace meridian::fuzz {

inline const runtime::LoadedState& snapshot_state() {
  static const runtime::LoadedState state = [] {
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
