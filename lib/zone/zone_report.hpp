// What became of one zone file in a load: a bad zone file is reported here, apart
// from the errors that fail a whole load, so that the other zones keep serving.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "config/diagnostics.hpp"

namespace meridian::zone {

enum class ZoneState {
  loaded,  // the file as it is now is served
  stale,   // the file no longer loads; its last good version is served
  error,   // the file does not load and nothing of it is served
};

inline const char* zone_state_name(ZoneState s) {
  switch (s) {
    case ZoneState::loaded: return "loaded";
    case ZoneState::stale: return "stale";
    case ZoneState::error: return "error";
  }
  return "error";
}

struct ZoneReport {
  std::string file;
  std::string origin;  // lower-case wire form; empty when the file never said (say, broken JSON)
  ZoneState state = ZoneState::error;
  uint32_t serial = 0;  // of the version served (loaded or stale)
  std::vector<config::Diagnostic> errors;  // of the file's latest load; empty when loaded

  bool serving() const { return state != ZoneState::error; }
};

}  // namespace meridian::zone
