#include "runtime/zone_signing.hpp"

#include <algorithm>
#include <optional>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "dnssec/rrset_signer.hpp"
#include "util/log.hpp"

namespace meridian::runtime {

using util::log;
using util::LogLevel;

DnssecCounters& dnssec_counters() {
  static DnssecCounters counters;
  return counters;
}

std::shared_ptr<const zone::ZoneSignatures> ZoneSigning::sign_zone(const zone::Zone& z,
                                                                   const routing::ServiceSet* services, uint32_t now) {
  const auto service_types = [services](int index) {
    unsigned types = 0;
    if (!services || index < 0 || static_cast<std::size_t>(index) >= services->services.size()) return 3u;
    for (const routing::Region& region : services->services[static_cast<std::size_t>(index)].regions)
      for (const routing::Endpoint& e : region.endpoints) types |= e.ip.family == 4 ? 1u : 2u;
    return types;
  };
  std::string error;
  auto signatures = zone::ZoneSignatures::sign(z, now, error, service_types);
  if (!signatures) {
    log(LogLevel::error, "dnssec_error", {{"zone", dns::name_to_text(z.origin())}, {"error", error}});
    return nullptr;
  }
  {
    std::lock_guard lock(mutex_);
    signatures_made_ += signatures->signatures();
  }
  dnssec_counters().zone_signatures += signatures->signatures();
  log(LogLevel::info, "dnssec_signed",
      {{"zone", dns::name_to_text(z.origin())}, {"rrsets", std::to_string(signatures->rrsets())},
       {"signatures", std::to_string(signatures->signatures())},
       {"expiration", std::to_string(signatures->expiration())}});
  return signatures;
}

// Kept: the same zone version for the same services, not yet due for refresh, or
// due but left to the refresher while more than half of "refresh" remains.
bool ZoneSigning::usable(const zone::Zone& z, const Kept& kept, const routing::ServiceSet* services, uint32_t now) {
  const uint32_t margin = static_cast<uint32_t>(z.dnssec().refresh.count() / 2);
  return kept.zone.get() == &z && (!z.has_dynamic_names() || kept.services == services) &&
         (now < kept.signatures->refresh_at() || now + margin < kept.signatures->expiration());
}

void ZoneSigning::prepare(const zone::ZoneSet& zones, const routing::ServiceSet* services, uint32_t now,
                          const routing::RoutingTable* table) {
  std::vector<const zone::Zone*> to_sign;
  {
    std::lock_guard lock(mutex_);
    prepared_.clear();
    zones.for_each_zone([&](const zone::Zone& z) {
      if (!z.signed_zone()) return;
      if (const auto it = kept_.find(z.origin()); it == kept_.end() || !usable(z, it->second, services, now))
        to_sign.push_back(&z);
    });
  }
  std::unordered_map<std::string, Kept> made;
  AnswerMap answers;
  std::size_t answer_signatures = 0;
  for (const zone::Zone* z : to_sign) {
    Kept kept;
    kept.zone = zones.share_exact(z->origin());
    kept.services = services;
    kept.signatures = sign_zone(*z, services, now);
    if (!kept.signatures) continue;
    // Its new window makes every cached answer of z stale: all are signed here.
    if (table && &table->services() == services && z->has_dynamic_names())
      answer_signatures += sign_answers(*z, *kept.signatures, *table, answers);
    made.emplace(z->origin(), std::move(kept));
  }
  if (!answers.empty()) stash_presigned(std::move(answers), answer_signatures);
  std::lock_guard lock(mutex_);
  prepared_ = std::move(made);
}

std::vector<std::shared_ptr<const zone::ZoneSignatures>> ZoneSigning::for_zones(const zone::ZoneSet& zones,
                                                                                const routing::ServiceSet* services,
                                                                                uint32_t now) {
  std::unordered_map<std::string, Kept> next;
  std::vector<const zone::Zone*> to_sign;
  {
    std::lock_guard lock(mutex_);
    zones.for_each_zone([&](const zone::Zone& z) {
      if (!z.signed_zone()) return;
      if (const auto it = kept_.find(z.origin()); it != kept_.end() && usable(z, it->second, services, now)) {
        next.emplace(z.origin(), it->second);
      } else if (const auto p = prepared_.find(z.origin()); p != prepared_.end() && usable(z, p->second, services, now)) {
        next.emplace(z.origin(), std::move(p->second));  // signed by prepare(), before the state mutex was taken
        prepared_.erase(p);
      } else {
        to_sign.push_back(&z);
      }
    });
  }
  for (const zone::Zone* z : to_sign) {
    Kept kept;
    kept.zone = zones.share_exact(z->origin());
    kept.services = services;
    kept.signatures = sign_zone(*z, services, now);
    if (kept.signatures) next.emplace(z->origin(), std::move(kept));
  }
  std::vector<std::shared_ptr<const zone::ZoneSignatures>> out;
  std::lock_guard lock(mutex_);
  // A refresh that finished meanwhile for a zone kept as it was: its newer signatures.
  for (auto& [origin, kept] : next)
    if (const auto it = kept_.find(origin); it != kept_.end() && it->second.zone == kept.zone &&
                                            it->second.services == kept.services &&
                                            it->second.signatures->expiration() > kept.signatures->expiration())
      kept = it->second;
  kept_ = std::move(next);
  zones.for_each_zone([&](const zone::Zone& z) {
    const auto it = kept_.find(z.origin());
    if (it == kept_.end() || it->second.zone.get() != &z) return;
    if (out.size() <= z.index()) out.resize(z.index() + 1);
    out[z.index()] = it->second.signatures;
  });
  return out;
}

std::vector<ZoneSigning::RefreshJob> ZoneSigning::refresh_jobs(
    uint32_t now, const std::shared_ptr<const routing::ServiceSet>& services) const {
  std::vector<RefreshJob> jobs;
  std::lock_guard lock(mutex_);
  for (const auto& [origin, kept] : kept_)
    if (now >= kept.signatures->refresh_at() && (!kept.zone->has_dynamic_names() || kept.services == services.get()))
      jobs.push_back({kept.zone, services});
  return jobs;
}

bool ZoneSigning::refresh(const RefreshJob& job, uint32_t now) {
  auto signatures = sign_zone(*job.zone, job.services.get(), now);
  if (!signatures) return false;
  std::lock_guard lock(mutex_);
  const auto it = kept_.find(job.zone->origin());
  if (it == kept_.end() || it->second.zone != job.zone) return false;  // replaced by a reload meanwhile
  it->second.signatures = std::move(signatures);
  it->second.services = job.services.get();
  return true;
}

namespace {

// Every subset of `k` items of list (at most limit of them), each sorted by address.
void subsets(const std::vector<uint16_t>& list, std::size_t k, std::size_t limit,
             std::vector<std::vector<uint16_t>>& out) {
  const std::size_t n = list.size();
  if (k == 0 || k > n) return;
  std::vector<std::size_t> pick(k);
  for (std::size_t i = 0; i < k; ++i) pick[i] = i;
  while (out.size() < limit) {
    std::vector<uint16_t> subset;
    for (std::size_t i : pick) subset.push_back(list[i]);
    out.push_back(std::move(subset));
    std::size_t i = k;
    while (i > 0 && pick[i - 1] == n - k + i - 1) --i;
    if (i == 0) return;
    ++pick[i - 1];
    for (std::size_t j = i; j < k; ++j) pick[j] = pick[j - 1] + 1;
  }
}

// The n windows of `k` items of list (its i-th to (i + k - 1)-th, wrapping round):
// what a DO answer gives from a pool with too many subsets.
void windows(const std::vector<uint16_t>& list, std::size_t k, std::vector<std::vector<uint16_t>>& out) {
  for (std::size_t first = 0; first < list.size(); ++first) {
    std::vector<uint16_t> window;
    for (std::size_t i = 0; i < k; ++i) window.push_back(list[(first + i) % list.size()]);
    out.push_back(std::move(window));
  }
}

// Every answer `table` can give for z's dynamic names, per name, region and family:
// f(head, type, ttl, key, sorted addresses, identity) (a set may come more than
// once: under each identity routing can write it with).
template <typename F>
void for_each_answer_set(const zone::Zone& z, const routing::RoutingTable& table, F&& f) {
  z.for_each_node([&](const zone::NodeHead& head) {
    if (head.service_index < 0 || static_cast<std::size_t>(head.service_index) >= table.services().services.size())
      return;
    const routing::Service& service = table.services().services[static_cast<std::size_t>(head.service_index)];
    const routing::CompiledService& compiled = table.compiled(head.service_index);
    for (std::size_t r = 0; r < compiled.regions.size() && r < service.regions.size(); ++r) {
      const routing::RegionState& state = compiled.regions[r];
      const routing::Region& region = service.regions[r];
      for (const bool v4 : {true, false}) {
        const uint16_t type = v4 ? dns::type::A : dns::type::AAAA;
        const std::size_t length = v4 ? 4 : 16;
        for (const bool all_pool : {false, true}) {
          const std::vector<uint16_t>& list =
              all_pool ? (v4 ? state.all_v4 : state.all_v6) : (v4 ? state.healthy_v4 : state.healthy_v6);
          // Sets of positions in the pool (as routing writes them), then their endpoints.
          const std::size_t n = std::min(list.size(), zone::AnswerSignatures::kMaxAddresses);
          std::vector<uint16_t> pool(n);
          for (std::size_t i = 0; i < n; ++i) pool[i] = static_cast<uint16_t>(i);
          std::vector<std::vector<uint16_t>> sets;
          if (service.answers == 0 || service.answers >= n) sets.push_back(pool);
          else if (routing::windowed_answers(n, service.answers)) windows(pool, service.answers, sets);
          else subsets(pool, service.answers, routing::kMaxSignedSubsets, sets);
          for (const auto& set : sets) {
            if (set.empty()) continue;
            zone::AnswerSignatures::Identity id{&head, 0, static_cast<uint32_t>(r), all_pool, v4};
            std::vector<std::string> addresses;
            for (uint16_t position : set) {
              id.positions |= uint64_t{1} << position;
              addresses.emplace_back(reinterpret_cast<const char*>(region.endpoints[list[position]].ip.bytes()), length);
            }
            std::sort(addresses.begin(), addresses.end());
            std::string joined;
            for (const auto& a : addresses) joined += a;
            f(head, type, service.ttl, zone::AnswerSignatures::key(head.name(), type, joined), addresses, id);
          }
        }
      }
    }
  });
}

// The RRSIGs of one answer set, or nullopt (logged) when they cannot be made.
std::optional<zone::SignedRRset> sign_answer(const zone::Zone& z, const zone::ZoneSignatures& window,
                                             const zone::NodeHead& head, uint16_t type, uint32_t ttl, std::string key,
                                             const std::vector<std::string>& addresses) {
  std::vector<std::string_view> rdata(addresses.begin(), addresses.end());
  std::string error;
  const auto sigs = dnssec::sign_rrset(*z.dnssec().keys, {head.name(), type, ttl, rdata},
                                       {window.inception(), window.expiration()}, error);
  if (sigs.empty()) {
    log(LogLevel::error, "dnssec_error", {{"zone", dns::name_to_text(z.origin())}, {"error", error}});
    return std::nullopt;
  }
  zone::SignedRRset set;
  set.key = std::move(key);
  set.ttl = ttl;  // answers served with a lower TTL patch it in
  for (const std::string& sig : sigs) set.add_rrsig(sig);
  return set;
}

}  // namespace

std::shared_ptr<const zone::AnswerSignatures> ZoneSigning::answers_for(const zone::ZoneSet& zones,
                                                                       const routing::RoutingTable* table) {
  std::unique_lock lock(mutex_);
  if (!table || kept_.empty()) return nullptr;
  const std::unordered_map<std::string, Kept> kept_now = kept_;  // the refresher may replace entries meanwhile
  // Sets the refresher signed for a new window: cached from now on.
  for (auto& [key, presigned] : presigned_) answer_cache_[key] = std::move(presigned);
  presigned_.clear();
  answer_signatures_made_ += presigned_signatures_;
  presigned_signatures_ = 0;
  lock.unlock();
  ++builds_;
  auto out = std::make_shared<zone::AnswerSignatures>();
  std::unordered_map<std::string, const zone::SignedRRset*> added;  // by content key
  zones.for_each_zone([&](const zone::Zone& z) {
    const auto kept = kept_now.find(z.origin());
    if (kept == kept_now.end() || kept->second.zone.get() != &z || !z.has_dynamic_names()) return;
    const zone::ZoneSignatures& window = *kept->second.signatures;
    for_each_answer_set(z, *table, [&](const zone::NodeHead& head, uint16_t type, uint32_t ttl, std::string key,
                                       const std::vector<std::string>& addresses,
                                       const zone::AnswerSignatures::Identity& id) {
      if (const auto it = added.find(key); it != added.end()) {
        out->add_identity(id, it->second);  // the same set under another identity
        return;
      }
      CachedAnswer& cached = answer_cache_[key];
      if (cached.expiration == window.expiration()) {
        ++answer_cache_hits_;
        ++dnssec_counters().answer_cache_hits;
      } else {
        auto set = sign_answer(z, window, head, type, ttl, key, addresses);
        if (!set) {
          answer_cache_.erase(key);
          return;
        }
        cached.set = std::move(*set);
        cached.expiration = window.expiration();
        answer_signatures_made_ += cached.set.rrsig_count;
        publish_answer_signatures_ += cached.set.rrsig_count;
        dnssec_counters().answer_signatures += cached.set.rrsig_count;
        dnssec_counters().publish_answer_signatures += cached.set.rrsig_count;
      }
      cached.used = builds_;
      const zone::SignedRRset* set = out->add(cached.set);
      added.emplace(key, set);
      out->add_identity(id, set);
    });
  });
  // Bounded: past the limit, what this table does not need goes.
  if (answer_cache_.size() > kMaxCachedAnswers)
    std::erase_if(answer_cache_, [&](const auto& entry) { return entry.second.used != builds_; });
  out->build_index();
  dnssec_counters().answer_cache_entries = answer_cache_.size();
  return out;
}

std::size_t ZoneSigning::sign_answers(const zone::Zone& z, const zone::ZoneSignatures& window,
                                      const routing::RoutingTable& table, AnswerMap& made) {
  std::size_t signatures = 0;
  for_each_answer_set(z, table, [&](const zone::NodeHead& head, uint16_t type, uint32_t ttl, std::string key,
                                    const std::vector<std::string>& addresses, const zone::AnswerSignatures::Identity&) {
    if (made.size() >= kMaxCachedAnswers || made.count(key)) return;
    auto set = sign_answer(z, window, head, type, ttl, key, addresses);
    if (!set) return;
    signatures += set->rrsig_count;
    CachedAnswer& cached = made[key];
    cached.set = std::move(*set);
    cached.expiration = window.expiration();
  });
  return signatures;
}

void ZoneSigning::stash_presigned(AnswerMap made, std::size_t signatures) {
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, cached] : made) presigned_[key] = std::move(cached);
    presigned_signatures_ += signatures;
  }
  dnssec_counters().answer_signatures += signatures;
}

