#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <set>

#include "config/path.hpp"
#include "config/server_config.hpp"
#include "util/host_port.hpp"
#include "routing/policies/policy.hpp"
#include "routing/service_set.hpp"

namespace meridian::routing {

namespace {

using nlohmann::json;
using Pointer = json::json_pointer;


class Loader {
 public:
  Loader(const config::JsonSource& src, std::string base, config::Diagnostics& d)
      : src_(src), base_(std::move(base)), diags_(d) {}

  std::shared_ptr<ServiceSet> load() {
    auto set = std::make_shared<ServiceSet>();
    const json& root = src_.root();
    if (!root.is_object()) return set;
    read_ecs(root, set->ecs);
    read_geoip(root, set->geo);
    if (root.contains("latency")) {
      if (!root["latency"].is_string()) error(Pointer("/latency"), "\"latency\" is the path of a latency table file");
      else default_latency_ = config::resolve_path(base_, root["latency"].get<std::string>());
    }
    if (!root.contains("services")) return set;
    const json& services = root["services"];
    if (!services.is_object()) {
      error(Pointer("/services"), "\"services\" must be an object of named services");
      return set;
    }
    for (const auto& [name, def] : services.items()) {
      Service s;
      s.name = name;
      std::vector<ClientKey> keys;
      if (read_service(def, Pointer("/services") / name, s, keys)) {
        if (needs_geo(*s.policy, keys) && !set->geo.city)
          error(Pointer("/services") / name / "policy",
                std::string("policy \"") + policy_name(s.policy) + "\" with location keys needs \"geoip\": {\"city\": ...}");
        compile_classes(s, keys, set->geo);
        set->by_name[name] = static_cast<int>(set->services.size());
        set->services.push_back(std::move(s));
        set->keys.push_back(std::move(keys));
      }
    }
    return set;
  }

 private:
  static bool needs_geo(const policies::Policy& p, const std::vector<ClientKey>& keys) {
    if (p.needs_location_database) return true;
    for (const auto& k : keys)
      if (k.kind != ClientKey::by_net && k.kind != ClientKey::by_default) return true;
    return false;
  }

  void error(const Pointer& at, const std::string& message, bool key = false) {
    diags_.add(src_.error_at(at, message, key));
  }

  void check_keys(const json& obj, const Pointer& at, const std::vector<std::string_view>& allowed) {
    for (const auto& [key, value] : obj.items()) {
      (void)value;
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      error(at / key, "unknown key \"" + key + "\" (expected one of: " + list + ")", true);
    }
  }

  // A service's own keys and those of every policy (a service may carry keys of
  // a policy it does not use).
  static std::vector<std::string_view> service_keys() {
    std::vector<std::string_view> keys = {"policy", "ttl", "failover_ttl", "answers", "fail_open", "regions"};
    for (const policies::Policy* p : policies::all_policies())
      for (std::string_view k : p->keys)
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    for (std::string_view k : {"slow_start", "ttl_min", "ttl_follows_health"}) keys.push_back(k);
    return keys;
  }

  bool read_u32(const json& obj, const char* key, const Pointer& at, uint32_t& out, uint64_t min, uint64_t max) {
    if (!obj.contains(key)) return true;
    const json& v = obj[key];
    if (!v.is_number_unsigned() || v.get<uint64_t>() < min || v.get<uint64_t>() > max) {
      error(at / key, std::string("\"") + key + "\" must be an integer from " + std::to_string(min) + " to " + std::to_string(max));
      return false;
    }
    out = static_cast<uint32_t>(v.get<uint64_t>());
    return true;
  }

  void read_ecs(const json& root, EcsSettings& ecs) {
    if (!root.contains("dns") || !root["dns"].is_object() || !root["dns"].contains("ecs")) return;
    const json& e = root["dns"]["ecs"];
    const Pointer at("/dns/ecs");
    if (e.is_boolean()) {
      ecs.enabled = e.get<bool>();
      return;
    }
    if (!e.is_object()) return error(at, "\"ecs\" must be an object or a boolean");
    check_keys(e, at, {"enabled", "max_prefix", "ipv4_in_ipv6"});
    if (e.contains("enabled")) {
      if (!e["enabled"].is_boolean()) error(at / "enabled", "\"enabled\" must be true or false");
      else ecs.enabled = e["enabled"].get<bool>();
    }
    if (e.contains("ipv4_in_ipv6")) {
      if (!e["ipv4_in_ipv6"].is_boolean()) error(at / "ipv4_in_ipv6", "\"ipv4_in_ipv6\" must be true or false");
      else ecs.ipv4_in_ipv6 = e["ipv4_in_ipv6"].get<bool>();
    }
    if (e.contains("max_prefix")) {
      const json& m = e["max_prefix"];
      if (!m.is_object()) return error(at / "max_prefix", "\"max_prefix\" must be {\"ipv4\": N, \"ipv6\": N}");
      check_keys(m, at / "max_prefix", {"ipv4", "ipv6"});
      uint32_t v4 = ecs.max_prefix_v4, v6 = ecs.max_prefix_v6;
      read_u32(m, "ipv4", at / "max_prefix", v4, 0, 32);
      read_u32(m, "ipv6", at / "max_prefix", v6, 0, 128);
      ecs.max_prefix_v4 = v4;
      ecs.max_prefix_v6 = v6;
    }
  }

