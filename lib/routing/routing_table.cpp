#include "routing/routing_table.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "dns/constants.hpp"
#include "routing/answer_ttl.hpp"

namespace meridian::routing {

namespace {

// Per-thread xorshift: cheap, lock-free randomness for weighted picks.
uint64_t next_random() {
  thread_local uint64_t state = [] {
    std::random_device rd;
    uint64_t s = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return s ? s : 0x9E3779B97F4A7C15ull;
  }();
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

// Index into a cumulative-weight list chosen in proportion to the weights.
std::size_t pick(const uint32_t* cumulative, std::size_t n) {
  const uint32_t total = cumulative[n - 1];
  if (total == 0) return next_random() % n;
  const uint32_t x = static_cast<uint32_t>(next_random() % total);
  return static_cast<std::size_t>(std::upper_bound(cumulative, cumulative + n, x) - cumulative);
}

// Targets whose changes could flip a region, with when each can next change.
struct Changeable {
  health::Stability stability;
  std::string what;
};

// The region flips once k of these have changed: a bound from the k-th earliest
// `until` and the k-th smallest floor (each at least the k-th of the whole).
void kth_change(std::vector<Changeable> items, std::size_t k, RegionState& st) {
  if (k == 0 || k > items.size()) return;  // cannot flip: stays forever
  std::sort(items.begin(), items.end(),
            [](const Changeable& a, const Changeable& b) { return a.stability.until < b.stability.until; });
  st.status.stability.until = items[k - 1].stability.until;
  st.stability_from = items[k - 1].what;
  std::vector<health::Stability::Clock::duration> floors;
  for (const auto& i : items) floors.push_back(i.stability.at_least);
  std::nth_element(floors.begin(), floors.begin() + static_cast<std::ptrdiff_t>(k - 1), floors.end());
  st.status.stability.at_least = floors[k - 1];
}

// Accumulates the earliest change over everything a decision depends on.
struct EarliestChange {
  health::Stability stability;
  std::string from;
  template <typename Name>
  void add(const health::Stability& s, Name&& name) {  // name() only for a new earliest
    if (!s.expires()) return;
    if (!stability.expires() || s.until < stability.until) from = name();
    stability = health::Stability::earliest(stability, s);
  }
};

RegionState region_state(const Service& s, std::size_t r, const health::HealthView& health) {
  const Region& region = s.regions[r];
  RegionState st;
  uint32_t w4 = 0, w6 = 0;
  for (std::size_t e = 0; e < region.endpoints.size(); ++e) {
    const Endpoint& ep = region.endpoints[e];
    health::Status es = health.endpoint(s.name, region.name, ep.address_text);
    st.endpoints.push_back(es);
    if (es.state != health::State::up) continue;
    if (ep.ip.family == 4) {
      st.healthy_v4.push_back(static_cast<uint16_t>(e));
      st.weights_v4.push_back(w4 += ep.weight);
    } else {
      st.healthy_v6.push_back(static_cast<uint16_t>(e));
      st.weights_v6.push_back(w6 += ep.weight);
    }
  }
  health::Status forced;
  if (health.region_forced(s.name, region.name, forced)) {
    st.status = forced;
    st.up = forced.state == health::State::up;
  } else if (!region.backends.empty()) {
    // Behind a forwarder the region is up while enough backends are.
    std::size_t up = 0;
    std::string last_reason;
    std::vector<Changeable> up_side, down_side;
    for (const Backend& b : region.backends) {
      const health::Status bs = health.status(region.backend_key(s.name, b));
      (bs.state == health::State::up ? up_side : down_side).push_back({bs.stability, "backend " + b.address});
      if (bs.state == health::State::up) ++up;
      else last_reason = b.address + ": " + bs.reason;
    }
    const unsigned need = region.min_healthy.required(region.backends.size());
    st.up = up >= need;
    // Up: it goes down once up - need + 1 backends fail; down: once need - up recover.
    if (st.up) kth_change(std::move(up_side), up - need + 1, st);
    else kth_change(std::move(down_side), need - up, st);
    st.status.state = st.up ? health::State::up : health::State::down;
    st.status.source = health::Source::check;
    st.status.reason = std::to_string(up) + "/" + std::to_string(region.backends.size()) + " backends up (need " +
                       std::to_string(need) + ")" + (st.up || last_reason.empty() ? "" : "; " + last_reason);
  } else {
    st.up = !st.healthy_v4.empty() || !st.healthy_v6.empty();
    st.status.state = st.up ? health::State::up : health::State::down;
    st.status.source = health::Source::check;
    st.status.reason = st.up ? "" : "no endpoint is up";
    // Up while any endpoint is: down once all of them fail; up once one recovers.
    std::vector<Changeable> up_side, down_side;
    for (std::size_t e = 0; e < region.endpoints.size(); ++e)
      (st.endpoints[e].state == health::State::up ? up_side : down_side)
          .push_back({st.endpoints[e].stability, "endpoint " + region.endpoints[e].address_text});
    if (st.up) kth_change(up_side, up_side.size(), st);
    else kth_change(down_side, 1, st);
  }
  for (std::size_t e = 0; e < region.endpoints.size(); ++e) {
    const Endpoint& ep = region.endpoints[e];
    auto& idx = ep.ip.family == 4 ? st.all_v4 : st.all_v6;
    auto& wts = ep.ip.family == 4 ? st.all_weights_v4 : st.all_weights_v6;
    idx.push_back(static_cast<uint16_t>(e));
    wts.push_back((wts.empty() ? 0 : wts.back()) + ep.weight);
  }
  // A region forced up with no healthy endpoint answers with all of them.
  if (st.up && st.healthy_v4.empty() && st.healthy_v6.empty()) {
    st.healthy_v4 = st.all_v4;
    st.healthy_v6 = st.all_v6;
    st.weights_v4 = st.all_weights_v4;
    st.weights_v6 = st.all_weights_v6;
  }
  return st;
}

// Weights are scaled so a ramping region's share can grow in small steps.
constexpr uint32_t kWeightScale = 100;

// What a decision depends on: every region of the tiers up to the one chosen
// (one of them changing changes the choice), and the endpoints of the chosen ones.
void add_stability(const Service& s, const Preference& p, std::size_t last_tier, const std::vector<RegionState>& regions,
                   Decision& d) {
  EarliestChange change;
  for (std::size_t t = 0; t <= last_tier && t < p.tiers.size(); ++t)
    for (uint16_t r : p.tiers[t].regions)
      change.add(regions[r].status.stability, [&] {
        const std::string& via = regions[r].stability_from;
        return "region " + s.regions[r].name + (via.empty() ? "" : " (" + via + ")");
      });
  if (!d.all_down)
    for (uint16_t r : d.regions)
      for (std::size_t e = 0; e < s.regions[r].endpoints.size(); ++e)
        change.add(regions[r].endpoints[e].stability,
                   [&] { return "region " + s.regions[r].name + " endpoint " + s.regions[r].endpoints[e].address_text; });
  d.stability = change.stability;
  d.stability_from = std::move(change.from);
}

Decision decide_class(const Service& s, const Preference& p, const std::vector<RegionState>& regions,
                      const std::vector<double>& ramp, int skip_region = -1) {
  Decision d;
  for (std::size_t t = 0; t < p.tiers.size(); ++t) {
    uint32_t total = 0;
    bool degraded = false;
    const bool shared_tier = p.tiers[t].regions.size() > 1;
    for (uint16_t r : p.tiers[t].regions) {
      if (!regions[r].up || static_cast<int>(r) == skip_region) {
        degraded = true;
        continue;
      }
      // In a tier shared by weight, a recovering region's weight ramps up.
      const double share = shared_tier ? ramp[r] : 1.0;
      const auto weight = static_cast<uint32_t>(s.regions[r].weight * kWeightScale * share);
      if (weight == 0 && share < 1.0) continue;  // just back: not taking traffic yet
      d.regions.push_back(r);
      d.weights.push_back(total += weight);
    }
    if (!d.regions.empty()) {
      d.failover = t > 0 || degraded;
      add_stability(s, p, t, regions, d);
      return d;
    }
  }
  // Everything is down: any region coming back changes the answer.
  d.all_down = true;
  d.failover = true;
  add_stability(s, p, p.tiers.size(), regions, d);
  if (!s.fail_open || p.tiers.empty()) {
    d.nodata = true;
    return d;
  }
  uint32_t total = 0;
  for (uint16_t r : p.tiers.front().regions) {
    d.regions.push_back(r);
    d.weights.push_back(total += s.regions[r].weight * kWeightScale);
  }
  return d;
}

// 32-bit mix of the client's prefix (ECS cap length), stable across queries, so
// each client moves to a recovering region once.
uint32_t prefix_hash(const RouteClient& c, const EcsSettings& ecs) {
  const unsigned bits = c.family == 4 ? ecs.max_prefix_v4 : ecs.max_prefix_v6;
  uint64_t h = 0xcbf29ce484222325ull ^ static_cast<uint64_t>(c.family);
  for (unsigned i = 0; i < (bits + 7) / 8; ++i) {
    uint8_t byte = c.address[i];
    if (i == bits / 8 && bits % 8) byte &= static_cast<uint8_t>(0xFF << (8 - bits % 8));
    h = (h ^ byte) * 0x100000001b3ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return static_cast<uint32_t>(h);
}

bool same_decision(const Decision& a, const Decision& b) {
  return a.regions == b.regions && a.weights == b.weights && a.failover == b.failover && a.nodata == b.nodata &&
         a.all_down == b.all_down && a.ramping == b.ramping && a.ramp_threshold == b.ramp_threshold &&
         a.held_back == b.held_back;
}

// Clears every bit of address past `bits`: the partial byte, then whole bytes.
void clear_after(uint8_t* address, unsigned bits, unsigned bytes) {
  if (bits % 8) address[bits / 8] &= static_cast<uint8_t>(0xFF00u >> (bits % 8));
  const unsigned first_clear = (bits + 7) / 8;
  if (first_clear < bytes) std::memset(address + first_clear, 0, bytes - first_clear);
}

}  // namespace

RouteClient ecs_client(int family, const uint8_t* address, unsigned source_prefix, const EcsSettings& ecs) {
  RouteClient c;
  c.from_ecs = true;
  c.family = static_cast<uint8_t>(family);
  if (family == 4) {
    const unsigned bits = source_prefix < ecs.max_prefix_v4 ? source_prefix : ecs.max_prefix_v4;
    c.bits = static_cast<uint8_t>(bits);
    std::memcpy(c.address, address, 4);
    clear_after(c.address, bits, 4);
    return c;
  }
  // IPv6: the scope is placed around the address as sent (see decide()).
  std::memcpy(c.sent, address, 16);
  clear_after(c.sent, source_prefix, 16);
  unsigned cap = ecs.max_prefix_v6;
  // A prefix in a form carrying an IPv4 client (e.g. family 2, ::ffff:a.b.c.d/96+n)
  // is that IPv4 client: the IPv4 cap applies to the IPv4 bits.
  if (const Ipv4InIpv6Form* form = ipv4_in_ipv6_form(c.sent, ecs.ipv4_in_ipv6)) cap = form->v4_at + ecs.max_prefix_v4;
  const unsigned bits = source_prefix < cap ? source_prefix : cap;
  c.bits = static_cast<uint8_t>(bits);
  std::memcpy(c.address, c.sent, 16);
  clear_after(c.address, bits, 16);
  return c;
}

namespace {

// The IPv4 client that an IPv6 client in `form` carries.
RouteClient embedded_client(const RouteClient& client, const Ipv4InIpv6Form* form) {
  RouteClient v4;
  v4.family = 4;
  v4.from_ecs = client.from_ecs;
  embedded_ipv4(*form, client.address, v4.address);
  v4.bits = static_cast<uint8_t>(client.bits <= form->v4_at ? 0u : std::min(unsigned{client.bits} - form->v4_at, 32u));
  return v4;
}

}  // namespace

RouteClient lookup_client(const RouteClient& client, const EcsSettings& ecs, const Ipv4InIpv6Form** form_out) {
  const Ipv4InIpv6Form* form = client.family == 6 ? ipv4_in_ipv6_form(client.address, ecs.ipv4_in_ipv6) : nullptr;
  if (form_out) *form_out = form;
  return form ? embedded_client(client, form) : client;
}

RoutingTable::RoutingTable(std::shared_ptr<const ServiceSet> services, const health::HealthView& health,
                           const RampShares& ramps, const RoutingTable* previous)
    : services_(std::move(services)) {
  if (previous && previous->services_ != services_) previous = nullptr;  // slots of another set
  for (const Service& s : services_->services) {
    CompiledService c;
    c.ramp.assign(s.regions.size(), 1.0);
    std::vector<double>& ramp = c.ramp;
    for (std::size_t r = 0; r < s.regions.size(); ++r) {
      c.regions.push_back(region_state(s, r, health));
      if (const auto it = ramps.find(s.regions[r].key(s.name).to_string()); it != ramps.end() && c.regions[r].up)
        ramp[r] = std::clamp(it->second, 0.0, 1.0);
    }
    // Same regions' health, same ramps: the same decisions and tries as before.
    if (previous) {
      const CompiledService& before = previous->compiled_[compiled_.size()];
      if (before.regions == c.regions && before.ramp == c.ramp) {
        compiled_.push_back(before);
        ++taken_over_;
        continue;
      }
    }
    // Classes with the same decision share it (shorter ECS scopes); it keeps the
    // earliest change of any of them, so no TTL outlives its own class's health.
    auto intern = [&c](Decision d) {
      std::size_t i = 0;
      while (i < c.decisions.size() && !same_decision(c.decisions[i], d)) ++i;
      if (i == c.decisions.size()) {
        c.decisions.push_back(std::move(d));
      } else {
        Decision& kept = c.decisions[i];
        EarliestChange merged{kept.stability, kept.stability_from};
        merged.add(d.stability, [&] { return d.stability_from; });
        kept.stability = merged.stability;
        kept.stability_from = std::move(merged.from);
      }
      return static_cast<uint32_t>(i);
    };
    for (const Preference& p : s.classes) {
      Decision d = decide_class(s, p, c.regions, ramp);
      // A sole chosen region still ramping takes only part of its clients.
      if (d.regions.size() == 1 && !d.all_down && ramp[d.regions[0]] < 1.0) {
        Decision held = decide_class(s, p, c.regions, ramp, d.regions[0]);
        held.failover = true;
        d.ramping = true;
        d.ramp_threshold = static_cast<uint32_t>(ramp[d.regions[0]] * 4294967295.0);
        d.held_back = intern(std::move(held));
      }
      c.class_decision.push_back(intern(std::move(d)));
    }
    // Classes that now lead to the same decision merge: shorter scopes.
    c.trie = s.trie.remap(c.class_decision);
    compiled_.push_back(std::move(c));
  }
}

const Decision& RoutingTable::decide(int service, const RouteClient& client, uint8_t& scope) const {
  if (client.family == 4) return decide_in_trie(service, client, scope);
  const EcsSettings& ecs = services_->ecs;
  // An IPv6 client that carries an IPv4 client (::ffff:a.b.c.d, 2002:a.b.c.d::, ...)
  // is that IPv4 client: IPv4 `net:` keys and the IPv4 trie decide, and the scope
  // is the bits before the IPv4 address plus the IPv4 scope.
  const Ipv4InIpv6Form* form = ipv4_in_ipv6_form(client.address, ecs.ipv4_in_ipv6);
  const Decision& d = form ? decide_in_trie(service, embedded_client(client, form), scope) : decide_in_trie(service, client, scope);
  unsigned s = form ? form->v4_at + scope : scope;
  // The scope's network (around the address the client sent) must not hold clients
  // of a form it is not in: they are routed by the IPv4 address they carry.
  s = scope_outside_forms(client.from_ecs ? client.sent : client.address, s, ecs.ipv4_in_ipv6);
  scope = static_cast<uint8_t>(s);
  return d;
}

const Decision& RoutingTable::decide_in_trie(int service, const RouteClient& client, uint8_t& scope) const {
  const EcsSettings& ecs = services_->ecs;
  const CompiledService& c = compiled_[static_cast<std::size_t>(service)];
  const PrefixTrie::Result hit = c.trie.lookup(client.family, client.address);
  const Decision& d = c.decisions[hit.value];
  const unsigned cap = client.family == 4 ? ecs.max_prefix_v4 : ecs.max_prefix_v6;
  // Every address of the leaf that decided gets this decision, so its prefix is the
  // scope, also when it is longer than the client's prefix: the resolver then asks
  // again with more bits (RFC 7871 7.2.1).
  unsigned s = hit.depth;
  // In slow start a hash of the client's first `cap` bits picks between two decisions.
  if (d.ramping && s < cap) s = cap;
  // ECS bits past the cap are cleared, so they never decide.
  if (client.from_ecs && s > cap) s = cap;
  scope = static_cast<uint8_t>(s);
  if (!d.ramping) return d;
  return prefix_hash(client, ecs) <= d.ramp_threshold ? d : c.decisions[d.held_back];
}

bool windowed_answers(std::size_t n, std::size_t k) {
  if (k == 0 || k >= n) return false;
  k = std::min(k, n - k);
  // C(n - k + i, i) for i = 1..k: each step exact, and growing.
  uint64_t c = 1;
  for (std::size_t i = 1; i <= k; ++i) {
    c = c * (n - k + i) / i;
    if (c > kMaxSignedSubsets) return true;
  }
  return false;
}

RouteResult RoutingTable::answer(int service, uint16_t qtype, const RouteClient& client, dns::MessageWriter& w,
                                 std::string_view owner, health::Stability::Clock::time_point now,
                                 uint16_t owner_ptr, bool signed_answer) const {
  const Service& s = services_->services[static_cast<std::size_t>(service)];
  const CompiledService& c = compiled_[static_cast<std::size_t>(service)];
  RouteResult result;
  const Decision& d = decide(service, client, result.scope);
  result.ttl = answer_ttl(s, d.failover, d.stability, now).ttl;
  result.failover = d.failover;
  if (d.nodata || d.regions.empty()) {
    result.nodata = true;
    return result;
  }
  const std::size_t chosen = d.regions.size() == 1 ? 0 : pick(d.weights.data(), d.weights.size());
  const uint16_t region = d.regions[chosen];
  result.region = region;
  const RegionState& rs = c.regions[region];
  const bool v4 = qtype == dns::type::A;
  // Failing open (every region down) answers with all of the region's endpoints.
  const std::vector<uint16_t>& healthy =
      d.all_down ? (v4 ? rs.all_v4 : rs.all_v6) : (v4 ? rs.healthy_v4 : rs.healthy_v6);
  const std::vector<uint32_t>& weights =
      d.all_down ? (v4 ? rs.all_weights_v4 : rs.all_weights_v6) : (v4 ? rs.weights_v4 : rs.weights_v6);
  if (healthy.empty()) {
    result.nodata = true;
    return result;
  }
  const Region& reg = s.regions[region];
  const uint16_t rrtype = v4 ? dns::type::A : dns::type::AAAA;
  const std::size_t addr_len = v4 ? 4 : 16;

  // Every record's owner (as a pointer, when the message holds it), type, class, TTL
  // and rdlength are the same.
  uint8_t head[12];
  dns::write_u16(head, static_cast<uint16_t>(0xC000 | owner_ptr));
  dns::write_u16(head + 2, rrtype);
  dns::write_u16(head + 4, dns::klass::IN);
  dns::write_u32(head + 6, result.ttl);
  dns::write_u16(head + 10, static_cast<uint16_t>(addr_len));
  // One record; false (and nothing written) when it does not fit.
  result.all_pool = d.all_down;
  auto put_record = [&](const Endpoint& ep, std::size_t position) {
    const auto mark = w.mark();
    const bool owner_ok = owner_ptr ? w.put_bytes(head, 2) : w.put_name(owner);
    if (!(owner_ok && w.put_bytes(head + 2, sizeof head - 2) && w.put_bytes(ep.ip.bytes(), addr_len))) {
      w.rollback(mark);
      return false;
    }
    w.count(dns::Section::answer);
    ++result.records;
    result.positions |= uint64_t{1} << position;
    return true;
  };

  constexpr std::size_t kMaxPool = 64;
  std::size_t n = std::min(healthy.size(), kMaxPool);
  if (s.answers == 0) {
    // All of them, as listed: nothing to draw.
    for (std::size_t i = 0; i < n && put_record(reg.endpoints[healthy[i]], i); ++i) {
    }
    return result;
  }

  const std::size_t want = std::min<std::size_t>(s.answers, n);
  if (signed_answer && windowed_answers(n, want)) {
    // A window of the pool (one of n sets signed with the table): the first by weight.
    const std::size_t first = pick(weights.data(), n);
    for (std::size_t k = 0; k < want && put_record(reg.endpoints[healthy[(first + k) % n]], (first + k) % n); ++k) {
    }
    return result;
  }
  // Up to `answers` distinct endpoints, each drawn by weight from those left.
  uint16_t pool[kMaxPool];
  uint8_t position[kMaxPool];
  uint32_t own[kMaxPool];
  for (std::size_t i = 0; i < n; ++i) {
    pool[i] = healthy[i];
    position[i] = static_cast<uint8_t>(i);
    own[i] = weights[i] - (i ? weights[i - 1] : 0);
  }
  for (std::size_t k = 0; k < want; ++k) {
    std::size_t idx = 0;
    if (n > 1) {
      uint32_t cumulative[kMaxPool];
      uint32_t total = 0;
      for (std::size_t i = 0; i < n; ++i) cumulative[i] = total += own[i];
      idx = pick(cumulative, n);
    }
    if (!put_record(reg.endpoints[pool[idx]], position[idx])) break;
    pool[idx] = pool[n - 1];
    position[idx] = position[n - 1];
    own[idx] = own[n - 1];
    --n;
  }
  return result;
}

}  // namespace meridian::routing
