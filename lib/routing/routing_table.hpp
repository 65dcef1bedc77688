// The query-time routing state: for every service, the client classes resolved
// against the current health into decisions (which regions, whether this is a
// failover), address tries remapped to those decisions with equal neighbours
// merged (shortest correct ECS scope), and each region's healthy endpoints.
// Rebuilt whenever health or configuration changes; read without locks.
#pragma once
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <memory>
#include <string_view>
#include <vector>

#include "dns/writer.hpp"
#include "health/health_view.hpp"
#include "routing/ipv4_in_ipv6.hpp"
#include "routing/service_set.hpp"
#include "util/ip_address.hpp"

namespace meridian::routing {

// The address decided on (IPv4 unless set), and what ECS said about it.
struct RouteClient : util::IpAddress {
  RouteClient() : util::IpAddress{4, {}} {}
  bool from_ecs = false;  // the ECS scope is reported only then
  uint8_t bits = 128;     // address bits the client gave (ECS: min(source, cap)); the rest are zero
  uint8_t sent[16] = {};  // IPv6 ECS: the address as sent, zero past the source prefix (the scope is around it)
};

// The client an ECS option describes: bits beyond min(source prefix, configured
// cap) are cleared, so only what the cap allows can decide the answer. An IPv6
// prefix whose address (zero past the source prefix) is in a form carrying an
// IPv4 client (ipv4_in_ipv6.hpp) is that IPv4 client: the IPv4 cap applies to its
// IPv4 bits.
RouteClient ecs_client(int family, const uint8_t* address, unsigned source_prefix, const EcsSettings& ecs);

// The client the tries look up: the IPv4 client an IPv6 address carries (its
// bits: those of the IPv4 address the client gave), else the client itself.
// form, when given, is set to the form found or nullptr.
RouteClient lookup_client(const RouteClient& client, const EcsSettings& ecs, const Ipv4InIpv6Form** form = nullptr);

struct Decision {
  std::vector<uint16_t> regions;   // candidates, chosen among by weight
  std::vector<uint32_t> weights;   // cumulative
  bool failover = false;           // not the client's first choice (or degraded)
  bool all_down = false;           // every region down: fail-open answer or NODATA
  bool nodata = false;             // all down and fail_open is false
  // Slow start of a sole first choice: clients whose prefix hashes below the
  // threshold get it, the others get decision `held_back` (as if it were down).
  bool ramping = false;
  uint32_t ramp_threshold = 0;
  uint32_t held_back = 0;
  // When the health behind this decision can next change (regions up to the
  // chosen tier, endpoints of the chosen regions), and what changes first.
  health::Stability stability;
  std::string stability_from;
};

// How far each recovering region is through its slow start: 0..1, 1 = done.
// Key: the region's HealthKey text ("service/region"); see SlowStart.
using RampShares = std::map<std::string, double>;

struct RegionState {
  bool up = true;
  health::Status status;                   // region-level reason and stability
  std::string stability_from;              // the endpoint or backend whose change would flip it
  std::vector<uint16_t> healthy_v4;        // endpoint indices
  std::vector<uint16_t> healthy_v6;
  std::vector<uint32_t> weights_v4;        // cumulative over healthy_v4
  std::vector<uint32_t> weights_v6;
  std::vector<health::Status> endpoints;   // per endpoint
  // Every endpoint, for fail-open answers when the whole service is down.
  std::vector<uint16_t> all_v4;
  std::vector<uint16_t> all_v6;
  std::vector<uint32_t> all_weights_v4;
  std::vector<uint32_t> all_weights_v6;
  bool operator==(const RegionState&) const = default;
};

struct CompiledService {
  std::vector<Decision> decisions;
  std::vector<uint32_t> class_decision;  // class -> decision
  PrefixTrie trie;                       // address (either family) -> decision
  std::vector<RegionState> regions;
  std::vector<double> ramp;  // per region: its slow-start share (1: none)
};

struct RouteResult {
  uint32_t ttl = 0;       // see answer_ttl()
  uint8_t scope = 0;
  int region = -1;
  unsigned records = 0;   // address records written
  bool nodata = false;
  bool failover = false;
  // The endpoints written, for finding the answer's RRSIGs without re-reading it:
  // bit i = position i of the region's pool for the family (its healthy endpoints,
  // or every endpoint when failing open: all_pool).
  uint64_t positions = 0;
  bool all_pool = false;
};

// A signed zone's answers are signed with the routing table, never on the query
// path, so a DO answer must be one the table can list. With `answers` k of a pool of
// n endpoints that is C(n, k) subsets; up to kMaxSignedSubsets of them (any
// `answers: 2`, C(64, 2) = 2,016; C(30, 3) = 4,060) each is signed. Beyond (C(40, 3)
// = 9,880, C(64, 3) = 41,664: too many signatures to make per table) a DO answer is a
// window instead: its first endpoint drawn by weight, then the next k - 1 of the
// pool in order, wrapping round: n sets, each signed.
inline constexpr std::size_t kMaxSignedSubsets = 4096;
// Whether C(n, k) > kMaxSignedSubsets (k < n), and DO answers are windows.
bool windowed_answers(std::size_t n, std::size_t k);

class RoutingTable {
 public:
  // previous: the table served until now; a service of the same set whose
  // regions' health and ramps did not change takes over its compiled decisions
  // and tries instead of remapping them (a health change costs the services it touches).
  RoutingTable(std::shared_ptr<const ServiceSet> services, const health::HealthView& health,
               const RampShares& ramps = {}, const RoutingTable* previous = nullptr);

  // Services whose compiled part was taken over from the previous table.
  std::size_t services_taken_over() const { return taken_over_; }

  const ServiceSet& services() const { return *services_; }
  const CompiledService& compiled(int service) const { return compiled_[static_cast<std::size_t>(service)]; }

  // Writes the A or AAAA records of service for this client under owner (the
  // answer section). Returns what was decided. Allocation-free. `now` (read once
  // per batch) places the answer's TTL against the health's next possible change.
  // owner_ptr, when not 0, is where the message already holds owner. signed_answer:
  // the answer gets RRSIGs (DO, signed zone): a window where windowed_answers().
  RouteResult answer(int service, uint16_t qtype, const RouteClient& client, dns::MessageWriter& w,
                     std::string_view owner, health::Stability::Clock::time_point now,
                     uint16_t owner_ptr = 0, bool signed_answer = false) const;

  // The decision for a client, without writing anything, and its scope: the
  // prefix around the client's address inside which every address gets this
  // decision (RFC 7871 7.2.1; it may be longer than the client's prefix).
  const Decision& decide(int service, const RouteClient& client, uint8_t& scope) const;

 private:
  // One family's trie, without the IPv4-in-IPv6 forms.
  const Decision& decide_in_trie(int service, const RouteClient& client, uint8_t& scope) const;

  std::shared_ptr<const ServiceSet> services_;
  std::vector<CompiledService> compiled_;
  std::size_t taken_over_ = 0;
};

}  // namespace meridian::routing