std::size_t ZoneSigning::presign_answers(const RefreshJob& job, const routing::RoutingTable& table) {
  std::shared_ptr<const zone::ZoneSignatures> window;
  {
    std::lock_guard lock(mutex_);
    const auto it = kept_.find(job.zone->origin());
    if (it == kept_.end() || it->second.zone != job.zone) return 0;
    window = it->second.signatures;
  }
  const zone::Zone& z = *job.zone;
  if (!z.has_dynamic_names() || &table.services() != job.services.get()) return 0;
  AnswerMap made;
  const std::size_t signatures = sign_answers(z, *window, table, made);
  const std::size_t sets = made.size();
  stash_presigned(std::move(made), signatures);
  return sets;
}

bool ZoneSigning::refresh_due(uint32_t now) const {
  std::lock_guard lock(mutex_);
  for (const auto& [origin, kept] : kept_)
    if (now >= kept.signatures->refresh_at()) return true;
  return false;
}

std::vector<SignedZoneStatus> ZoneSigning::status() const {
  std::lock_guard lock(mutex_);
  std::vector<SignedZoneStatus> out;
  for (const auto& [origin, kept] : kept_) {
    SignedZoneStatus s;
    s.origin = dns::name_to_text(origin);
    const auto& keys = *kept.zone->dnssec().keys;
    s.algorithm = dnssec::algorithm_name(kept.zone->dnssec().algorithm);
    for (const auto& k : keys.keys) s.keys.emplace_back(k.tag, !keys.has_zsk() ? "CSK" : k.ksk() ? "KSK" : "ZSK");
    s.inception = kept.signatures->inception();
    s.expiration = kept.signatures->expiration();
    s.refresh_at = kept.signatures->refresh_at();
    s.rrsets = kept.signatures->rrsets();
    s.signatures = kept.signatures->signatures();
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace meridian::runtime
