// runtime::ZoneSigning off the state mutex: a reload's zones signed by prepare()
// (with that mutex released) are taken over by the publish's for_zones() without
// signing again, and after a refresh the dynamic answers signed by
// presign_answers() (on the refresher thread) are cache hits for the next publish.
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <set>
#include <string>

#include "dns/name.hpp"
#include "dnssec/keys.hpp"
#include "routing/routing_table.hpp"
#include "runtime/state_loader.hpp"
#include "query/responder.hpp"
#include "runtime/zone_signing.hpp"
#include "unit/support/dns_wire.hpp"
#include "unit/support/zone_fixture.hpp"
#include "unit/support/temp_dir.hpp"

using namespace meridian;

namespace {

// A signed zone with one dynamic name whose service answers `answers` of `endpoints`
// endpoints (by default 2 of 4: 6 sets).
struct SignedSite {
  test::UnitTempDir dir;
  runtime::LoadedState state;
  // region_down: an override takes region r down (answers fail open: every endpoint).
  explicit SignedSite(int endpoints = 4, int answers = 2, bool region_down = false) {
    std::string error;
    std::filesystem::create_directories(dir.file("zones/keys"));
    REQUIRE(!dnssec::generate_key(dir.file("zones/keys"), *dns::name_from_text("s.test."), dnssec::kEcdsaP256Sha256,
                                  true, error)
                 .empty());
    dir.write("zones/s.json",
              R"({"origin": "s.test.", "dnssec": {"keys": "keys/", "signature_validity": "14d", "refresh": "7d"},
                  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900,
                          "expire": 1209600, "minimum": 300},
                  "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.53"}, "www": {"service": "web"}}})");
    std::string list;
    for (int i = 1; i <= endpoints; ++i) list += (i > 1 ? ", \"192.0.2." : "\"192.0.2.") + std::to_string(i) + "\"";
    std::filesystem::create_directories(dir.file("health"));
    if (region_down) dir.write("health/ops.json", R"({"web/r": {"state": "down", "reason": "test"}})");
    dir.write("meridian.json", R"({"dns": {"listen": ["127.0.0.1:0"]}, "zones": "zones/", "health": "health/",
      "services": {"web": {"policy": "weighted", "ttl": 60, "answers": )" + std::to_string(answers) + R"(,
        "regions": {"r": {"weight": 1, "endpoints": [)" + list + "]}}}}}");
    config::Diagnostics d;
    auto loaded = runtime::load_state(dir.file("meridian.json"), d);
    INFO(d.to_string());
    REQUIRE(loaded);
    state = std::move(*loaded);
    REQUIRE(state.snapshot->routing);
  }
  const zone::Zone& zone() const { return *state.zones->find_exact(*dns::name_from_text("s.test.")); }
};

}  // namespace

TEST_CASE("zone signing: a reload's zones signed by prepare() are taken over by for_zones() without signing again") {
  SignedSite site;
  runtime::ZoneSigning signing;
  const auto now = static_cast<uint32_t>(std::time(nullptr));
  signing.prepare(*site.state.zones, site.state.services.get(), now);
  const uint64_t made = signing.signatures_made();
  CHECK(made > 0);
  // A publish of the set served until then (here: none) meanwhile leaves them prepared.
  const zone::ZoneSet served;
  CHECK(signing.for_zones(served, nullptr, now).empty());
  const auto signatures = signing.for_zones(*site.state.zones, site.state.services.get(), now);
  REQUIRE(signatures.size() > site.zone().index());
  CHECK(signatures[site.zone().index()]);
  CHECK(signing.signatures_made() == made);  // nothing signed by the publish
  // Taken: the next publish keeps them (kept), and a zone not prepared is signed there.
  CHECK(signing.for_zones(*site.state.zones, site.state.services.get(), now)[site.zone().index()] ==
        signatures[site.zone().index()]);
  CHECK(signing.signatures_made() == made);
}

TEST_CASE("zone signing: after a refresh, answers presigned off the state mutex are cache hits for the next publish") {
  SignedSite site;
  runtime::ZoneSigning signing;
  const auto now = static_cast<uint32_t>(std::time(nullptr));
  const routing::RoutingTable& table = *site.state.snapshot->routing;
  const auto first = signing.for_zones(*site.state.zones, site.state.services.get(), now);
  const auto answers = signing.answers_for(*site.state.zones, &table);
  REQUIRE(answers);
  CHECK(answers->size() == 6);  // C(4, 2) subsets; the healthy and fail-open pools give the same
  const uint64_t answer_signatures = signing.answer_signatures_made();
  CHECK(answer_signatures == 6);

  const uint32_t later = now + 8 * 86400;  // past refresh_at (validity 14d - refresh 7d)
  const auto jobs = signing.refresh_jobs(later, site.state.services);
  REQUIRE(jobs.size() == 1);
  REQUIRE(signing.refresh(jobs[0], later));
  CHECK(signing.presign_answers(jobs[0], table) == 6);

  const uint64_t hits = signing.answer_cache_hits();
  const auto renewed_zone = signing.for_zones(*site.state.zones, site.state.services.get(), later);
  REQUIRE(renewed_zone[site.zone().index()] != first[site.zone().index()]);  // the refreshed window
  const auto renewed = signing.answers_for(*site.state.zones, &table);
  REQUIRE(renewed);
  CHECK(renewed->size() == 6);
  CHECK(signing.answer_cache_hits() - hits == 6);                        // every set from the presigned ones
  CHECK(signing.answer_signatures_made() == answer_signatures + 6);      // signed once, by presign_answers
}

