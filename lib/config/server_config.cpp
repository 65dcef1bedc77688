#include "config/server_config.hpp"

#include <unistd.h>
#include <cctype>

#include <filesystem>
#include <set>
#include <utility>

#include "config/json_object_reader.hpp"
#include "config/path.hpp"
#include "util/file_text.hpp"
#include "util/host_port.hpp"
#include "util/ip_address.hpp"

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
  Reader(const JsonSource& src, Diagnostics& diags) : src_(src), sink_(src, diags) {}

  void error(const Pointer& at, const std::string& message) { sink_.report(at, message, false); }

  void read_listen(const json& l, const Pointer& at, DnsSettings& d) {
    // (index in the array, text): errors point at the element that holds them.
    std::vector<std::pair<std::size_t, std::string>> items;
    if (l.is_string()) items.emplace_back(0, l.get<std::string>());
    else if (l.is_array()) {
      for (std::size_t i = 0; i < l.size(); ++i) {
        if (!l[i].is_string()) error(at / std::to_string(i), "a listen address is a string");
        else items.emplace_back(i, l[i].get<std::string>());
      }
    } else {
      error(at, "\"listen\" must be an address string or an array of them");
    }
    d.listen.clear();
    std::set<std::string> seen;
    for (const auto& [i, text] : items) {
      const Pointer item_at = l.is_array() ? at / std::to_string(i) : at;
      const auto hp = util::parse_host_port(text);
      if (!hp) error(item_at, "\"" + text + "\" is not an address:port such as 127.0.0.1:53 or [::1]:53");
      else if (!seen.insert(hp->to_string()).second) error(item_at, "listen address given twice");
      else d.listen.push_back(text);
    }
  }

  void read_chaos(JsonObjectReader& dns, DnsSettings& d) {
    const json* ch = dns.find("chaos");
    if (!ch) return;
    if (ch->is_boolean() && !ch->get<bool>()) {
      d.chaos_version.reset();
      d.chaos_identity.reset();
    } else if (ch->is_object()) {
      JsonObjectReader chaos(*ch, dns.pointer("chaos"), sink_);
      for (auto [key, out] : {std::pair{"version", &d.chaos_version}, std::pair{"identity", &d.chaos_identity}}) {
        const json* v = chaos.find(key);
        if (!v) continue;
        if (v->is_boolean() && !v->get<bool>()) out->reset();
        else if (v->is_string()) *out = v->get<std::string>();
        else chaos.error(key, std::string("\"") + key + "\" must be a string, or false to disable it");
      }
      chaos.report_unknown_keys();
    } else {
      dns.error("chaos", "\"chaos\" must be an object {\"version\": ..., \"identity\": ...} or false");
    }
  }

  void read_explain(JsonObjectReader& dns, DnsSettings& d) {
    const json* ex = dns.find("explain");
    if (!ex) return;
    if (ex->is_boolean() && !ex->get<bool>()) {
      d.explain_allow.clear();
    } else if (ex->is_object() && ex->contains("allow") && (*ex)["allow"].is_array()) {
      JsonObjectReader explain(*ex, dns.pointer("explain"), sink_);
      const json& allow = *explain.find("allow");
      d.explain_allow.clear();
      for (std::size_t i = 0; i < allow.size(); ++i) {
        const json& v = allow[i];
        std::string problem;
        if (!v.is_string() || !util::parse_network(v.get<std::string>(), problem))
          error(explain.pointer("allow") / std::to_string(i), "an allowed source is a network such as 127.0.0.0/8");
        else d.explain_allow.push_back(v.get<std::string>());
      }
      explain.report_unknown_keys();
    } else {
      dns.error("explain", "\"explain\" must be {\"allow\": [networks]} or false");
    }
  }

  void read_cookies(JsonObjectReader& dns, DnsSettings& d, const std::string& base_dir) {
    const KeyRules rules = KeyRules::optional(
        "\"cookies\" must be an object {\"enabled\": true, \"secret_file\": \"cookie.secret\", \"require\": false}");
    auto cookies = dns.section("cookies", rules);
    if (!cookies) return;
    cookies->boolean("enabled", d.cookies.enabled);
    cookies->string("secret_file", d.cookies.secret_file,
                    KeyRules::optional("\"secret_file\" is the path of a file holding 32 hex digits"),
                    [](const std::string& s) { return !s.empty(); });
    d.cookies.secret_file = config::resolve_path(base_dir, d.cookies.secret_file);
    cookies->boolean("require", d.cookies.require);
    cookies->report_unknown_keys();
  }

  void read_rrl(JsonObjectReader& dns, DnsSettings& d) {
    const KeyRules rules = KeyRules::optional(
        "\"rrl\" must be an object {\"responses_per_second\": 20, \"window\": 15, \"slip\": 2, ...}");
    auto rrl = dns.section("rrl", rules);
    if (!rrl) return;
    RrlSettings r;
    rrl->integer("responses_per_second", r.responses_per_second, 0, 100000);
    r.nxdomains_per_second = r.errors_per_second = r.responses_per_second;
    rrl->integer("nxdomains_per_second", r.nxdomains_per_second, 0, 100000);
    rrl->integer("errors_per_second", r.errors_per_second, 0, 100000);
    rrl->integer("window", r.window, 1, 3600);
    rrl->integer("slip", r.slip, 0, 100);
    rrl->integer("ipv4_prefix", r.ipv4_prefix, 1, 32);
    rrl->integer("ipv6_prefix", r.ipv6_prefix, 1, 128);
    if (const json* exempt = rrl->array("exempt")) {
      for (std::size_t i = 0; i < exempt->size(); ++i) {
        const json& v = (*exempt)[i];
        std::string problem;
        if (!v.is_string() || !util::parse_network(v.get<std::string>(), problem))
          error(rrl->pointer("exempt") / std::to_string(i), "an exempt source is a network such as 192.0.2.0/24");
        else r.exempt.push_back(v.get<std::string>());
      }
    }
    rrl->boolean("log_only", r.log_only);
    rrl->integer("table_size", r.table_size, 1024, 1u << 24);
    rrl->report_unknown_keys();
    d.rrl = r;
  }

  void read_dns(JsonObjectReader& dns, DnsSettings& d, const std::string& base_dir) {
    if (const json* listen = dns.find("listen")) read_listen(*listen, dns.pointer("listen"), d);
    dns.integer("threads", d.threads, 1, 64);
    dns.integer("tcp_threads", d.tcp_threads, 1, 64);
    dns.integer("max_udp_payload", d.max_udp_payload, 512, 4096);
    dns.integer("online_signatures_per_second", d.online_signatures_per_second, 0, 1000000);
    if (auto tcp = dns.section("tcp")) {
      tcp->duration("idle_timeout", d.tcp_idle_timeout);
      tcp->duration("message_timeout", d.tcp_message_timeout);
      tcp->integer("max_connections", d.tcp_max_connections, 1, 1000000);
      tcp->integer("max_per_client", d.tcp_max_per_client, 0, 1000000);
      tcp->integer("max_transfers", d.tcp_max_transfers, 1, 10000);
      tcp->report_unknown_keys();
    }
    dns.string("nsid", d.nsid, KeyRules::optional("\"nsid\" must be a string of at most 128 bytes"),
               [](const std::string& s) { return s.size() <= 128; });
    read_chaos(dns, d);
    dns.allow({"ecs"});  // validated with the services (routing/service_loader)
    read_explain(dns, d);
    read_cookies(dns, d, base_dir);
    read_rrl(dns, d);
    dns.report_unknown_keys();
  }

  void read_admin(JsonObjectReader& admin, AdminSettings& out) {
    admin.string("listen", out.listen, KeyRules::optional("\"listen\" is an address:port such as 127.0.0.1:9153"),
                 [](const std::string& s) { return util::parse_host_port(s).has_value(); });
    admin.string("token", out.token, KeyRules::optional("\"token\" is a non-empty string"),
                 [](const std::string& s) { return !s.empty(); });
    admin.boolean("ready_after_checks", out.ready_after_checks);
    admin.report_unknown_keys();
  }

  static bool is_base64(const std::string& s) {
    if (s.empty() || s.size() % 4 != 0) return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
      const char c = s[i];
      const bool pad = c == '=' && i + 2 >= s.size();
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && !pad) return false;
    }
    return true;
  }

  void read_tsig(JsonObjectReader& tsig, ServerConfig& cfg) {
    for (const auto& [name, value] : src_.root()["tsig"].items()) {
      const KeyRules rules = KeyRules::optional(
          "a TSIG key must be an object {\"algorithm\": \"hmac-sha256\", \"secret\": \"BASE64\"}");
      auto key = tsig.section(name, rules);
      if (!key) continue;
      TsigKeySettings k;
      std::string folded;
      for (const char c : name) folded += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      k.name = folded.empty() || folded.back() != '.' ? folded + "." : folded;
      k.algorithm = "hmac-sha256";
      key->string("algorithm", k.algorithm,
                  KeyRules::optional("\"algorithm\" must be \"hmac-sha256\", \"hmac-sha384\" or \"hmac-sha512\""),
                  [](const std::string& a) { return a == "hmac-sha256" || a == "hmac-sha384" || a == "hmac-sha512"; });
      const KeyRules secret_rules = KeyRules::optional("\"secret\" must be base64 text");
      const bool has_secret = key->contains("secret");
      key->string("secret", k.secret, secret_rules, [](const std::string& s) { return is_base64(s); });
      std::string secret_file;
      if (key->string("secret_file", secret_file) && !secret_file.empty()) {
        const std::string path = config::resolve_path(cfg.base_dir, secret_file);
        const auto text = util::read_file_text(path);
        std::string trimmed;
        if (text)
          for (const char c : *text)
            if (!std::isspace(static_cast<unsigned char>(c))) trimmed += c;
        if (!text) key->error("secret_file", "cannot read " + path);
        else if (!is_base64(trimmed)) key->error("secret_file", path + " must hold the secret as base64 text");
        else k.secret = trimmed;
      } else if (!has_secret) {
        key->error("a TSIG key needs \"secret\" or \"secret_file\"");
      }
      key->report_unknown_keys();
      if (!k.secret.empty()) cfg.tsig.push_back(std::move(k));
    }
  }

  void read_log(JsonObjectReader& log, LogSettings& out) {
    using util::LogLevel;
    log.one_of("level", out.level,
               {{"debug", LogLevel::debug}, {"info", LogLevel::info}, {"warn", LogLevel::warn}, {"error", LogLevel::error}});
    log.one_of("format", out.format, {{"logfmt", util::LogFormat::logfmt}, {"json", util::LogFormat::json}});
    log.report_unknown_keys();
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
    if (cfg.base_dir.empty()) cfg.base_dir.assign(1, '.');  // not = ".": GCC 12 -Wrestrict false positive at -O2
    cfg.source = &src_;
    cfg.dns.chaos_version = std::string("meridian ") + MERIDIAN_VERSION;
    cfg.dns.chaos_identity = host_name();
    JsonObjectReader root(src_.root(), Pointer(), sink_);
    if (!root.is_object()) {
      root.error("the configuration must be a JSON object");
      return cfg;
    }
    const bool has_dns = root.contains("dns");
    if (auto dns = root.section("dns")) read_dns(*dns, cfg.dns, cfg.base_dir);
    if (cfg.dns.listen.empty() && !has_dns)
      root.error("\"dns\": {\"listen\": [...]} is required");
    else if (cfg.dns.listen.empty())
      root.error("dns", "\"listen\" needs at least one address");
    const KeyRules zones_rules = KeyRules::required("\"zones\" is required: a folder of zone files (e.g. \"zones/\")");
    if (const json* zones = root.find("zones", zones_rules)) read_zones(*zones, cfg);
    root.string("health", cfg.health_dir, KeyRules::optional("\"health\" is the folder of health override files"));
    cfg.health_dir = config::resolve_path(cfg.base_dir, cfg.health_dir);
    // Sections owned by other parts of meridian are validated there.
    root.allow({"geoip", "latency"});
    const KeyRules admin_rules = KeyRules::optional("\"admin\" must be an object {\"listen\": \"127.0.0.1:9153\"}");
    if (auto admin = root.section("admin", admin_rules)) read_admin(*admin, cfg.admin);
    const KeyRules log_rules = KeyRules::optional("\"log\" must be an object {\"level\": \"info\", \"format\": \"logfmt\"}");
    if (auto log = root.section("log", log_rules)) read_log(*log, cfg.log);
    const KeyRules user_rules =
        KeyRules::optional("\"user\" names the user to run as after binding: \"meridian\" or \"meridian:meridian\"");
    root.string("user", cfg.user, user_rules, [](const std::string& u) {
      const auto colon = u.find(':');
      return !u.empty() && colon != 0 && (colon == std::string::npos || (colon + 1 < u.size() && u.find(':', colon + 1) == std::string::npos));
    });
    const KeyRules tsig_rules = KeyRules::optional("\"tsig\" must be an object of named keys");
    if (auto tsig = root.section("tsig", tsig_rules)) read_tsig(*tsig, cfg);
    const KeyRules cluster_rules = KeyRules::optional(
        "\"cluster\" must be an object {\"etcd\": [\"http://127.0.0.1:2379\"], \"name\": \"prod\", \"node\": \"ns1\"}");
    if (auto cluster = root.section("cluster", cluster_rules)) cfg.cluster = read_cluster_settings(*cluster);
    root.allow({"checks", "services", kSchemaKey});
    root.report_unknown_keys();
    return cfg;
  }

 private:
  const JsonSource& src_;
  DiagnosticsSink sink_;
};

}  // namespace

ServerConfig read_server_config(const JsonSource& source, Diagnostics& diagnostics) {
  return Reader(source, diagnostics).read();
}

}  // namespace meridian::config
