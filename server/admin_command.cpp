// `meridian reload` and `meridian status`: a running server's admin endpoint,
// found in meridian.json ("admin": {"listen", "token"}) unless flags say otherwise.
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "admin/admin_client.hpp"
#include "admin_routes.hpp"
#include "commands.hpp"
#include "config/diagnostics.hpp"
#include "config/json_source.hpp"
#include "util/host_port.hpp"

namespace meridian::cli {

namespace {

using json = nlohmann::json;

struct Target {
  util::HostPort address;
  std::string token;
};

// The admin address and token: flags first, else meridian.json. Only the
// "admin" object is read, so a configuration that is otherwise invalid (the
// reload will say why) still names its server.
std::optional<Target> find_target(const AdminClientOptions& o, const std::string& command) {
  std::string listen = o.admin;
  std::string token = o.token;
  if (listen.empty() || (token.empty() && !o.token_given)) {
    try {
      const config::JsonSource source = config::JsonSource::load_file(o.config_path);
      const json& admin = source.root().is_object() ? source.root().value("admin", json::object()) : json::object();
      if (listen.empty() && admin.is_object() && admin.contains("listen") && admin["listen"].is_string())
        listen = admin["listen"].get<std::string>();
      if (!o.token_given && admin.is_object() && admin.contains("token") && admin["token"].is_string())
        token = admin["token"].get<std::string>();
    } catch (const config::LoadError& e) {
      if (o.admin.empty()) {
        e.diagnostics().print(std::cerr);
        std::cerr << command << ": cannot read the admin address from " << o.config_path << " (or give --admin)\n";
        return std::nullopt;
      }
    }
  }
  if (listen.empty()) {
    std::cerr << command << ": " << o.config_path << " has no \"admin\": {\"listen\": ...} (or give --admin)\n";
    return std::nullopt;
  }
  const auto address = util::parse_host_port(listen);
  if (!address) {
    std::cerr << command << ": \"" << listen << "\" is not an address:port\n";
    return std::nullopt;
  }
  return Target{*address, token};
}

std::optional<json> parse_json(const admin::ClientResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

// The reply was not the JSON asked for: say what came back instead.
int unexpected(const std::string& command, const admin::ClientResponse& r) {
  std::cerr << command << ": the admin endpoint answered " << r.status;
  if (r.status == 401) std::cerr << " (the token is missing or wrong)";
  std::cerr << ": " << r.body.substr(0, 400) << (r.body.empty() || r.body.back() == '\n' ? "" : "\n");
  return 1;
}

std::string built_text(const json& built) {
  if (!built.is_object()) return "";
  auto n = [&](const char* key) { return std::to_string(built.value(key, 0u)); };
  std::string routing = built.value("routing_tables_reused", 0u) ? "reused"
                        : built.value("routing_tables_built", 0u) ? "built"
                                                                  : "none";
  return "zones " + n("zones_built") + " built, " + n("zones_reused") + " reused; services " + n("services_compiled") +
         " compiled, " + n("services_reused") + " reused; databases " + n("databases_opened") + " opened, " +
         n("databases_reused") + " reused; routing table " + routing;
}

}  // namespace

int reload(const AdminClientOptions& options) {
  const auto target = find_target(options, "reload");
  if (!target) return 1;
  const admin::ClientResponse r = admin::admin_request(target->address, "POST", "/reload", target->token,
                                                       kReloadDeadline + std::chrono::seconds(15));
  if (!r.ok) {
    std::cerr << "reload: " << target->address.to_string() << ": " << r.error << "\n";
    return 1;
  }
  if (r.status == 504) {
    std::cerr << "reload: not finished after " << kReloadDeadline.count()
              << "s; it goes on in the server (`meridian status` shows its result)\n";
    return 1;
  }
  const auto report = parse_json(r);
  if ((r.status != 200 && r.status != 422) || !report) return unexpected("reload", r);
  if (options.json) std::cout << report->dump(2) << "\n";
  const bool ok = report->value("result", "") == "ok";
  const auto zone_errors = report->value("zone_errors", json::array());
  if (!options.json) {
    std::ostream& out = ok ? std::cout : std::cerr;
    out << "reload " << (ok ? "ok" : "rejected") << " in " << report->value("took_ms", 0.0) << " ms: "
        << report->value("zones", 0u) << " zone(s), " << report->value("services", 0u) << " service(s)";
    if (ok) out << " (" << built_text(report->value("built", json())) << ")";
    out << "\n";
    for (const auto& e : report->value("errors", json::array())) std::cerr << e.get<std::string>() << "\n";
    if (!ok) std::cerr << "reload: the previous configuration keeps serving\n";
    for (const auto& e : zone_errors) std::cerr << e.get<std::string>() << "\n";
    if (ok && !zone_errors.empty())
      std::cerr << "reload: " << report->value("zone_failures", 0u)
                << " zone file(s) do not load; they are served as before, or not at all\n";
  }
  // A zone file that does not load fails the command as `meridian check` does.
  return ok && zone_errors.empty() ? 0 : 1;
}

int status(const AdminClientOptions& options) {
  const auto target = find_target(options, "status");
  if (!target) return 1;
  const admin::ClientResponse r =
      admin::admin_request(target->address, "GET", "/status", target->token, std::chrono::seconds(30));
  if (!r.ok) {
    std::cerr << "status: " << target->address.to_string() << ": " << r.error << "\n";
    return 1;
  }
  const auto s = parse_json(r);
  if (r.status != 200 || !s) return unexpected("status", r);
  if (options.json) {
    std::cout << s->dump(2) << "\n";
    return 0;
  }
  std::cout << "meridian " << s->value("version", "") << " at " << target->address.to_string() << ": "
            << (s->value("ready", false) ? "ready" : "not ready") << "\n";
  for (const auto& z : s->value("zones", json::array())) {
    std::cout << "zone " << (z["zone"].is_string() ? z["zone"].get<std::string>() : "(unknown)") << " "
              << z.value("state", "");
    if (z["serial"].is_number()) std::cout << " serial=" << z["serial"];
    std::cout << " file=" << z.value("file", "");
    if (z["error"].is_string()) std::cout << " error=" << z["error"].get<std::string>();
    std::cout << "\n";
  }
  for (const auto& svc : s->value("services", json::array())) {
    std::cout << "service " << svc.value("service", "") << " (" << svc.value("policy", "") << "):";
    for (const auto& region : svc.value("regions", json::array())) {
      std::cout << " " << region.value("region", "") << "=" << (region.value("up", false) ? "up" : "down");
      const std::string reason = region.value("reason", "");
      if (!region.value("up", false) && !reason.empty()) std::cout << " (" << reason << ")";
    }
    std::cout << "\n";
  }
  const json reload = s->value("reload", json::object());
  std::cout << "reloads " << reload.value("reloads", 0u) << ", failures " << reload.value("failures", 0u)
            << "; last " << (reload.value("last_ok", true) ? "ok" : "rejected");
  if (!reload.value("last_ok", true)) std::cout << ": " << reload.value("last_error", "");
  std::cout << "\n";
  return 0;
}

}  // namespace meridian::cli
