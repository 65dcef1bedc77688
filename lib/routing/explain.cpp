#include "routing/explain.hpp"

#include <charconv>
#include <sstream>

#include "routing/answer_ttl.hpp"
#include "routing/classifier.hpp"
#include "routing/policies/policy.hpp"

namespace meridian::routing {

namespace {

// Why the TTL is what it is, in words.
std::string ttl_reason(const Service& s, const Decision& d, const AnswerTtl& t) {
  const std::string base = std::string(d.failover ? "failover_ttl " : "ttl ") + std::to_string(t.configured);
  const std::string change = t.seconds_to_change < 0 ? ""
                             : d.stability_from + " can change in " + std::to_string(t.seconds_to_change) + "s";
  switch (t.why) {
    case AnswerTtl::Why::health_cap: return base + " lowered by health: " + change;
    case AnswerTtl::Why::ttl_min: return base + " lowered by health to ttl_min " + std::to_string(s.ttl_min) + ": " + change;
    case AnswerTtl::Why::configured: break;
  }
  if (!s.ttl_follows_health) return base + " (ttl_follows_health is off)";
  if (t.seconds_to_change < 0) return base + " (no active check can change this answer's health)";
  if (t.seconds_to_change < static_cast<int64_t>(t.configured))
    return base + " (ttl_min " + std::to_string(s.ttl_min) + " keeps it: " + change + ")";
  return base + " (" + change + ")";
}

nlohmann::ordered_json record_json(const geo::GeoLookup& l) {
  nlohmann::ordered_json j;
  j["found"] = l.found;
  j["network_prefix"] = l.prefix_len;
  if (!l.found) return j;
  if (!l.record.continent.empty()) j["continent"] = l.record.continent;
  if (!l.record.country.empty()) j["country"] = l.record.country;
  if (!l.record.subdivision.empty()) j["subdivision"] = l.record.subdivision;
  if (!l.record.city.empty()) j["city"] = l.record.city;
  if (l.record.asn) j["asn"] = l.record.asn;
  if (l.record.has_location) j["location"] = {l.record.latitude, l.record.longitude};
  return j;
}

}  // namespace

std::string set_explain_client(ExplainRequest& req, const std::string& client, const std::string& ecs,
                               const EcsSettings& settings) {
  req.client_text = client;
  const auto address = util::IpAddress::parse(client);
  if (!address) return "client \"" + client + "\" is not an IP address";
  static_cast<util::IpAddress&>(req.client) = *address;
  if (ecs.empty()) return {};
  const auto slash = ecs.find('/');
  unsigned prefix = 0;
  const std::string len = slash == std::string::npos ? "" : ecs.substr(slash + 1);
  const auto [end, err] = std::from_chars(len.data(), len.data() + len.size(), prefix);
  const auto sent = slash == std::string::npos ? std::nullopt : util::IpAddress::parse(ecs.substr(0, slash));
  if (!sent || err != std::errc() || end != len.data() + len.size() || prefix > (sent->family == 4 ? 32u : 128u))
    return "ecs \"" + ecs + "\" is not ADDRESS/PREFIX";
  req.client = ecs_client(sent->family, sent->bytes(), prefix, settings);
  req.ecs_prefix = static_cast<int>(prefix);
  req.client_text = client + " with ECS " + ecs;
  return {};
}

nlohmann::ordered_json explain(const RoutingTable& table, const ExplainRequest& req) {
  const ServiceSet& set = table.services();
  const Service& s = set.services[static_cast<std::size_t>(req.service)];
  const CompiledService& c = table.compiled(req.service);
  const std::vector<ClientKey>& keys = set.keys[static_cast<std::size_t>(req.service)];
  nlohmann::ordered_json j;
  j["service"] = s.name;
  j["policy"] = policy_name(s.policy);
  j["client"] = req.client_text;
  // The address the tries look up: the IPv4 client an IPv6 address carries, if it does.
  const Ipv4InIpv6Form* form = nullptr;
  const RouteClient used = lookup_client(req.client, set.ecs, &form);
  j["address_used"] = used.to_string();
  if (form) j["ipv4_in_ipv6"] = std::string(form->name) + " " + req.client.to_string();
  j["source"] = req.ecs_prefix >= 0 ? "ecs/" + std::to_string(req.ecs_prefix) : "packet source";

  const KeyMatch m = match_address(keys, set.geo, used.family, used.address);
  if (set.geo.city) j["geoip"] = record_json(m.city);
  if (set.geo.asn) j["asn_db"] = record_json(m.asn);
  if (s.policy->explain_match) s.policy->explain_match(s, keys, m, j);

  uint8_t scope = 0;
  const Decision& d = table.decide(req.service, req.client, scope);
  // The class (preference) behind the decision, for the candidate list.
  const PrefixTrie::Result cls = s.trie.lookup(used.family, used.address);
  const Preference& pref = s.classes[cls.value];
  nlohmann::ordered_json candidates = nlohmann::ordered_json::array();
  for (std::size_t t = 0; t < pref.tiers.size(); ++t) {
    for (uint16_t r : pref.tiers[t].regions) {
      const Region& region = s.regions[r];
      const RegionState& rs = c.regions[r];
      nlohmann::ordered_json cand;
      cand["region"] = region.name;
      cand["rank"] = t + 1;
      cand["health"] = health::state_name(rs.status.state);
      if (!rs.status.reason.empty()) cand["reason"] = rs.status.reason;
      cand["weight"] = region.weight;
      if (s.policy->explain_candidate) s.policy->explain_candidate(s, m, r, cand);
      nlohmann::ordered_json eps = nlohmann::ordered_json::array();
      for (std::size_t e = 0; e < region.endpoints.size(); ++e)
        eps.push_back({{"address", region.endpoints[e].address_text},
                       {"health", health::state_name(rs.endpoints[e].state)},
                       {"source", health::source_name(rs.endpoints[e].source)}});
      cand["endpoints"] = eps;
      candidates.push_back(cand);
    }
  }
  j["candidates"] = candidates;
  nlohmann::ordered_json chosen = nlohmann::ordered_json::array();
  for (uint16_t r : d.regions) chosen.push_back(s.regions[r].name);
  j["chosen_regions"] = chosen;
  j["failover"] = d.failover;
  if (d.all_down) j["all_down"] = s.fail_open ? "failing open" : "answering NODATA (fail_open is false)";
  const AnswerTtl ttl = answer_ttl(s, d.failover, d.stability, req.now);
  j["ttl"] = ttl.ttl;
  j["ttl_reason"] = ttl_reason(s, d, ttl);
  j["answers"] = s.answers == 0 ? nlohmann::ordered_json("all") : nlohmann::ordered_json(s.answers);
  j["ecs_scope"] = req.ecs_prefix >= 0 ? scope : 0;
  j["decided_by_prefix"] = scope;
  return j;
}

std::vector<std::string> explain_lines(const nlohmann::ordered_json& r) {
  std::vector<std::string> lines;
  auto str = [](const nlohmann::ordered_json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  lines.push_back("service " + str(r["service"]) + " policy " + str(r["policy"]));
  lines.push_back("client " + str(r["client"]) + " -> address " + str(r["address_used"]) + " (" + str(r["source"]) +
                  (r.contains("ipv4_in_ipv6") ? ", IPv4 in " + str(r["ipv4_in_ipv6"]) : std::string()) + ")");
  if (r.contains("geoip")) lines.push_back("geoip " + r["geoip"].dump());
  if (r.contains("asn_db")) lines.push_back("asn " + r["asn_db"].dump());
  if (r.contains("matched_key")) lines.push_back("matched key " + str(r["matched_key"]));
  for (const auto& c : r["candidates"]) {
    std::ostringstream l;
    l << "candidate #" << c["rank"].get<int>() << ' ' << str(c["region"]) << ' ' << str(c["health"]);
    if (c.contains("reason")) l << " (" << str(c["reason"]) << ')';
    if (c.contains("rtt_ms")) l << " rtt=" << c["rtt_ms"].dump() << "ms";
    if (c.contains("distance_km")) l << " distance=" << c["distance_km"].dump() << "km";
    l << " weight=" << c["weight"].dump() << " endpoints";
    for (const auto& e : c["endpoints"]) l << ' ' << str(e["address"]) << '=' << str(e["health"]);
    lines.push_back(l.str());
  }
  std::string chosen;
  for (const auto& x : r["chosen_regions"]) {
    if (!chosen.empty()) chosen += ',';
    chosen += str(x);
  }
  lines.push_back("chosen " + (chosen.empty() ? std::string("(none)") : chosen) + (r["failover"].get<bool>() ? " (failover)" : "") +
                  " ttl=" + r["ttl"].dump() + " answers=" + str(r["answers"]) + " ecs_scope=" + r["ecs_scope"].dump());
  if (r.contains("all_down")) lines.push_back("all regions down: " + str(r["all_down"]));
  if (r.contains("ttl_reason")) lines.push_back("ttl " + r["ttl"].dump() + ": " + str(r["ttl_reason"]));
  return lines;
}

}  // namespace meridian::routing
