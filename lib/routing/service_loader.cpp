#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "config/backend_list.hpp"
#include "config/json_object_reader.hpp"
#include "config/path.hpp"
#include "routing/policies/policy.hpp"
#include "routing/service_set.hpp"

namespace meridian::routing {

namespace {

using nlohmann::json;
using Pointer = json::json_pointer;


class Loader {
 public:
  Loader(const config::JsonSource& src, std::string base, config::Diagnostics& d)
      : src_(src), base_(std::move(base)), diags_(d), sink_(src_, diags_) {}

  std::shared_ptr<ServiceSet> load() {
    auto set = std::make_shared<ServiceSet>();
    const json& root = src_.root();
    if (!root.is_object()) return set;
    // The top level's other keys are the server configuration's (config/server_config.cpp).
    config::JsonObjectReader top(root, Pointer(), sink_);
    read_ecs(top, set->ecs);
    read_geoip(top, set->geo);
    std::string latency;
    if (top.string("latency", latency, KeyRules::optional("\"latency\" is the path of a latency table file")) &&
        top.contains("latency"))
      default_latency_ = config::resolve_path(base_, latency);
    const json* services = top.object("services", KeyRules::optional("\"services\" must be an object of named services"));
    if (!services) return set;
    for (const auto& [name, def] : services->items()) {
      Service s;
      s.name = name;
      std::vector<ClientKey> keys;
      if (read_service(def, Pointer("/services") / name, s, keys)) {
        if (needs_geo(*s.policy, keys) && !set->geo.city)
          error(Pointer("/services") / name / "policy",
                std::string("policy \"") + policy_name(s.policy) + "\" with location keys needs \"geoip\": {\"city\": ...}");
        set->by_name[name] = static_cast<int>(set->services.size());
        set->services.push_back(std::move(s));
        set->keys.push_back(std::move(keys));
      }
    }
    // One walk of the databases for all services.
    compile_classes(set->services, set->keys, set->geo);
    return set;
  }

 private:
  using KeyRules = config::KeyRules;

  static bool needs_geo(const policies::Policy& p, const std::vector<ClientKey>& keys) {
    if (p.needs_location_database) return true;
    for (const auto& k : keys)
      if (k.kind != ClientKey::by_net && k.kind != ClientKey::by_default) return true;
    return false;
  }

  void error(const Pointer& at, const std::string& message) { sink_.report(at, message, false); }

  // A service's own keys and those of every policy (a service may carry keys of
  // a policy it does not use), in the order "unknown key" messages list them.
  static std::vector<std::string_view> service_keys() {
    std::vector<std::string_view> keys = {"policy", "ttl", "failover_ttl", "answers", "fail_open", "regions"};
    for (const policies::Policy* p : policies::all_policies())
      for (std::string_view k : p->keys)
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    for (std::string_view k : {"slow_start", "ttl_min", "ttl_follows_health"}) keys.push_back(k);
    return keys;
  }

  void read_ecs(config::JsonObjectReader& top, EcsSettings& ecs) {
    const json* dns = top.find("dns");
    if (!dns || !dns->is_object() || !dns->contains("ecs")) return;
    const json& e = (*dns)["ecs"];
    if (e.is_boolean()) {
      ecs.enabled = e.get<bool>();
      return;
    }
    const Pointer at("/dns/ecs");
    if (!e.is_object()) return error(at, "\"ecs\" must be an object or a boolean");
    config::JsonObjectReader reader(e, at, sink_);
    reader.allow({"enabled", "max_prefix", "ipv4_in_ipv6"});
    reader.report_unknown_keys();
    reader.boolean("enabled", ecs.enabled);
    reader.boolean("ipv4_in_ipv6", ecs.ipv4_in_ipv6);
    auto max_prefix = reader.section("max_prefix", KeyRules::optional("\"max_prefix\" must be {\"ipv4\": N, \"ipv6\": N}"));
    if (!max_prefix) return;
    max_prefix->allow({"ipv4", "ipv6"});
    max_prefix->report_unknown_keys();
    max_prefix->integer("ipv4", ecs.max_prefix_v4, 0, 32);
    max_prefix->integer("ipv6", ecs.max_prefix_v6, 0, 128);
  }

