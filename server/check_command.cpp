#include <iostream>

#include "commands.hpp"
#include "dns/name.hpp"
#include "runtime/state_loader.hpp"
#include "runtime/zone_loading.hpp"

namespace meridian::cli {

namespace {

// One line per zone file: what a server would serve from it.
void print_zone_summary(const std::vector<zone::ZoneReport>& reports) {
  for (const auto& r : reports) {
    std::cout << "zone " << (r.origin.empty() ? "(unknown)" : dns::name_to_text(r.origin)) << ' '
              << zone::zone_state_name(r.state) << " file=" << r.file;
    if (r.serving()) std::cout << " serial=" << r.serial;
    if (!r.errors.empty()) {
      const config::Diagnostic& first = r.errors.front();
      std::cout << " errors=" << r.errors.size() << " first=" << first.file;
      if (first.line) std::cout << ':' << first.line << ':' << first.column;
    }
    std::cout << '\n';
  }
}

}  // namespace

int check(const std::string& config_path) {
  config::Diagnostics diagnostics;
  const auto state = runtime::load_state(config_path, diagnostics, {.build_snapshot = false});
  if (!state) {
    diagnostics.print(std::cerr);
    std::cerr << config_path << ": " << diagnostics.size() << " error(s)\n";
    return 1;
  }
  const auto& reports = *state->zone_reports;
  std::size_t errors = 0;
  for (const auto& r : reports) {
    for (const auto& e : r.errors) std::cerr << e.to_string() << '\n';
    errors += r.errors.size();
  }
  diagnostics.print(std::cerr);  // warnings only
  if (const std::size_t failed = runtime::count_zone_failures(reports)) {
    // A server would start without these zones; the files still need fixing.
    print_zone_summary(reports);
    std::cerr << config_path << ": " << errors << " error(s) in " << failed << " of " << reports.size()
              << " zone file(s)\n";
    return 1;
  }
  std::size_t zones = state->zones->size();
  std::cout << config_path << ": OK (" << zones << " zone" << (zones == 1 ? "" : "s") << ")\n";
  return 0;
}

}  // namespace meridian::cli
