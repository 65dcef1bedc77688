#include "config/path.hpp"
#include "config/server_config.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "net/endpoint.hpp"
#include "routing/client_key.hpp"

namespace meridian::config {

namespace {

using nlohmann::json;
using Pointer = json::json_pointer;


std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "meridian";
  return buf;
}

class Reader {
 public:
  Reader(const JsonSource& src, Diagnostics& diags) : src_(src), diags_(diags) {}

  void error(const Pointer& at, const std::string& message, bool key = false) {
    diags_.add(src_.error_at(at, message, key));
  }

  void check_keys(const json& object, const Pointer& at, std::initializer_list<const char*> allowed) {
    for (const auto& [key, value] : object.items()) {
      (void)value;
      if (std::none_of(allowed.begin(), allowed.end(), [&](const char* k) { return key == k; })) {
        std::string list;
        for (const char* k : allowed) list += std::string(list.empty() ? "" : ", ") + k;
        error(at / key, "unknown key \"" + key + "\" (expected one of: " + list + ")", true);
      }
    }
  }

  template <typename T>
  void read_uint(const json& obj, const char* key, const Pointer& at, T& out, uint64_t min, uint64_t max) {
    if (!obj.contains(key)) return;
    const json& v = obj[key];
    if (!v.is_number_unsigned() || v.get<uint64_t>() < min || v.get<uint64_t>() > max) {
      error(at / key, std::string("\"") + key + "\" must be an integer from " + std::to_string(min) + " to " +
                          std::to_string(max));
      return;
    }
    out = static_cast<T>(v.get<uint64_t>());
  }

  void read_duration(const json& obj, const char* key, const Pointer& at, std::chrono::milliseconds& out) {
    if (!obj.contains(key)) return;
    const auto d = parse_duration(obj[key]);
    if (!d || d->count() <= 0) {
      error(at / key, std::string("\"") + key + "\" must be a duration such as \"10s\" or \"500ms\"");
      return;
    }
    out = *d;
  }

  void read_chaos_text(const json& obj, const char* key, const Pointer& at, std::optional<std::string>& out) {
    if (!obj.contains(key)) return;
    const json& v = obj[key];
    if (v.is_boolean() && !v.get<bool>()) out.reset();
    else if (v.is_string()) out = v.get<std::string>();
    else error(at / key, std::string("\"") + key + "\" must be a string, or false to disable it");
  }

  void read_dns(const json& dns, ServerConfig& cfg) {
    const Pointer at("/dns");
    if (!dns.is_object()) return error(at, "\"dns\" must be an object");
    check_keys(dns, at, {"listen", "threads", "tcp_threads", "max_udp_payload", "tcp", "nsid", "chaos", "ecs", "explain"});
    DnsSettings& d = cfg.dns;
    if (dns.contains("listen")) {
      const json& l = dns["listen"];
      // (index in the array, text): errors point at the element that holds them.
      std::vector<std::pair<std::size_t, std::string>> items;
      if (l.is_string()) items.emplace_back(0, l.get<std::string>());
      else if (l.is_array()) {
        for (std::size_t i = 0; i < l.size(); ++i) {
          if (!l[i].is_string()) error(at / "listen" / std::to_string(i), "a listen address is a string");
          else items.emplace_back(i, l[i].get<std::string>());
        }
      } else {
        error(at / "listen", "\"listen\" must be an address string or an array of them");
      }
      d.listen.clear();
      std::set<std::string> seen;
      for (const auto& [i, text] : items) {
        const Pointer item_at = l.is_array() ? at / "listen" / std::to_string(i) : at / "listen";
        const auto hp = net::parse_host_port(text);
        if (!hp) error(item_at, "\"" + text + "\" is not an address:port such as 127.0.0.1:53 or [::1]:53");
        else if (!seen.insert(hp->to_string()).second) error(item_at, "listen address given twice");
        else d.listen.push_back(text);
      }
    }
    read_uint(dns, "threads", at, d.threads, 1, 64);
    read_uint(dns, "tcp_threads", at, d.tcp_threads, 1, 64);
    read_uint(dns, "max_udp_payload", at, d.max_udp_payload, 512, 4096);
    if (dns.contains("tcp")) {
      const json& tcp = dns["tcp"];
      const Pointer tat = at / "tcp";
      if (!tcp.is_object()) {
        error(tat, "\"tcp\" must be an object");
      } else {
        check_keys(tcp, tat, {"idle_timeout", "message_timeout", "max_connections"});
        read_duration(tcp, "idle_timeout", tat, d.tcp_idle_timeout);
        read_duration(tcp, "message_timeout", tat, d.tcp_message_timeout);
        read_uint(tcp, "max_connections", tat, d.tcp_max_connections, 1, 1000000);
      }
    }
    if (dns.contains("nsid")) {
      if (!dns["nsid"].is_string() || dns["nsid"].get<std::string>().size() > 128)
        error(at / "nsid", "\"nsid\" must be a string of at most 128 bytes");
      else d.nsid = dns["nsid"].get<std::string>();
    }
    if (dns.contains("explain")) {
      const json& ex = dns["explain"];
      if (ex.is_boolean() && !ex.get<bool>()) {
        d.explain_allow.clear();
      } else if (ex.is_object() && ex.contains("allow") && ex["allow"].is_array()) {
        check_keys(ex, at / "explain", {"allow"});
        d.explain_allow.clear();
        for (std::size_t i = 0; i < ex["allow"].size(); ++i) {
          const json& v = ex["allow"][i];
          std::string problem;
          if (!v.is_string() || !routing::parse_client_key("net:" + v.get<std::string>(), problem))
            error(at / "explain" / "allow" / std::to_string(i), "an allowed source is a network such as 127.0.0.0/8");
          else d.explain_allow.push_back(v.get<std::string>());
        }
      } else {
        error(at / "explain", "\"explain\" must be {\"allow\": [networks]} or false");
      }
    }
    if (dns.contains("chaos")) {
      const json& ch = dns["chaos"];
      if (ch.is_boolean() && !ch.get<bool>()) {
        d.chaos_version.reset();
        d.chaos_identity.reset();
      } else if (ch.is_object()) {
        check_keys(ch, at / "chaos", {"version", "identity"});
        read_chaos_text(ch, "version", at / "chaos", d.chaos_version);
        read_chaos_text(ch, "identity", at / "chaos", d.chaos_identity);
      } else {
        error(at / "chaos", "\"chaos\" must be an object {\"version\": ..., \"identity\": ...} or false");
      }
    }
  }

