#include "health/checks/check_config.hpp"

#include "config/server_config.hpp"
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
  for (const auto& [name, def] : checks.items()) {
    const Pointer at = Pointer("/checks") / name;
    auto error = [&](const Pointer& p, const std::string& m, bool key = false) { diags.add(src.error_at(p, m, key)); };
    if (!def.is_object()) {
      error(at, "a check is an object with \"type\": " + probe_type_names());
      continue;
    }
    static const char* const kKeys[] = {"type", "interval", "timeout", "rise", "fall", "initial", "jitter",
                                        "hold_down", "port", "path", "host", "expect", "body"};
    for (const auto& [k, v] : def.items()) {
      (void)v;
      bool known = false;
      for (const char* key : kKeys) known = known || k == key;
      if (!known) error(at / k, "unknown key \"" + k + "\" in check \"" + name + "\"", true);
    }
    CheckConfig c;
    c.name = name;
    const std::string type = def.contains("type") && def["type"].is_string() ? def["type"].get<std::string>() : "";
    const ProbeType* probe = find_probe_type(type);
    if (probe == nullptr) {
      error(def.contains("type") ? at / "type" : at, "\"type\" must be " + probe_type_names());
      continue;
    }
    c.kind = probe->name;
    auto duration = [&](const char* key, std::chrono::milliseconds& out_value, bool allow_zero) {
      if (!def.contains(key)) return;
      const auto d = config::parse_duration(def[key]);
      if (!d || (!allow_zero && d->count() <= 0)) error(at / key, std::string("\"") + key + "\" must be a duration such as \"2s\"");
      else out_value = *d;
    };
    duration("interval", c.interval, false);
    duration("timeout", c.timeout, false);
    duration("hold_down", c.hold_down, true);
    if (c.timeout > c.interval) error(at / "timeout", "\"timeout\" must not be longer than \"interval\"");
    auto count = [&](const char* key, unsigned& v, unsigned max) {
      if (!def.contains(key)) return;
      if (!def[key].is_number_unsigned() || def[key].get<unsigned>() < 1 || def[key].get<unsigned>() > max)
        error(at / key, std::string("\"") + key + "\" must be an integer from 1 to " + std::to_string(max));
      else v = def[key].get<unsigned>();
    };
    count("rise", c.rise, 100);
    count("fall", c.fall, 100);
    if (def.contains("initial")) {
      const json& v = def["initial"];
      if (v == "up") c.initial_up = true;
      else if (v == "down") c.initial_up = false;
      else error(at / "initial", "\"initial\" must be \"up\" or \"down\"");
    }
    if (def.contains("jitter")) {
      if (!def["jitter"].is_number() || def["jitter"].get<double>() < 0 || def["jitter"].get<double>() > 0.5)
        error(at / "jitter", "\"jitter\" is a share of the interval from 0 to 0.5");
      else c.jitter = def["jitter"].get<double>();
    }
    if (def.contains("port")) {
      if (!def["port"].is_number_unsigned() || def["port"].get<unsigned>() < 1 || def["port"].get<unsigned>() > 65535)
        error(at / "port", "\"port\" must be from 1 to 65535");
      else c.port = static_cast<uint16_t>(def["port"].get<unsigned>());
    }
    if (def.contains("path")) {
      if (!def["path"].is_string() || def["path"].get<std::string>().empty() || def["path"].get<std::string>()[0] != '/')
        error(at / "path", "\"path\" must start with /");
      else c.path = def["path"].get<std::string>();
    }
    if (def.contains("host")) {
      if (!def["host"].is_string()) error(at / "host", "\"host\" must be a string");
      else c.host = def["host"].get<std::string>();
    }
    if (def.contains("expect")) {
      const json& e = def["expect"];
      c.expect.clear();
      if (e.is_number_unsigned()) c.expect.push_back(e.get<unsigned>());
      else if (e.is_array() && !e.empty()) {
        for (const auto& v : e) {
          if (!v.is_number_unsigned() || v.get<unsigned>() < 100 || v.get<unsigned>() > 599) {
            error(at / "expect", "\"expect\" lists HTTP status codes (100-599)");
            break;
          }
          c.expect.push_back(v.get<unsigned>());
        }
      } else {
        error(at / "expect", "\"expect\" lists HTTP status codes (100-599)");
      }
    }
    if (def.contains("body")) {
      if (!def["body"].is_string()) error(at / "body", "\"body\" is a text the response body must contain");
      else c.body_contains = def["body"].get<std::string>();
    }
    if (!probe->http_settings && (def.contains("path") || def.contains("expect") || def.contains("body")))
      error(at, "path/expect/body apply to http checks only");
    out[name] = c;
  }
  return out;
}

}  // namespace meridian::health
