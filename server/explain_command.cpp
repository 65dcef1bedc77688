#include <iostream>

#include "commands.hpp"
#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "query/service_lookup.hpp"
#include "routing/explain.hpp"
#include "runtime/state_loader.hpp"

namespace meridian::cli {


int explain(const std::string& config_path, const std::string& name, const std::string& type,
            const std::string& client, const std::string& ecs, bool as_json) {
  config::Diagnostics diagnostics;
  // A rejected health file leaves the server on its previous overrides; explain
  // has no previous state, so it explains with the files that do load.
  const auto state = runtime::load_state(config_path, diagnostics, {.bad_override_file = health::BadOverrideFile::skip});
  diagnostics.print(std::cerr);  // errors when it fails, else warnings (rejected health files)
  if (!state) return 1;
  for (const auto& r : *state->zone_reports)
    if (!r.serving())
      std::cerr << "explain: " << r.file << " does not load (" << r.errors.size()
                << " error(s); `meridian check` lists them); its zone is left out\n";
  const auto wire = dns::name_from_text(name.back() == '.' ? name : name + ".");
  if (!wire) {
    std::cerr << "explain: \"" << name << "\" is not a domain name\n";
    return 2;
  }
  routing::ExplainRequest req;
  req.qtype = type == "AAAA" ? dns::type::AAAA : dns::type::A;
  if (type != "A" && type != "AAAA") {
    std::cerr << "explain: TYPE is A or AAAA\n";
    return 2;
  }
  const auto found = query::find_service(*state->zones, dns::fold_wire_name(*wire));
  if (found.service < 0) {
    std::cerr << "explain: " << found.error << "\n";
    return 1;
  }
  req.service = found.service;
  if (const std::string problem = routing::set_explain_client(req, client, ecs, state->services->ecs); !problem.empty()) {
    std::cerr << "explain: " << problem << "\n";
    return 2;
  }
  const auto report = routing::explain(*state->snapshot->routing, req);
  if (as_json) {
    std::cout << report.dump(2) << "\n";
  } else {
    std::cout << "name " << dns::name_to_text(found.name) << " " << type << "\n";
    for (const auto& line : routing::explain_lines(report)) std::cout << line << "\n";
    // Offline, checks do not run: a server's answer may carry a lower TTL (see _explain).
    std::cout << "health from override files only (no checks run here)\n";
  }
  return 0;
}

}  // namespace meridian::cli