  void read_admin(const json& a, AdminSettings& admin) {
    const Pointer at("/admin");
    if (!a.is_object()) return error(at, "\"admin\" must be an object {\"listen\": \"127.0.0.1:9153\"}");
    check_keys(a, at, {"listen", "token", "ready_after_checks"});
    if (a.contains("listen")) {
      if (!a["listen"].is_string() || !net::parse_host_port(a["listen"].get<std::string>()))
        error(at / "listen", "\"listen\" is an address:port such as 127.0.0.1:9153");
      else admin.listen = a["listen"].get<std::string>();
    }
    if (a.contains("token")) {
      if (!a["token"].is_string() || a["token"].get<std::string>().empty()) error(at / "token", "\"token\" is a non-empty string");
      else admin.token = a["token"].get<std::string>();
    }
    if (a.contains("ready_after_checks")) {
      if (!a["ready_after_checks"].is_boolean()) error(at / "ready_after_checks", "\"ready_after_checks\" is true or false");
      else admin.ready_after_checks = a["ready_after_checks"].get<bool>();
    }
  }

  void read_zones(const json& z, ServerConfig& cfg) {
    const Pointer at("/zones");
    if (z.is_string()) {
      cfg.zone_paths.push_back(config::resolve_path(cfg.base_dir, z.get<std::string>()));
    } else if (z.is_array()) {
      for (std::size_t i = 0; i < z.size(); ++i) {
        if (!z[i].is_string()) error(at / std::to_string(i), "a zone path is a string");
        else cfg.zone_paths.push_back(config::resolve_path(cfg.base_dir, z[i].get<std::string>()));
      }
    } else {
      error(at, "\"zones\" must be a folder or file path, or an array of them");
    }
  }

  ServerConfig read() {
    ServerConfig cfg;
    cfg.path = src_.path();
    cfg.base_dir = std::filesystem::path(src_.path()).parent_path().string();
    if (cfg.base_dir.empty()) cfg.base_dir = ".";
    cfg.source = &src_;
    cfg.dns.chaos_version = std::string("meridian ") + MERIDIAN_VERSION;
    cfg.dns.chaos_identity = host_name();
    const json& root = src_.root();
    if (!root.is_object()) {
      error(Pointer(), "the configuration must be a JSON object");
      return cfg;
    }
    // Sections owned by other parts of meridian are validated there.
    check_keys(root, Pointer(), {"dns", "zones", "health", "geoip", "latency", "admin", "checks", "services", "log"});
    if (root.contains("dns")) read_dns(root["dns"], cfg);
    if (cfg.dns.listen.empty() && !root.contains("dns"))
      error(Pointer(), "\"dns\": {\"listen\": [...]} is required");
    else if (cfg.dns.listen.empty())
      error(Pointer("/dns"), "\"listen\" needs at least one address");
    if (root.contains("health")) {
      if (!root["health"].is_string()) error(Pointer("/health"), "\"health\" is the folder of health override files");
      else cfg.health_dir = config::resolve_path(cfg.base_dir, root["health"].get<std::string>());
    }
    if (root.contains("admin")) read_admin(root["admin"], cfg.admin);
    if (root.contains("zones")) read_zones(root["zones"], cfg);
    else error(Pointer(), "\"zones\" is required: a folder of zone files (e.g. \"zones/\")");
    return cfg;
  }

 private:
  const JsonSource& src_;
  Diagnostics& diags_;
};

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(const nlohmann::json& value) {
  using std::chrono::milliseconds;
  if (value.is_number()) {
    const double s = value.get<double>();
    if (!std::isfinite(s) || s < 0 || s > 1e9) return std::nullopt;
    return milliseconds(static_cast<int64_t>(s * 1000.0 + 0.5));
  }
  if (!value.is_string()) return std::nullopt;
  const std::string text = value.get<std::string>();
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (...) {
    return std::nullopt;
  }
  if (!std::isfinite(number) || number < 0 || number > 1e9) return std::nullopt;
  const std::string unit = text.substr(used);
  double ms;
  if (unit == "ms") ms = number;
  else if (unit == "s" || unit.empty()) ms = number * 1000;
  else if (unit == "m") ms = number * 60000;
  else if (unit == "h") ms = number * 3600000;
  else return std::nullopt;
  return milliseconds(static_cast<int64_t>(ms + 0.5));
}

ServerConfig read_server_config(const JsonSource& source, Diagnostics& diagnostics) {
  return Reader(source, diagnostics).read();
}

}  // namespace meridian::config