  void read_geoip(config::JsonObjectReader& top, GeoSources& geo) {
    auto g = top.section("geoip", KeyRules::optional("\"geoip\" must be an object {\"city\": PATH, \"asn\": PATH}"));
    if (!g) return;
    g->allow({"city", "country", "asn"});
    g->report_unknown_keys();
    auto open = [&](const char* key) -> std::shared_ptr<const geo::GeoipDatabase> {
      std::string path;
      if (!g->string(key, path, KeyRules::optional(std::string("\"") + key + "\" is the path of a .mmdb file")) ||
          !g->contains(key))
        return nullptr;
      path = config::resolve_path(base_, path);
      try {
        return geo::GeoipDatabase::open(path);
      } catch (const config::LoadError& e) {
        g->error(key, e.diagnostics().items().front().message + " (" + path + ")");
        return nullptr;
      }
    };
    geo.city = open("city");
    if (!geo.city) geo.city = open("country");
    geo.asn = open("asn");
  }

  bool parse_address(const std::string& text, Endpoint& ep) {
    const auto ip = util::IpAddress::parse(text);
    if (!ip) return false;
    ep.address_text = text;
    ep.ip = *ip;
    return true;
  }

  bool read_region(const std::string& name, const json& def, const Pointer& at, Region& r) {
    r.name = name;
    if (!def.is_object()) {
      error(at, "a region is an object with \"endpoints\"");
      return false;
    }
    const std::size_t before = diags_.size();
    config::JsonObjectReader region(def, at, sink_);
    // "forward" is the forwarding tier's (forward/settings.cpp).
    region.allow({"endpoints", "location", "weight", "backends", "check", "min_healthy", "forward", "slow_start"});
    region.report_unknown_keys();
    region.integer("weight", r.weight, 0, 1000000);
    if (const json* eps = region.array("endpoints", KeyRules::optional("\"endpoints\" must be an array of addresses"))) {
      std::set<std::string> seen;
      for (std::size_t i = 0; i < eps->size(); ++i) {
        const Pointer eat = at / "endpoints" / std::to_string(i);
        const json& entry = (*eps)[i];
        Endpoint ep;
        std::string text;
        if (entry.is_string()) {
          text = entry.get<std::string>();
        } else if (entry.is_object() && entry.contains("address") && entry["address"].is_string()) {
          config::JsonObjectReader endpoint(entry, eat, sink_);
          endpoint.allow({"address", "weight"});
          endpoint.report_unknown_keys();
          endpoint.string("address", text);
          endpoint.integer("weight", ep.weight, 1, 1000000);
        } else {
          error(eat, "an endpoint is an address string or {\"address\": ..., \"weight\": N}");
          continue;
        }
        if (!parse_address(text, ep)) error(eat, "\"" + text + "\" is not an IPv4 or IPv6 address");
        else if (!seen.insert(text).second) error(eat, "endpoint \"" + text + "\" is listed twice");
        else r.endpoints.push_back(ep);
      }
    }
    if (r.endpoints.empty() && diags_.size() == before) error(at, "region \"" + name + "\" needs at least one endpoint");
    if (const json* loc = region.find("location")) {
      if (!loc->is_array() || loc->size() != 2 || !(*loc)[0].is_number() || !(*loc)[1].is_number() ||
          std::abs((*loc)[0].get<double>()) > 90 || std::abs((*loc)[1].get<double>()) > 180)
        region.error("location", "\"location\" is [latitude, longitude] in degrees");
      else r.location = Location{(*loc)[0].get<double>(), (*loc)[1].get<double>()};
    }
    r.backends = config::read_backends(region);
    region.duration("slow_start", r.slow_start, config::ZeroDuration::allowed, kSlowStartRules);
    region.string("check", r.check, KeyRules::optional("\"check\" names a check defined in \"checks\""));
    if (const json* m = region.find("min_healthy")) {
      if (m->is_number_unsigned() && m->get<unsigned>() >= 1) {
        r.min_healthy.count = m->get<unsigned>();
      } else if (m->is_string() && !m->get<std::string>().empty() && m->get<std::string>().back() == '%') {
        try {
          r.min_healthy.percent = std::stod(m->get<std::string>());
        } catch (...) {
          r.min_healthy.percent = -2;
        }
        if (r.min_healthy.percent <= 0 || r.min_healthy.percent > 100)
          region.error("min_healthy", "\"min_healthy\" as a share is \"1%\" to \"100%\"");
      } else {
        region.error("min_healthy", "\"min_healthy\" is a count (1 or more) or a share such as \"50%\"");
      }
      if (r.backends.empty()) region.error("min_healthy", "\"min_healthy\" applies to regions with \"backends\"");
      else if (r.min_healthy.percent < 0 && r.min_healthy.count > r.backends.size())
        region.error("min_healthy", "\"min_healthy\" is larger than the number of backends");
    }
    return diags_.size() == before;
  }

