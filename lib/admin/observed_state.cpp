#include "admin/observed_state.hpp"

#include <optional>
#include <string>
#include <vector>

#include "admin/reload_report.hpp"
#include "dns/name.hpp"
#include "dnssec/keys.hpp"
#include "query/compact_denial.hpp"
#include "runtime/zone_signing.hpp"
#include "health/health_key.hpp"
#include "transfer/transfer_counters.hpp"
#include "util/prometheus_text.hpp"
#include "zone/rdata_codec.hpp"

namespace meridian::admin {

namespace {

const char* rcode_name(unsigned r) {
  static const char* const kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED"};
  if (r < 6) return kNames[r];
  if (r == 16) return "BADVERS";
  if (r == 23) return "BADCOOKIE";
  return nullptr;
}

// The compiler that built this binary, as "gcc 12.2.0" or "clang 16.0.6".
std::string compiler_text() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

// A health key's parts as labels: service, region and endpoint="ADDRESS" or
// backend="HOST:PORT"; a key that does not parse keeps its text as key="...".
class KeyLabels {
 public:
  explicit KeyLabels(const std::string& text) : key_(health::HealthKey::parse(text)), text_(text) {}
  // These labels followed by more (their values must outlive the call).
  std::vector<util::PrometheusText::Label> with(std::initializer_list<util::PrometheusText::Label> more) const {
    std::vector<util::PrometheusText::Label> labels;
    if (!key_) {
      labels.emplace_back("key", text_);
    } else {
      labels.emplace_back("service", key_->service());
      labels.emplace_back("region", key_->region_name());
      if (key_->kind() == health::HealthKey::Kind::endpoint) labels.emplace_back("endpoint", key_->address());
      if (key_->kind() == health::HealthKey::Kind::backend) labels.emplace_back("backend", key_->address());
    }
    labels.insert(labels.end(), more.begin(), more.end());
    return labels;
  }

