// Operator overrides from health/*.json: {"svc/region": "down",
// "svc/region/ADDRESS": {"state": "up", "reason": "..."}}. "auto" (or absence)
// leaves the decision to checks.
#pragma once
#include <functional>
#include <map>
#include <string>

#include "config/diagnostics.hpp"

namespace meridian::health {

struct Override {
  enum Mode { up, down, automatic } mode = automatic;
  std::string reason;
  std::string file;  // where it was set
  bool operator==(const Override&) const = default;
};

using OverrideMap = std::map<std::string, Override>;

// Says whether a key names something that exists; returns an error text or "".
using KeyValidator = std::function<std::string(const std::string& key)>;

// What a file with errors does to the whole load.
enum class BadOverrideFile {
  reject_all,  // the server: the previous overrides stay in force until every file is good
  skip,        // explain: that file alone is left out; its errors become warnings
};

// Reads every *.json file in dir (sorted; later files win). On any error the
// diagnostics say where and the returned map must not be used (reject_all).
OverrideMap load_overrides(const std::string& dir, const KeyValidator& validate, config::Diagnostics& diagnostics,
                           BadOverrideFile bad_file = BadOverrideFile::reject_all);

// One file's text that claims to come from `name` (the fuzz target): its overrides
// are added to out, its problems to diagnostics.
void load_override_text(std::string text, const std::string& name, const KeyValidator& validate, OverrideMap& out,
                        config::Diagnostics& diagnostics);

}  // namespace meridian::health
