#include "health/overrides.hpp"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "config/json_object_reader.hpp"
#include "config/json_source.hpp"

namespace meridian::health {

namespace fs = std::filesystem;
using nlohmann::json;
using Pointer = json::json_pointer;

namespace {

bool parse_mode(const std::string& text, Override::Mode& mode) {
  if (text == "up") mode = Override::up;
  else if (text == "down") mode = Override::down;
  else if (text == "auto") mode = Override::automatic;
  else return false;
  return true;
}

// One file's overrides into out; `read` gives its JsonSource (or throws LoadError).
void load_source(const std::string& path, const std::function<config::JsonSource()>& read, const KeyValidator& validate,
                 OverrideMap& out, config::Diagnostics& diags) {
  std::optional<config::JsonSource> src;
  try {
    src.emplace(read());
  } catch (const config::LoadError& e) {
    diags.append(e.diagnostics());
    return;
  }
  const json& root = src->root();
  if (!root.is_object()) {
    diags.add(src->error_at(Pointer(), "a health file is an object {\"service/region[/endpoint]\": \"up\"|\"down\"|\"auto\"}"));
    return;
  }
  for (const auto& [key, value] : root.items()) {
    if (key == config::kSchemaKey) continue;  // for editors
    const Pointer at = Pointer() / key;  // keys hold "/": escaped as a token
    Override o;
    o.file = path;
    std::string state;
    if (value.is_string()) {
      state = value.get<std::string>();
    } else if (value.is_object() && value.contains("state") && value["state"].is_string()) {
      state = value["state"].get<std::string>();
      for (const auto& [k, v] : value.items()) {
        (void)v;
        if (k != "state" && k != "reason") diags.add(src->error_at(at / k, "unknown key \"" + k + "\" (expected state, reason)", true));
      }
      if (value.contains("reason")) {
        if (!value["reason"].is_string()) diags.add(src->error_at(at / "reason", "\"reason\" must be a string"));
        else o.reason = value["reason"].get<std::string>();
      }
    } else {
      diags.add(src->error_at(at, "expected \"up\", \"down\", \"auto\" or {\"state\": ..., \"reason\": ...}"));
      continue;
    }
    if (!parse_mode(state, o.mode)) {
      diags.add(src->error_at(value.is_string() ? at : at / "state", "state \"" + state + "\" is not up, down or auto"));
      continue;
    }
    if (const std::string problem = validate(key); !problem.empty()) {
      diags.add(src->error_at(at, problem, true));
      continue;
    }
    if (o.reason.empty()) o.reason = "override in " + fs::path(path).filename().string();
    out[key] = o;
  }
}

void load_file(const std::string& path, const KeyValidator& validate, OverrideMap& out, config::Diagnostics& diags) {
  load_source(path, [&] { return config::JsonSource::load_file(path); }, validate, out, diags);
}

}  // namespace

void load_override_text(std::string text, const std::string& name, const KeyValidator& validate, OverrideMap& out,
                        config::Diagnostics& diagnostics) {
  load_source(name, [&] { return config::JsonSource::parse(std::move(text), name); }, validate, out, diagnostics);
}

OverrideMap load_overrides(const std::string& dir, const KeyValidator& validate, config::Diagnostics& diagnostics,
                           BadOverrideFile bad_file) {
  OverrideMap out;
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return out;
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    if (bad_file == BadOverrideFile::reject_all) {
      load_file(f, validate, out, diagnostics);
      continue;
    }
    config::Diagnostics file_diags;
    OverrideMap file_overrides = out;  // later files win, so apply on a copy
    load_file(f, validate, file_overrides, file_diags);
    if (file_diags.empty()) {
      out = std::move(file_overrides);
      continue;
    }
    for (const auto& d : file_diags.items()) diagnostics.add_warning(d);
    diagnostics.add_warning({f, 0, 0, "health file rejected: its overrides are left out"});
  }
  return out;
}

}  // namespace meridian::health
