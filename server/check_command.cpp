#include <iostream>

#include "commands.hpp"
#include "runtime/state_loader.hpp"

namespace meridian::cli {

int check(const std::string& config_path) {
  config::Diagnostics diagnostics;
  const auto state = runtime::load_state(config_path, diagnostics);
  if (!state) {
    diagnostics.print(std::cerr);
    std::cerr << config_path << ": " << diagnostics.size() << " error(s)\n";
    return 1;
  }
  diagnostics.print(std::cerr);  // warnings only
  std::size_t zones = state->snapshot->zones->size();
  std::cout << config_path << ": OK (" << zones << " zone" << (zones == 1 ? "" : "s") << ")\n";
  return 0;
}

}  // namespace meridian::cli