TEST_CASE("zone signing: a reload's dynamic answers are signed by prepare(), so the publish signs none") {
  SignedSite site;
  runtime::ZoneSigning signing;
  const auto now = static_cast<uint32_t>(std::time(nullptr));
  const routing::RoutingTable& table = *site.state.snapshot->routing;
  // Before the publish, with the state mutex released: the zone and the answers table gives.
  signing.prepare(*site.state.zones, site.state.services.get(), now, &table);
  CHECK(signing.answer_signatures_made() == 0);  // counted once the publish takes them
  // The publish: zones taken over, every answer set a cache hit, nothing signed there.
  const auto zones = signing.for_zones(*site.state.zones, site.state.services.get(), now);
  REQUIRE(zones.size() > site.zone().index());
  const auto answers = signing.answers_for(*site.state.zones, &table);
  REQUIRE(answers);
  CHECK(answers->size() == 6);
  CHECK(signing.answer_cache_hits() == 6);
  CHECK(signing.publish_answer_signatures() == 0);
  CHECK(signing.answer_signatures_made() == 6);  // by prepare()

  // A table of other services (not the ones prepared for) presigns nothing: the publish signs.
  runtime::ZoneSigning other;
  config::Diagnostics d;
  auto reloaded = runtime::load_state(site.dir.file("meridian.json"), d);
  REQUIRE(reloaded);
  REQUIRE(reloaded->services != site.state.services);
  other.prepare(*site.state.zones, site.state.services.get(), now, reloaded->snapshot->routing.get());
  other.for_zones(*site.state.zones, site.state.services.get(), now);
  CHECK(other.answers_for(*site.state.zones, &table)->size() == 6);
  CHECK(other.publish_answer_signatures() == 6);
}

namespace {

// DO queries for www.s.test. A against site's snapshot signed by a fresh ZoneSigning:
// the distinct address sets answered, and how many answers carried no RRSIG.
struct DoAnswers {
  std::size_t sets = 0;
  int unsigned_answers = 0;
};
DoAnswers ask_do(const SignedSite& site, std::size_t expect_signed_sets, int addresses, int queries = 200) {
  runtime::ZoneSigning signing;
  const auto now = static_cast<uint32_t>(std::time(nullptr));
  auto snapshot = std::make_shared<query::Snapshot>(*site.state.snapshot);
  snapshot->signatures = signing.for_zones(*site.state.zones, site.state.services.get(), now);
  snapshot->answer_signatures = signing.answers_for(*site.state.zones, snapshot->routing.get());
  REQUIRE(snapshot->answer_signatures);
  CHECK(snapshot->answer_signatures->size() == expect_signed_sets);
  const query::ClientAddress source = test::Responder::source();
  std::set<std::string> sets;
  DoAnswers out;
  for (int i = 0; i < queries; ++i) {
    test::QuerySpec spec("www.s.test.", 1);
    spec.edns = test::Edns{};
    spec.edns->do_bit = true;
    spec.edns->payload = 4096;
    const test::Bytes query = test::make_query(spec);
    std::vector<uint8_t> wire(65535);
    const std::size_t n = query::answer_query(*snapshot, query.data(), query.size(), source, query::Transport::udp,
                                              std::chrono::steady_clock::now(), wire.data(), wire.size());
    const test::Message m = test::parse_message(test::Bytes(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n)));
    REQUIRE(m.ok);
    std::set<std::string> answer;  // in any order
    int rrsig = 0;
    for (const auto& r : m.answer) {
      if (r.type == 1) answer.insert(r.rdata);
      if (r.type == 46) ++rrsig;
    }
    REQUIRE(answer.size() == static_cast<std::size_t>(addresses));
    if (rrsig != 1) ++out.unsigned_answers;
    std::string joined;
    for (const auto& a : answer) joined += a + " ";
    sets.insert(joined);
  }
  out.sets = sets.size();
  return out;
}

}  // namespace

TEST_CASE("zone signing: answers from a pool with more subsets than are signed are windows, each signed") {
  CHECK(routing::windowed_answers(40, 3));    // C(40, 3) = 9,880 > routing::kMaxSignedSubsets
  CHECK(!routing::windowed_answers(30, 3));   // 4,060: every subset signed
  CHECK(!routing::windowed_answers(64, 2));   // 2,016
  CHECK(!routing::windowed_answers(64, 62));  // C(64, 62) = C(64, 2)
  CHECK(!routing::windowed_answers(64, 64));  // one set
  CHECK(routing::windowed_answers(64, 32));

  SignedSite site(40, 3);
  // Every DO answer (random draws) is one of the 40 windows (healthy and fail-open
  // pools alike), each signed; without the windows 199 of 200 went out unsigned.
  const DoAnswers got = ask_do(site, 40, 3);
  CHECK(got.unsigned_answers == 0);
  CHECK(got.sets > 10);  // spread over the windows
}

TEST_CASE("zone signing: the responder finds an answer's RRSIGs by what routing wrote (subsets, fail-open pool)") {
  // 2 of 4: the 6 subsets, each drawn and each signed.
  const DoAnswers subsets = ask_do(SignedSite(4, 2), 6, 2);
  CHECK(subsets.unsigned_answers == 0);
  CHECK(subsets.sets == 6);
  // The region down: fail-open answers from every endpoint (the all pool), signed.
  const DoAnswers fail_open = ask_do(SignedSite(4, 2, true), 6, 2);
  CHECK(fail_open.unsigned_answers == 0);
  CHECK(fail_open.sets == 6);
  // One endpoint each (`answers`: 1) and all of them (`answers`: "all" is 0; 4 of 4).
  CHECK(ask_do(SignedSite(4, 1), 4, 1).unsigned_answers == 0);
  CHECK(ask_do(SignedSite(4, 4), 1, 4).unsigned_answers == 0);
}
