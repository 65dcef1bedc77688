// Builds everything the server serves from meridian.json, fully validated, off
// the query path. Used by `serve` (start and reload) and by `check`.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "config/diagnostics.hpp"
#include "config/server_config.hpp"
#include "query/snapshot.hpp"

namespace meridian::runtime {

struct LoadedState {
  config::ServerConfig config;
  std::shared_ptr<const query::Snapshot> snapshot;
};

// nullopt when anything is wrong; every problem is in diagnostics.
std::optional<LoadedState> load_state(const std::string& config_path, config::Diagnostics& diagnostics);

}  // namespace meridian::runtime