 private:
  std::optional<health::HealthKey> key_;
  const std::string& text_;
};

}  // namespace

std::string render_metrics(const ObservedState& s) {
  util::PrometheusText m;
  m.family("meridian_dns_queries_total", "counter", "DNS queries received, by transport.");
  m.sample("meridian_dns_queries_total", {{"transport", "udp"}}, static_cast<double>(s.dns.queries[0]));
  m.sample("meridian_dns_queries_total", {{"transport", "tcp"}}, static_cast<double>(s.dns.queries[1]));
  m.family("meridian_dns_responses_total", "counter", "DNS responses sent, by rcode.");
  for (unsigned r = 0; r < 24; ++r) {
    const char* name = rcode_name(r);
    if (name) m.sample("meridian_dns_responses_total", {{"rcode", name}}, static_cast<double>(s.dns.rcodes[r]));
  }
  m.family("meridian_dns_truncated_total", "counter", "UDP responses truncated (TC=1).");
  m.sample("meridian_dns_truncated_total", {}, static_cast<double>(s.dns.truncated));
  m.family("meridian_dns_dropped_total", "counter", "Packets dropped without an answer (not a query, too short).");
  m.sample("meridian_dns_dropped_total", {}, static_cast<double>(s.dns.dropped));
  m.family("meridian_dns_tcp_refused_total", "counter",
           "TCP connections closed at accept, by the cap reached (dns.tcp.max_connections, max_per_client).");
  m.sample("meridian_dns_tcp_refused_total", {{"reason", "max_connections"}},
           static_cast<double>(s.tcp_refused_max_connections));
  m.sample("meridian_dns_tcp_refused_total", {{"reason", "max_per_client"}},
           static_cast<double>(s.tcp_refused_max_per_client));
  m.family("meridian_dns_cookies_total", "counter",
           "Queries with a COOKIE option, by what it held: a client cookie only, a valid server cookie, or one "
           "not valid (another secret or address, expired). BADCOOKIE answers: meridian_dns_responses_total.");
  for (const auto& [state, name] : {std::pair{cookies::CookieState::client_only, "client_only"},
                                    std::pair{cookies::CookieState::valid, "valid"},
                                    std::pair{cookies::CookieState::invalid, "invalid"}})
    m.sample("meridian_dns_cookies_total", {{"cookie", name}}, static_cast<double>(s.dns.cookies[static_cast<unsigned>(state)]));
  m.family("meridian_rrl_dropped_total", "counter", "UDP responses over the rate limit (dns.rrl) not sent.");
  m.sample("meridian_rrl_dropped_total", {}, static_cast<double>(s.dns.rrl[0]));
  m.family("meridian_rrl_slipped_total", "counter",
           "UDP responses over the rate limit (dns.rrl) sent slipped: truncated (TC=1), or BADCOOKIE to a cookie client.");
  m.sample("meridian_rrl_slipped_total", {}, static_cast<double>(s.dns.rrl[1]));
  m.family("meridian_rrl_log_only_total", "counter",
           "UDP responses over the rate limit sent unchanged because dns.rrl.log_only is true.");
  m.sample("meridian_rrl_log_only_total", {}, static_cast<double>(s.dns.rrl[2]));
  const transfer::TransferCounters& xfr = transfer::counters();
  m.family("meridian_transfers_total", "counter",
           "Zone transfer requests over TCP by type (AXFR, IXFR) and outcome: served (the whole zone), up_to_date "
           "(IXFR: the SOA alone), refused, not_authoritative, tsig_failed, formerr, busy (dns.tcp.max_transfers).");
  for (std::size_t t = 0; t < 2; ++t)
    for (std::size_t o = 0; o < transfer::kTransferOutcomes; ++o)
      m.sample("meridian_transfers_total", {{"qtype", t == 0 ? "AXFR" : "IXFR"}, {"outcome", transfer::kTransferOutcomeNames[o]}},
               static_cast<double>(xfr.transfers[t][o].load(std::memory_order_relaxed)));
  m.family("meridian_tsig_failures_total", "counter",
           "Signed requests (transfers and signed queries) whose TSIG failed, by TSIG error.");
  for (std::size_t e = 0; e < 3; ++e)
    m.sample("meridian_tsig_failures_total", {{"error", transfer::kTsigErrorNames[e]}},
             static_cast<double>(xfr.tsig_failures[e].load(std::memory_order_relaxed)));
  m.family("meridian_notify_sent_total", "counter", "NOTIFY messages sent to secondaries, resends included.");
  m.sample("meridian_notify_sent_total", {}, static_cast<double>(xfr.notify_sent.load(std::memory_order_relaxed)));
  m.family("meridian_notify_total", "counter",
           "NOTIFYs (one zone serial to one target) by outcome: acknowledged, or abandoned after the last resend.");
  m.sample("meridian_notify_total", {{"outcome", "acknowledged"}},
           static_cast<double>(xfr.notify_acknowledged.load(std::memory_order_relaxed)));
  m.sample("meridian_notify_total", {{"outcome", "abandoned"}},
           static_cast<double>(xfr.notify_abandoned.load(std::memory_order_relaxed)));
  m.family("meridian_dns_qtype_queries_total", "counter", "Answered queries by query type.");
  for (unsigned i = 0; i < net::kQtypeSlots; ++i) {
    const std::string t = i + 1 < net::kQtypeSlots ? zone::rr_type_name(net::kCountedQtypes[i]) : "other";
    m.sample("meridian_dns_qtype_queries_total", {{"qtype", t}}, static_cast<double>(s.dns.qtypes[i]));
  }
  m.family("meridian_dns_zone_queries_total", "counter", "Answered queries by zone (zone=\"\" for names outside every zone).");
  if (s.snapshot && s.snapshot->zones) {
    s.snapshot->zones->for_each_zone([&](const zone::Zone& z) {
      if (z.index() < net::kCountedZones)
        m.sample("meridian_dns_zone_queries_total", {{"zone", dns::name_to_text(z.origin())}},
                 static_cast<double>(s.dns.zone_queries[z.index()]));
    });
  }
  m.sample("meridian_dns_zone_queries_total", {{"zone", ""}}, static_cast<double>(s.dns.zone_queries[net::kCountedZones]));
  m.family("meridian_zone_serial", "gauge", "SOA serial of each zone served (a stale zone: of its last good version).");
  if (s.snapshot && s.snapshot->zones)
    s.snapshot->zones->for_each_zone([&](const zone::Zone& z) {
      m.sample("meridian_zone_serial", {{"zone", dns::name_to_text(z.origin())}}, static_cast<double>(z.serial()));
    });
  // Per zone file; zone="" when a file that does not load never said its origin.
  m.family("meridian_zone_loaded", "gauge", "1 when the zone file's current content is served, 0 when it does not load.");
  m.family("meridian_zone_stale", "gauge", "1 when the zone file does not load and its last good version is served.");
  m.family("meridian_zone_load_errors", "gauge", "Errors reported by the latest load of the zone file.");
  if (s.zone_reports) {
    for (const auto& r : *s.zone_reports) {
      const std::string zone = r.origin.empty() ? "" : dns::name_to_text(r.origin);
      m.sample("meridian_zone_loaded", {{"zone", zone}, {"file", r.file}}, r.state == zone::ZoneState::loaded ? 1 : 0);
      m.sample("meridian_zone_stale", {{"zone", zone}, {"file", r.file}}, r.state == zone::ZoneState::stale ? 1 : 0);
      m.sample("meridian_zone_load_errors", {{"zone", zone}, {"file", r.file}}, static_cast<double>(r.errors.size()));
    }
  }

  m.family("meridian_answers_total", "counter", "Dynamic answers by service and chosen region.");
  m.family("meridian_failovers_total", "counter", "Dynamic answers that were not the client's first choice.");
  m.family("meridian_region_up", "gauge", "1 when a region takes traffic.");
  if (s.snapshot && s.snapshot->routing) {
    const auto& services = s.snapshot->routing->services().services;
    for (std::size_t i = 0; i < services.size() && i < net::kCountedServices; ++i) {
      const auto& svc = services[i];
      for (std::size_t r = 0; r < svc.regions.size() && r < net::kCountedRegions; ++r) {
        m.sample("meridian_answers_total", {{"service", svc.name}, {"region", svc.regions[r].name}},
                 static_cast<double>(s.dns.answers[i][r]));
        m.sample("meridian_region_up", {{"service", svc.name}, {"region", svc.regions[r].name}},
                 s.snapshot->routing->compiled(static_cast<int>(i)).regions[r].up ? 1 : 0);
      }
      m.sample("meridian_failovers_total", {{"service", svc.name}}, static_cast<double>(s.dns.failovers[i]));
    }
  }
  m.family("meridian_health_up", "gauge",
           "1 when a checked endpoint or backend is up, by service, region, endpoint or backend, and source.");
  for (const auto& [key, e] : s.health)
    m.sample_with("meridian_health_up", KeyLabels(key).with({{"source", health::source_name(e.effective.source)}}),
                  e.effective.state == health::State::up ? 1 : 0);
  m.family("meridian_check_duration_seconds", "gauge", "Duration of the latest active check of an endpoint or backend.");
  for (const auto& [key, c] : s.checks)
    if (c.has_result) m.sample_with("meridian_check_duration_seconds", KeyLabels(key).with({}), c.last_duration_seconds);
  m.family("meridian_check_runs_total", "counter", "Active checks run, by endpoint or backend.");
  for (const auto& [key, c] : s.checks)
    m.sample_with("meridian_check_runs_total", KeyLabels(key).with({}), static_cast<double>(c.runs));
  m.family("meridian_check_failures_total", "counter", "Active checks that failed, by endpoint or backend.");
  for (const auto& [key, c] : s.checks)
    m.sample_with("meridian_check_failures_total", KeyLabels(key).with({}), static_cast<double>(c.failures));
  m.family("meridian_reloads_total", "counter", "Reload attempts (SIGHUP or file change).");
  m.sample("meridian_reloads_total", {}, static_cast<double>(s.reload.reloads));
  m.family("meridian_reload_failures_total", "counter", "Reloads and health file updates that were rejected.");
  m.sample("meridian_reload_failures_total", {}, static_cast<double>(s.reload.failures));
  m.family("meridian_last_reload_success", "gauge",
           "1 when the latest reload was accepted (zone files that did not load: meridian_zone_loaded).");
  m.sample("meridian_last_reload_success", {}, s.reload.last_ok ? 1 : 0);
  m.family("meridian_last_reload_duration_seconds", "gauge", "How long the latest published reload took.");
  m.sample("meridian_last_reload_duration_seconds", {}, s.reload.last_seconds);
  m.family("meridian_reload_duration_seconds", "histogram", "How long reloads took, accepted or rejected.");
  m.histogram("meridian_reload_duration_seconds", runtime::kReloadDurationBounds, s.reload.duration_buckets,
              s.reload.duration_sum);
  m.family("meridian_reload_last_success_timestamp_seconds", "gauge",
           "Unix time of the last load that was published (the one at start, then each accepted reload).");
  m.sample("meridian_reload_last_success_timestamp_seconds", {}, s.reload.last_success_unix_seconds);
  m.family("meridian_build_info", "gauge", "Always 1; the version of meridian and the compiler that built it.");
  m.sample("meridian_build_info", {{"version", MERIDIAN_VERSION}, {"compiler", compiler_text()}}, 1);
  // DNSSEC: signatures are made off the query path; these say how many and how often a cached one served.
  const runtime::DnssecCounters& dnssec = runtime::dnssec_counters();
  m.family("meridian_dnssec_signatures_made_total", "counter",
           "RRSIGs made since start: for zone RRsets and NSECs (kind=zone) or dynamic answers (kind=answer).");
  m.sample("meridian_dnssec_signatures_made_total", {{"kind", "zone"}}, dnssec.zone_signatures.load());
  m.sample("meridian_dnssec_signatures_made_total", {{"kind", "answer"}}, dnssec.answer_signatures.load());
  m.family("meridian_dnssec_publish_answer_signatures_total", "counter",
           "Of kind=answer, RRSIGs made while publishing a snapshot (state mutex held): only answer sets a health "
           "change brings that were never signed; reloads and refreshes sign theirs beforehand.");
  m.sample("meridian_dnssec_publish_answer_signatures_total", {}, dnssec.publish_answer_signatures.load());
  m.family("meridian_dnssec_answer_cache_hits_total", "counter",
           "Dynamic answers a new routing table needed whose signatures were cached (no signing).");
  m.sample("meridian_dnssec_answer_cache_hits_total", {}, dnssec.answer_cache_hits.load());
  m.family("meridian_dnssec_answer_cache_entries", "gauge", "Signed dynamic answers cached (bounded).");
  m.sample("meridian_dnssec_answer_cache_entries", {}, dnssec.answer_cache_entries.load());
  const query::CompactDenialCounters& compact = query::compact_denial_counters();
  m.family("meridian_dnssec_online_signatures_total", "counter",
           "RFC 9824 compact NSECs signed on DNS threads (a thread's cache did not have them), within "
           "dns.online_signatures_per_second.");
  m.sample("meridian_dnssec_online_signatures_total", {}, compact.signed_online.load());
  m.family("meridian_dnssec_online_over_budget_total", "counter",
           "Compact denials answered from the precomputed NSEC chain instead: not cached and over the signing budget.");
  m.sample("meridian_dnssec_online_over_budget_total", {}, compact.over_budget.load());
  m.family("meridian_dnssec_online_cache_entries", "gauge",
           "Signed compact NSECs held in the DNS threads' caches (8,192 per thread at most).");
  m.sample("meridian_dnssec_online_cache_entries", {}, compact.cached.load());
  // Cost follows the change: how many parts loads built anew, and how many they took over unchanged.
  m.family("meridian_load_parts_total", "counter",
           "Parts of the served state built by loads since start (outcome=built) or taken over unchanged (outcome=reused).");
  const runtime::BuildCounts& t = s.reload.total_built;
  const std::pair<const char*, std::pair<unsigned, unsigned>> parts[] = {
      {"zone", {t.zones_built, t.zones_reused}},
      {"service", {t.services_compiled, t.services_reused}},
      {"database", {t.databases_opened, t.databases_reused}},
      {"routing_table", {t.routing_tables_built, t.routing_tables_reused}}};
  for (const auto& [part, counts] : parts) {
    m.sample("meridian_load_parts_total", {{"part", part}, {"outcome", "built"}}, counts.first);
    m.sample("meridian_load_parts_total", {{"part", part}, {"outcome", "reused"}}, counts.second);
  }
  return m.render() + s.forward_metrics + s.cluster_metrics;
}

nlohmann::ordered_json render_status(const ObservedState& s) {
  nlohmann::ordered_json j;
  j["version"] = MERIDIAN_VERSION;
  j["ready"] = s.ready;
  nlohmann::ordered_json zones = nlohmann::ordered_json::array();
  if (s.zone_reports) {
    // Every zone file in load order, served or not.
    for (const auto& r : *s.zone_reports) {
      const zone::Zone* z = r.serving() && s.snapshot && s.snapshot->zones ? s.snapshot->zones->find_exact(r.origin) : nullptr;
      nlohmann::ordered_json entry;
      entry["zone"] = r.origin.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(dns::name_to_text(r.origin));
      entry["serial"] = z ? nlohmann::ordered_json(z->serial()) : nlohmann::ordered_json();
      entry["file"] = r.file;
      entry["names"] = z ? z->node_count() : 0;
      entry["state"] = zone::zone_state_name(r.state);
      entry["error"] = r.errors.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(r.errors.front().to_string());
      entry["errors"] = r.errors.size();
      zones.push_back(std::move(entry));
    }
  } else if (s.snapshot && s.snapshot->zones) {
    s.snapshot->zones->for_each_zone([&](const zone::Zone& z) {
      zones.push_back({{"zone", dns::name_to_text(z.origin())}, {"serial", z.serial()}, {"file", z.source()},
                       {"names", z.node_count()}, {"state", "loaded"}, {"error", nullptr}, {"errors", 0}});
    });
  }
  j["zones"] = zones;
  // Signed zones: keys, tags, the signature expiry horizon, the dynamic answers signed.
  nlohmann::ordered_json signed_zones = nlohmann::ordered_json::array();
  if (s.snapshot && s.snapshot->zones) {
    s.snapshot->zones->for_each_zone([&](const zone::Zone& z) {
      const zone::ZoneSignatures* sigs = s.snapshot->signatures_for(z);
      if (!z.signed_zone() || !sigs) return;
      nlohmann::ordered_json keys = nlohmann::ordered_json::array();
      const dnssec::KeySet& set = *z.dnssec().keys;
      for (const auto& k : set.keys)
        keys.push_back({{"tag", k.tag}, {"role", !set.has_zsk() ? "CSK" : k.ksk() ? "KSK" : "ZSK"},
                        {"algorithm", dnssec::algorithm_name(k.algorithm)}, {"file", k.file}});
      signed_zones.push_back({{"zone", dns::name_to_text(z.origin())}, {"keys", keys},
                              {"inception", sigs->inception()}, {"expiration", sigs->expiration()},
                              {"refresh_at", sigs->refresh_at()}, {"rrsets_signed", sigs->rrsets()},
                              {"signatures", sigs->signatures()},
                              {"denial", z.dnssec().compact_denial ? "compact" : "nsec"}});
    });
  }
  j["dnssec"] = {{"zones", signed_zones},
                 {"answer_signatures", s.snapshot && s.snapshot->answer_signatures ? s.snapshot->answer_signatures->size() : 0},
                 {"answer_cache_entries", runtime::dnssec_counters().answer_cache_entries.load()},
                 {"compact_denial", {{"online_signatures_per_second", s.snapshot ? s.snapshot->online_signatures_per_second : 0},
                                     {"signed", query::compact_denial_counters().signed_online.load()},
                                     {"over_budget", query::compact_denial_counters().over_budget.load()},
                                     {"cache_entries", query::compact_denial_counters().cached.load()},
                                     {"cache_slots_per_thread", query::CompactDenialCache::kSlots}}}};
  nlohmann::ordered_json services = nlohmann::ordered_json::array();
  if (s.snapshot && s.snapshot->routing) {
    const auto& list = s.snapshot->routing->services().services;
    for (std::size_t i = 0; i < list.size(); ++i) {
      const auto& svc = list[i];
      const auto& compiled = s.snapshot->routing->compiled(static_cast<int>(i));
      nlohmann::ordered_json regions = nlohmann::ordered_json::array();
      for (std::size_t r = 0; r < svc.regions.size(); ++r) {
        const auto& rs = compiled.regions[r];
        nlohmann::ordered_json endpoints = nlohmann::ordered_json::array();
        // Who decided (override, cluster or local): a region forced by an override, else
        // the cluster when it decided any endpoint.
        std::string region_decided_by = health::decided_by(rs.status.source);
        for (std::size_t e = 0; e < svc.regions[r].endpoints.size(); ++e) {
          endpoints.push_back({{"address", svc.regions[r].endpoints[e].address_text},
                               {"state", health::state_name(rs.endpoints[e].state)},
                               {"source", health::source_name(rs.endpoints[e].source)},
                               {"decided_by", health::decided_by(rs.endpoints[e].source)},
                               {"reason", rs.endpoints[e].reason}});
          if (region_decided_by == "local" && rs.endpoints[e].source == health::Source::cluster)
            region_decided_by = "cluster";
        }
        regions.push_back({{"region", svc.regions[r].name}, {"up", rs.up}, {"reason", rs.status.reason},
                           {"source", health::source_name(rs.status.source)},
                           {"decided_by", region_decided_by}, {"endpoints", endpoints}});
      }
      services.push_back({{"service", svc.name}, {"policy", routing::policy_name(svc.policy)}, {"ttl", svc.ttl},
                          {"failover_ttl", svc.failover_ttl}, {"regions", regions}});
    }
  }
  j["services"] = services;
  nlohmann::ordered_json health = nlohmann::ordered_json::object();
  for (const auto& [key, e] : s.health) {
    nlohmann::ordered_json h;
    h["state"] = health::state_name(e.effective.state);
    h["source"] = health::source_name(e.effective.source);
    h["reason"] = e.effective.reason;
    h["since"] = std::chrono::duration_cast<std::chrono::seconds>(e.since.time_since_epoch()).count();
    health[key] = h;
  }
  j["health"] = health;
  nlohmann::ordered_json overrides = nlohmann::ordered_json::object();
  for (const auto& [key, o] : s.overrides)
    overrides[key] = {{"state", o.mode == health::Override::up ? "up" : o.mode == health::Override::down ? "down" : "auto"},
                      {"reason", o.reason}, {"file", o.file}};
  j["overrides"] = overrides;
  const runtime::BuildCounts& b = s.reload.last_built;
  j["reload"] = {{"reloads", s.reload.reloads}, {"failures", s.reload.failures}, {"last_ok", s.reload.last_ok},
                 {"last_error", s.reload.last_error},
                 {"last_seconds", s.reload.last_seconds},
                 {"last_success_unix_seconds", s.reload.last_success_unix_seconds},
                 {"last_built", build_counts_json(b)}};
  if (s.snapshot) {
    const cookies::CookiePolicy& c = s.snapshot->cookies;
    j["cookies"] = {{"enabled", c.enabled}, {"require", c.require},
                    {"secret", !c.enabled ? "" : c.random_secret ? "random" : "file"},
                    {"previous_secret", c.secrets.has_previous}};
  }
  if (s.snapshot) {
    nlohmann::ordered_json rrl{{"enabled", s.snapshot->rrl != nullptr}};
    if (const rrl::Policy* p = s.snapshot->rrl.get()) {
      nlohmann::ordered_json exempt = nlohmann::ordered_json::array();
      for (const auto& net : p->exempt) exempt.push_back(net.to_string() + "/" + std::to_string(net.prefix_len));
      rrl["responses_per_second"] = p->rate[static_cast<unsigned>(rrl::Category::answer)];
      rrl["nxdomains_per_second"] = p->rate[static_cast<unsigned>(rrl::Category::nxdomain)];
      rrl["errors_per_second"] = p->rate[static_cast<unsigned>(rrl::Category::error)];
      rrl["window"] = p->window;
      rrl["slip"] = p->slip;
      rrl["ipv4_prefix"] = p->ipv4_prefix;
      rrl["ipv6_prefix"] = p->ipv6_prefix;
      rrl["exempt"] = exempt;
      rrl["log_only"] = p->log_only;
      rrl["table_size"] = p->table_size;
    }
    rrl["dropped"] = s.dns.rrl[0];
    rrl["slipped"] = s.dns.rrl[1];
    rrl["log_only_limited"] = s.dns.rrl[2];
    j["rrl"] = rrl;
  }
  if (!s.forward_status.is_null()) j["forwarding"] = s.forward_status;
  if (!s.cluster_status.is_null()) j["cluster"] = s.cluster_status;
  return j;
}

}  // namespace meridian::admin
