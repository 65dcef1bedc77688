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


// True when b serves exactly what a does: the same services in the same slots,
// each from the same compile inputs (its whole definition among them), and the
// same databases. A reload that changed no service keeps the set it replaces.
bool same_services(const ServiceSet& a, const ServiceSet& b) {
  if (a.services.size() != b.services.size() || a.geo.city != b.geo.city || a.geo.asn != b.geo.asn) return false;
  for (std::size_t i = 0; i < a.services.size(); ++i)
    if (a.services[i].name != b.services[i].name || a.services[i].compile_inputs != b.services[i].compile_inputs ||
        a.services[i].latency_path != b.services[i].latency_path)
      return false;
  return true;  // compile_inputs carry the ECS settings
}

class Loader {
 public:
  Loader(const config::JsonSource& src, std::string base, config::Diagnostics& d,
         std::shared_ptr<const ServiceSet> previous)
      : src_(src), base_(std::move(base)), diags_(d), sink_(src_, diags_), previous_(std::move(previous)) {}

  ServiceBuildCounts built;  // what load() built and took over

  std::shared_ptr<const ServiceSet> load() {
    auto set = std::make_shared<ServiceSet>();
    const json& root = src_.root();
    if (!root.is_object()) return set;
    // The top level's other keys are the server configuration's (config/server_config.cpp).
    config::JsonObjectReader top(root, Pointer(), sink_);
    read_ecs(top, set->ecs);
    read_geoip(top, set->geo, set->database_stamps, built);
    std::string latency;
    if (top.string("latency", latency, KeyRules::optional("\"latency\" is the path of a latency table file")) &&
        top.contains("latency"))
      default_latency_ = config::resolve_path(base_, latency);
    const json* services = top.object("services", KeyRules::optional("\"services\" must be an object of named services"));
    if (!services) return set;
    std::vector<const Service*> same_inputs;  // per service: the previous one compiled from the same inputs
    for (const auto& [name, def] : services->items()) {
      Service s;
      s.name = name;
      std::vector<ClientKey> keys;
      if (read_service(def, Pointer("/services") / name, s, keys)) {
        if (needs_geo(*s.policy, keys) && !set->geo.city)
          error(Pointer("/services") / name / "policy",
                std::string("policy \"") + policy_name(s.policy) + "\" with location keys needs \"geoip\": {\"city\": ...}");
        s.compile_inputs = compile_inputs(def, s, *set);
        same_inputs.push_back(previous_compiled(s));
        set->by_name[name] = static_cast<int>(set->services.size());
        set->services.push_back(std::move(s));
        set->keys.push_back(std::move(keys));
      }
    }
    // Nothing a service depends on changed: the previous set serves on as it is
    // (and the server keeps the routing table built from it).
    if (previous_ && same_services(*set, *previous_)) {
      built.reused += static_cast<unsigned>(set->services.size());
      return previous_;
    }
    std::vector<std::size_t> to_compile;
    for (std::size_t i = 0; i < set->services.size(); ++i) {
      Service& s = set->services[i];
      if (const Service* old = same_inputs[i]) {
        s.classes = old->classes;
        s.trie = old->trie;
        s.fallback_class = old->fallback_class;
        ++built.reused;
      } else {
        to_compile.push_back(i);
        ++built.compiled;
      }
    }
    // One walk of the databases for all the services compiled anew.
    if (!to_compile.empty()) compile_classes(set->services, set->keys, set->geo, to_compile);
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

  // The service's definition, the latency rows it read, the databases and the
  // ECS settings: what its compiled classes depend on.
  static std::string compile_inputs(const json& def, const Service& s, const ServiceSet& set) {
    std::string inputs = def.dump();
    // The rows as read (not the file's stamp): a file edited while it was read cannot leave stale classes.
    for (const auto& [key, rtts] : s.latency_rows) {
      inputs += "\nrow " + key;
      for (const double rtt : rtts) {
        inputs += ' ';
        inputs += std::to_string(rtt);
      }
    }
    for (const auto* db : {set.geo.city.get(), set.geo.asn.get()}) {
      if (!db) continue;
      const auto it = set.database_stamps.find(db->path());
      // A database without a stamp (replaced while opened) never matches: compiled again next time.
      inputs += "\ndatabase " + db->path() + "@" +
                (it == set.database_stamps.end() ? "unstamped " + std::to_string(reinterpret_cast<uintptr_t>(db))
                                                 : it->second.to_string());
    }
    inputs += "\necs " + std::to_string(set.ecs.enabled) + " " + std::to_string(set.ecs.max_prefix_v4) + " " +
              std::to_string(set.ecs.max_prefix_v6) + " " + std::to_string(set.ecs.ipv4_in_ipv6);
    return inputs;
  }

  // The previous set's service of that name when its classes were compiled from the same inputs.
  const Service* previous_compiled(const Service& s) const {
    if (!previous_) return nullptr;
    const int i = previous_->find(s.name);
    if (i < 0) return nullptr;
    const Service& old = previous_->services[static_cast<std::size_t>(i)];
    return old.compile_inputs == s.compile_inputs ? &old : nullptr;
  }

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

  // The previous set's database when the file is the one it opened, else the file opened anew.
  std::shared_ptr<const geo::GeoipDatabase> open_database(const std::string& path,
                                                          std::unordered_map<std::string, util::FileStamp>& stamps,
                                                          ServiceBuildCounts& counts) const {
    const auto before = util::stamp_file(path);
    if (previous_ && before) {
      const auto it = previous_->database_stamps.find(path);
      for (const auto* kept : {&previous_->geo.city, &previous_->geo.asn}) {
        if (*kept && (*kept)->path() == path && it != previous_->database_stamps.end() && it->second == *before) {
          stamps[path] = *before;
          ++counts.databases_reused;
          return *kept;
        }
      }
    }
    auto db = geo::GeoipDatabase::open(path);
    ++counts.databases_opened;
    // Replaced while it was opened: the next reload sees another stamp and opens it again.
    if (const auto after = util::stamp_file(path); after && before && *after == *before) stamps[path] = *after;
    return db;
  }

  void read_geoip(config::JsonObjectReader& top, GeoSources& geo, std::unordered_map<std::string, util::FileStamp>& stamps,
                  ServiceBuildCounts& counts) {
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
        return open_database(path, stamps, counts);
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
  std::shared_ptr<const ServiceSet> previous_;
};

}  // namespace

std::shared_ptr<const ServiceSet> load_services(const config::JsonSource& source, const std::string& base_dir,
                                                config::Diagnostics& diagnostics,
                                                std::shared_ptr<const ServiceSet> previous, ServiceBuildCounts* counts) {
  Loader loader(source, base_dir, diagnostics, std::move(previous));
  auto set = loader.load();
  if (counts) *counts = loader.built;
  return set;
}

}  // namespace meridian::routing