  void read_geoip(const json& root, GeoSources& geo) {
    if (!root.contains("geoip")) return;
    const json& g = root["geoip"];
    const Pointer at("/geoip");
    if (!g.is_object()) return error(at, "\"geoip\" must be an object {\"city\": PATH, \"asn\": PATH}");
    check_keys(g, at, {"city", "country", "asn"});
    auto open = [&](const char* key) -> std::shared_ptr<const geo::GeoipDatabase> {
      if (!g.contains(key)) return nullptr;
      if (!g[key].is_string()) {
        error(at / key, std::string("\"") + key + "\" is the path of a .mmdb file");
        return nullptr;
      }
      try {
        return geo::GeoipDatabase::open(config::resolve_path(base_, g[key].get<std::string>()));
      } catch (const config::LoadError& e) {
        error(at / key, e.diagnostics().items().front().message + " (" + config::resolve_path(base_, g[key].get<std::string>()) + ")");
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
    check_keys(def, at, {"endpoints", "location", "weight", "backends", "check", "min_healthy", "forward", "slow_start"});
    const std::size_t before = diags_.size();
    read_u32(def, "weight", at, r.weight, 0, 1000000);
    if (def.contains("endpoints")) {
      const json& eps = def["endpoints"];
      if (!eps.is_array()) {
        error(at / "endpoints", "\"endpoints\" must be an array of addresses");
      } else {
        std::set<std::string> seen;
        for (std::size_t i = 0; i < eps.size(); ++i) {
          const Pointer eat = at / "endpoints" / std::to_string(i);
          Endpoint ep;
          std::string text;
          if (eps[i].is_string()) {
            text = eps[i].get<std::string>();
          } else if (eps[i].is_object() && eps[i].contains("address") && eps[i]["address"].is_string()) {
            check_keys(eps[i], eat, {"address", "weight"});
            text = eps[i]["address"].get<std::string>();
            read_u32(eps[i], "weight", eat, ep.weight, 1, 1000000);
          } else {
            error(eat, "an endpoint is an address string or {\"address\": ..., \"weight\": N}");
            continue;
          }
          if (!parse_address(text, ep)) error(eat, "\"" + text + "\" is not an IPv4 or IPv6 address");
          else if (!seen.insert(text).second) error(eat, "endpoint \"" + text + "\" is listed twice");
          else r.endpoints.push_back(ep);
        }
      }
    }
    if (r.endpoints.empty() && diags_.size() == before) error(at, "region \"" + name + "\" needs at least one endpoint");
    if (def.contains("location")) {
      const json& loc = def["location"];
      if (!loc.is_array() || loc.size() != 2 || !loc[0].is_number() || !loc[1].is_number() ||
          std::abs(loc[0].get<double>()) > 90 || std::abs(loc[1].get<double>()) > 180)
        error(at / "location", "\"location\" is [latitude, longitude] in degrees");
      else r.location = Location{loc[0].get<double>(), loc[1].get<double>()};
    }
    read_backends(def, at, r);
    if (def.contains("slow_start")) {
      const auto d = config::parse_duration(def["slow_start"]);
      if (!d) error(at / "slow_start", "\"slow_start\" is a duration such as \"60s\"");
      else r.slow_start = *d;
    }
    if (def.contains("check")) {
      if (!def["check"].is_string()) error(at / "check", "\"check\" names a check defined in \"checks\"");
      else r.check = def["check"].get<std::string>();
    }
    if (def.contains("min_healthy")) {
      const json& m = def["min_healthy"];
      if (m.is_number_unsigned() && m.get<unsigned>() >= 1) {
        r.min_healthy.count = m.get<unsigned>();
      } else if (m.is_string() && !m.get<std::string>().empty() && m.get<std::string>().back() == '%') {
        try {
          r.min_healthy.percent = std::stod(m.get<std::string>());
        } catch (...) {
          r.min_healthy.percent = -2;
        }
        if (r.min_healthy.percent <= 0 || r.min_healthy.percent > 100)
          error(at / "min_healthy", "\"min_healthy\" as a share is \"1%\" to \"100%\"");
      } else {
        error(at / "min_healthy", "\"min_healthy\" is a count (1 or more) or a share such as \"50%\"");
      }
      if (r.backends.empty()) error(at / "min_healthy", "\"min_healthy\" applies to regions with \"backends\"");
      else if (r.min_healthy.percent < 0 && r.min_healthy.count > r.backends.size())
        error(at / "min_healthy", "\"min_healthy\" is larger than the number of backends");
    }
    return diags_.size() == before;
  }

  void read_backends(const json& def, const Pointer& at, Region& r) {
    if (!def.contains("backends")) return;
    const json& list = def["backends"];
    if (!list.is_array() || list.empty()) {
      error(at / "backends", "\"backends\" is a non-empty array of {\"address\": \"HOST:PORT\", \"weight\": N}");
      return;
    }
    std::set<std::string> seen;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const Pointer bat = at / "backends" / std::to_string(i);
      Backend b;
      if (list[i].is_string()) {
        b.address_text = list[i].get<std::string>();
      } else if (list[i].is_object() && list[i].contains("address") && list[i]["address"].is_string()) {
        b.address_text = list[i]["address"].get<std::string>();
        read_u32(list[i], "weight", bat, b.weight, 0, 1000000);
      } else {
        error(bat, "a backend is \"HOST:PORT\" or {\"address\": \"HOST:PORT\", \"weight\": N}");
        continue;
      }
      const auto hp = util::parse_host_port(b.address_text);
      if (!hp || hp->port == 0) {
        error(bat, "\"" + b.address_text + "\" is not an address:port such as 127.0.0.1:9001 or [::1]:9001");
        continue;
      }
      b.host = hp->address.to_string();
      b.port = hp->port;
      if (!seen.insert(b.address_text).second) error(bat, "backend \"" + b.address_text + "\" is listed twice");
      else r.backends.push_back(b);
    }
  }

  bool read_service(const json& def, const Pointer& at, Service& s, std::vector<ClientKey>& keys) {
    const std::size_t before = diags_.size();
    if (!def.is_object()) {
      error(at, "a service is an object with \"policy\" and \"regions\"");
      return false;
    }
    static const std::vector<std::string_view> keys_allowed = service_keys();
    check_keys(def, at, keys_allowed);
    const std::string policy = def.contains("policy") && def["policy"].is_string() ? def["policy"].get<std::string>() : "";
    s.policy = policies::find_policy(policy);
    if (!s.policy) {
      error(def.contains("policy") ? at / "policy" : at, "\"policy\" must be one of " + policies::policy_names());
      return false;
    }
    read_u32(def, "ttl", at, s.ttl, 0, 0x7FFFFFFF);
    s.failover_ttl = std::min<uint32_t>(s.ttl, 30);
    read_u32(def, "failover_ttl", at, s.failover_ttl, 0, 0x7FFFFFFF);
    s.ttl_min = s.ttl / 2;
    if (read_u32(def, "ttl_min", at, s.ttl_min, 0, 0x7FFFFFFF) && s.ttl_min > s.ttl)
      error(at / "ttl_min", "\"ttl_min\" must not exceed \"ttl\" (" + std::to_string(s.ttl) + ")");
    if (def.contains("ttl_follows_health")) {
      if (!def["ttl_follows_health"].is_boolean())
        error(at / "ttl_follows_health", "\"ttl_follows_health\" must be true or false");
      else s.ttl_follows_health = def["ttl_follows_health"].get<bool>();
    }
    if (def.contains("answers")) {
      const json& a = def["answers"];
      if (a.is_string() && a.get<std::string>() == "all") s.answers = 0;
      else {
        uint32_t n = 1;
        if (read_u32(def, "answers", at, n, 1, 64)) s.answers = n;
      }
    }
    if (def.contains("fail_open")) {
      if (!def["fail_open"].is_boolean()) error(at / "fail_open", "\"fail_open\" must be true or false");
      else s.fail_open = def["fail_open"].get<bool>();
    }
    if (!def.contains("regions") || !def["regions"].is_object() || def["regions"].empty()) {
      error(def.contains("regions") ? at / "regions" : at, "a service needs \"regions\": {NAME: {...}, ...}");
      return false;
    }
    std::optional<std::chrono::milliseconds> service_slow_start;
    if (def.contains("slow_start")) {
      service_slow_start = config::parse_duration(def["slow_start"]);
      if (!service_slow_start) error(at / "slow_start", "\"slow_start\" is a duration such as \"60s\"");
    }
    for (const auto& [rname, rdef] : def["regions"].items()) {
      Region r;
      if (service_slow_start) r.slow_start = *service_slow_start;
      if (read_region(rname, rdef, at / "regions" / rname, r)) s.regions.push_back(std::move(r));
    }
    if (diags_.size() != before) return false;

    s.policy->read(policies::ReadContext{src_, base_, default_latency_, diags_}, def, at, s, keys);
    return diags_.size() == before;
  }

  const config::JsonSource& src_;
  std::string base_;
  config::Diagnostics& diags_;
  std::string default_latency_;
};

}  // namespace

std::shared_ptr<ServiceSet> load_services(const config::JsonSource& source, const std::string& base_dir,
                                          config::Diagnostics& diagnostics) {
  return Loader(source, base_dir, diagnostics).load();
}

}  // namespace meridian::routing
