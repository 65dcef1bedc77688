#include "health/checks/check_config.hpp"

#include "config/json_object_reader.hpp"
#include "health/checks/probe.hpp"

namespace meridian::health {

namespace {
using nlohmann::json;
using Pointer = json::json_pointer;
}  // namespace

CheckMap read_checks(const config::JsonSource& src, config::Diagnostics& diags) {
  CheckMap out;
  const json& root = src.root();
  if (!root.is_object() || !root.contains("checks")) return out;
  const json& checks = root["checks"];
  if (!checks.is_object()) {
    diags.add(src.error_at(Pointer("/checks"), "\"checks\" must be an object of named checks"));
    return out;
  }
  config::DiagnosticsSink sink(src, diags);
  for (const auto& [name, def] : checks.items()) {
    config::JsonObjectReader check(def, Pointer("/checks") / name, sink);
    if (!check.is_object()) {
      check.error("a check is an object with \"type\": " + probe_type_names());
      continue;
    }
    CheckConfig c;
    c.name = name;
    const std::string type_problem = "\"type\" must be " + probe_type_names();
    std::string type;
    check.string("type", type, config::KeyRules::required(type_problem, type_problem),
                 [](const std::string& t) { return find_probe_type(t) != nullptr; });
    // With an unknown type the other keys are still read, for their errors and the unknown keys.
    const ProbeType* probe = find_probe_type(type);
    if (probe) c.kind = probe->name;
    check.duration("interval", c.interval);
    check.duration("timeout", c.timeout);
    check.integer("rise", c.rise, 1, 100);
    check.integer("fall", c.fall, 1, 100);
    check.one_of("initial", c.initial_up, {{"up", true}, {"down", false}});
    check.number("jitter", c.jitter, 0, 0.5,
                 config::KeyRules::optional("\"jitter\" is a share of the interval from 0 to 0.5"));
    check.duration("hold_down", c.hold_down, config::ZeroDuration::allowed);
    if (c.timeout > c.interval) check.error("timeout", "\"timeout\" must not be longer than \"interval\"");
    check.integer("port", c.port, 1, 65535);
    check.string("path", c.path, config::KeyRules::optional("\"path\" must start with /"),
                 [](const std::string& p) { return !p.empty() && p[0] == '/'; });
    check.string("host", c.host);
    if (const json* e = check.find("expect")) {
      c.expect.clear();
      if (e->is_number_unsigned()) c.expect.push_back(e->get<unsigned>());
      else if (e->is_array() && !e->empty()) {
        for (const auto& v : *e) {
          if (!v.is_number_unsigned() || v.get<unsigned>() < 100 || v.get<unsigned>() > 599) {
            check.error("expect", "\"expect\" lists HTTP status codes (100-599)");
            break;
          }
          c.expect.push_back(v.get<unsigned>());
        }
      } else {
        check.error("expect", "\"expect\" lists HTTP status codes (100-599)");
      }
    }
    check.string("body", c.body_contains,
                 config::KeyRules::optional("\"body\" is a text the response body must contain"));
    check.report_unknown_keys();
    if (!probe) continue;
    if (!probe->http_settings && (check.contains("path") || check.contains("expect") || check.contains("body")))
      check.error("path/expect/body apply to http checks only");
    out[name] = c;
  }
  return out;
}

}  // namespace meridian::health
