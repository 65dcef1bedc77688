// The signatures of the signed zones, kept across snapshots: a zone that did not
// change keeps its ZoneSignatures until they are due for refreshing (expiration -
// "refresh"). New ones are then made off the publishing thread: ServerState's
// refresher thread takes refresh_jobs(), signs each with refresh() (no lock held
// while signing) and publishes; until then snapshots keep the old signatures,
// still valid. Only if they come within half of "refresh" of expiring does
// for_zones() sign them itself. A new or changed zone is signed by a reload's
// prepare() before it publishes (it cannot be served before), with the state
// mutex released, or else by for_zones(), outside this object's lock.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "routing/routing_table.hpp"
#include "zone/answer_signatures.hpp"
#include "zone/zone.hpp"
#include "zone/zone_signatures.hpp"

namespace meridian::runtime {

struct SignedZoneStatus {
  std::string origin;  // presentation form
  std::string algorithm;
  std::vector<std::pair<uint16_t, std::string>> keys;  // tag, role ("KSK", "ZSK", "CSK")
  uint32_t inception = 0, expiration = 0, refresh_at = 0;
  std::size_t rrsets = 0, signatures = 0;
};

// Process-wide DNSSEC counters, for /metrics (every ZoneSigning adds to them).
struct DnssecCounters {
  std::atomic<uint64_t> zone_signatures{0};    // RRSIGs made for static RRsets and NSECs
  std::atomic<uint64_t> answer_signatures{0};  // RRSIGs made for dynamic answers
  // Of those, made by a publish itself (state mutex held): only the sets a health
  // change brings that were never signed; the rest are signed beforehand.
  std::atomic<uint64_t> publish_answer_signatures{0};
  std::atomic<uint64_t> answer_cache_hits{0};  // dynamic answers a table needed that were signed already
  std::atomic<uint64_t> answer_cache_entries{0};
};
DnssecCounters& dnssec_counters();

class ZoneSigning {
 public:
  // Signatures for every signed zone of zones, by Zone::index(); empty when no
  // zone is signed. Made now for a zone that is new, changed or due for refresh.
  // services: what the zones' dynamic names are linked to (their NSECs list A or
  // AAAA by the endpoints the service has); a new set signs the zones again.
  std::vector<std::shared_ptr<const zone::ZoneSignatures>> for_zones(const zone::ZoneSet& zones,
                                                                     const routing::ServiceSet* services, uint32_t now);
  // A reload's new or changed signed zones, signed before it publishes, with no
  // lock held but this object's own for a moment: for_zones() then takes them over
  // instead of signing while the state mutex is held. Replaces what an earlier
  // call prepared and no for_zones() took. table (built on services with the
  // health served now; null: none): the answers it gives for those zones' dynamic
  // names are signed too, for answers_for() to take over as cache hits.
  void prepare(const zone::ZoneSet& zones, const routing::ServiceSet* services, uint32_t now,
               const routing::RoutingTable* table = nullptr);
  // Signatures for every answer the table can give for the signed zones' dynamic
  // names (call after for_zones): each region's healthy and fail-open sets, or
  // their single endpoints (`answers`: 1), or their subsets of `answers`
  // endpoints, or where those are more than routing::kMaxSignedSubsets the windows
  // DO answers give instead (routing::windowed_answers). Signed only when not cached
  // (by content, with the zone's signature window); null when nothing is signed.
  std::shared_ptr<const zone::AnswerSignatures> answers_for(const zone::ZoneSet& zones,
                                                            const routing::RoutingTable* table);
  static constexpr std::size_t kMaxCachedAnswers = 50000;
  uint64_t answer_signatures_made() const { return answer_signatures_made_; }
  // Of those, made by answers_for() itself (the publish, under the state mutex).
  uint64_t publish_answer_signatures() const { return publish_answer_signatures_; }
  uint64_t answer_cache_hits() const { return answer_cache_hits_; }
  std::size_t answer_cache_size() const { return answer_cache_.size(); }
  // Whether some signatures kept are due for refreshing.
  bool refresh_due(uint32_t now) const;
  // A zone whose signatures are due, to sign anew off the publishing thread.
  struct RefreshJob {
    std::shared_ptr<const zone::Zone> zone;
    std::shared_ptr<const routing::ServiceSet> services;  // what its dynamic names' NSECs list (kept alive)
  };
  // The zones due for refreshing whose services are `services` (the served ones).
  std::vector<RefreshJob> refresh_jobs(uint32_t now, const std::shared_ptr<const routing::ServiceSet>& services) const;
  // Signs job's zone anew (no lock held meanwhile) and keeps the result if that
  // zone version is still the one kept. True when kept.
  bool refresh(const RefreshJob& job, uint32_t now);
  // After refresh(): signs every answer `table` gives for job's dynamic names with
  // the zone's new window (no lock held meanwhile), for the next answers_for() to
  // take over instead of signing them all again while the state mutex is held.
  // table must be built on job.services (else nothing is signed). Returns the sets signed.
  std::size_t presign_answers(const RefreshJob& job, const routing::RoutingTable& table);
  std::vector<SignedZoneStatus> status() const;
  uint64_t signatures_made() const {
    std::lock_guard lock(mutex_);
    return signatures_made_;
  }

 private:
  struct Kept {
    std::shared_ptr<const zone::Zone> zone;  // the version signed (kept alive: compared by address)
    std::shared_ptr<const zone::ZoneSignatures> signatures;
    const routing::ServiceSet* services = nullptr;  // the set its dynamic names' NSECs were made for
  };
  static bool usable(const zone::Zone& z, const Kept& kept, const routing::ServiceSet* services, uint32_t now);
  struct CachedAnswer {
    zone::SignedRRset set;
    uint32_t expiration = 0;  // the zone window it was made in
    uint64_t used = 0;        // the last build that needed it
  };
  using AnswerMap = std::unordered_map<std::string, CachedAnswer>;
  // Signs every answer table gives for z's dynamic names in window's validity into
  // made (no lock held; at most kMaxCachedAnswers). Returns the RRSIGs made.
  static std::size_t sign_answers(const zone::Zone& z, const zone::ZoneSignatures& window,
                                  const routing::RoutingTable& table, AnswerMap& made);
  // Hands made (and its RRSIG count) to the next answers_for().
  void stash_presigned(AnswerMap made, std::size_t signatures);
  // Signs z (no lock held); null on error (logged).
  std::shared_ptr<const zone::ZoneSignatures> sign_zone(const zone::Zone& z, const routing::ServiceSet* services,
                                                        uint32_t now);
  mutable std::mutex mutex_;  // kept_, prepared_, presigned_ and signatures_made_: the refresher thread writes them too
  std::unordered_map<std::string, Kept> kept_;  // by origin (wire form)
  std::unordered_map<std::string, Kept> prepared_;  // prepare()'s, until for_zones() takes them
  uint64_t signatures_made_ = 0;
  AnswerMap answer_cache_;  // answers_for()'s alone (the state mutex)
  AnswerMap presigned_;     // presign_answers()' and prepare()'s, until answers_for() takes them
  uint64_t presigned_signatures_ = 0;
  uint64_t builds_ = 0;
  uint64_t answer_signatures_made_ = 0;
  uint64_t publish_answer_signatures_ = 0;
  uint64_t answer_cache_hits_ = 0;
};

}  // namespace meridian::runtime