  static bool is_policy_name(const std::string& name) { return policies::find_policy(name) != nullptr; }

  bool read_service(const json& def, const Pointer& at, Service& s, std::vector<ClientKey>& keys) {
    const std::size_t before = diags_.size();
    if (!def.is_object()) {
      error(at, "a service is an object with \"policy\" and \"regions\"");
      return false;
    }
    config::JsonObjectReader service(def, at, sink_);
    static const std::vector<std::string_view> keys_allowed = service_keys();
    for (const std::string_view key : keys_allowed) service.allow({key});
    service.report_unknown_keys();
    const std::string policy_wording = "\"policy\" must be one of " + policies::policy_names();
    std::string policy;
    if (!service.string("policy", policy, KeyRules::required(policy_wording, policy_wording), is_policy_name))
      return false;
    s.policy = policies::find_policy(policy);
    service.integer("ttl", s.ttl, 0, 0x7FFFFFFF);
    s.failover_ttl = std::min<uint32_t>(s.ttl, 30);
    service.integer("failover_ttl", s.failover_ttl, 0, 0x7FFFFFFF);
    s.ttl_min = s.ttl / 2;
    if (service.integer("ttl_min", s.ttl_min, 0, 0x7FFFFFFF) && s.ttl_min > s.ttl)
      service.error("ttl_min", "\"ttl_min\" must not exceed \"ttl\" (" + std::to_string(s.ttl) + ")");
    service.boolean("ttl_follows_health", s.ttl_follows_health);
    if (const json* answers = service.find("answers")) {
      if (answers->is_string() && answers->get<std::string>() == "all") s.answers = 0;
      else service.integer("answers", s.answers, 1, 64);
    }
    service.boolean("fail_open", s.fail_open);
    const json* regions = service.find("regions");
    if (!regions || !regions->is_object() || regions->empty()) {
      error(regions ? at / "regions" : at, "a service needs \"regions\": {NAME: {...}, ...}");
      return false;
    }
    std::chrono::milliseconds service_slow_start{0};
    const bool has_slow_start = service.contains("slow_start");
    const bool slow_start_valid =
        service.duration("slow_start", service_slow_start, config::ZeroDuration::allowed, kSlowStartRules);
    for (const auto& [rname, rdef] : regions->items()) {
      Region r;
      if (has_slow_start && slow_start_valid) r.slow_start = service_slow_start;
      if (read_region(rname, rdef, at / "regions" / rname, r)) s.regions.push_back(std::move(r));
    }
    if (diags_.size() != before) return false;

    s.policy->read(policies::ReadContext{src_, base_, default_latency_, diags_}, def, at, s, keys);
    return diags_.size() == before;
  }

  inline static const KeyRules kSlowStartRules = KeyRules::optional("\"slow_start\" is a duration such as \"60s\"");

  const config::JsonSource& src_;
  std::string base_;
  config::Diagnostics& diags_;
  config::DiagnosticsSink sink_;
  std::string default_latency_;
};

}  // namespace

std::shared_ptr<ServiceSet> load_services(const config::JsonSource& source, const std::string& base_dir,
                                          config::Diagnostics& diagnostics) {
  return Loader(source, base_dir, diagnostics).load();
}

}  // namespace meridian::routing
