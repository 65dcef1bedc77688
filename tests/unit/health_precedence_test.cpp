// The health precedence, case by case, through what DNS reads (the table's
// combined observations under the snapshot's overrides) and what the forwarding
// tier reads (HealthMirror verdicts). Written against the two implementations
// before they shared resolve_health, so these pin the behaviour it kept.
#include <doctest/doctest.h>

#include <chrono>

#include "forward/core/health_mirror.hpp"
#include "health/health_snapshot.hpp"
#include "health/health_table.hpp"

using namespace meridian;
using namespace std::chrono_literals;
using health::HealthSnapshot;
using health::HealthTable;
using health::Override;
using health::OverrideMap;
using health::Source;
using health::Stability;
using health::State;
using health::Status;
namespace verdict = forward::verdict;

namespace {

const std::string kEndpoint = "web/eu/192.0.2.1";
const std::string kBackend = "web/eu/backend/127.0.0.1:9001";

Stability bound(std::chrono::seconds until, std::chrono::seconds at_least) {
  return {Stability::Clock::time_point{} + until, at_least};
}

OverrideMap overrides(std::initializer_list<std::pair<std::string, Override::Mode>> list) {
  OverrideMap m;
  for (const auto& [key, mode] : list) m[key] = Override{mode, "why " + key, "ops.json"};
  return m;
}

// What DNS answers from for key: the table's observations under the overrides.
Status dns_status(const HealthTable& table, const OverrideMap& o, const std::string& key) {
  return HealthSnapshot(o, table.effective()).status(key);
}

}  // namespace

TEST_CASE("precedence: nothing observed and no override is up, from the initial state, forever") {
  HealthTable table;
  const Status s = dns_status(table, {}, kEndpoint);
  CHECK(s.state == State::up);
  CHECK(s.source == Source::initial);
  CHECK(s.reason.empty());
  CHECK_FALSE(s.stability.expires());
  CHECK(forward::HealthMirror::compute(kBackend, false, {}) == 0);
}

TEST_CASE("precedence: a check alone decides, with its reason and its time to change") {
  HealthTable table;
  table.report(kEndpoint, Source::check, State::down, "HTTP status 500", bound(10s, 3s));
  Status s = dns_status(table, {}, kEndpoint);
  CHECK(s.state == State::down);
  CHECK(s.source == Source::check);
  CHECK(s.reason == "HTTP status 500");
  CHECK(s.stability == bound(10s, 3s));
  table.report(kEndpoint, Source::check, State::up, "HTTP status 200", bound(20s, 4s));
  s = dns_status(table, {}, kEndpoint);
  CHECK(s.state == State::up);
  CHECK(s.source == Source::check);
  CHECK(s.reason == "HTTP status 200");
  CHECK(s.stability == bound(20s, 4s));
}

TEST_CASE("precedence: a passive report alone decides") {
  HealthTable table;
  table.report(kBackend, Source::passive, State::down, "5 resets");
  Status s = dns_status(table, {}, kBackend);
  CHECK(s.state == State::down);
  CHECK(s.source == Source::passive);
  CHECK(s.reason == "5 resets");
  table.report(kBackend, Source::passive, State::up, "answering again");
  s = dns_status(table, {}, kBackend);
  CHECK(s.state == State::up);
  CHECK(s.source == Source::passive);
  CHECK(s.reason == "answering again");
}

TEST_CASE("precedence: any observation saying down wins; the check names it first; the earliest change bounds it") {
  HealthTable table;
  table.report(kBackend, Source::check, State::up, "ok", bound(30s, 5s));
  table.report(kBackend, Source::passive, State::down, "5 resets", Stability::forever());
  Status s = dns_status(table, {}, kBackend);
  CHECK(s.state == State::down);
  CHECK(s.source == Source::passive);
  CHECK(s.reason == "5 resets");
  CHECK(s.stability == bound(30s, 5s));

  table.report(kBackend, Source::check, State::down, "connect refused", bound(40s, 6s));
  s = dns_status(table, {}, kBackend);
  CHECK(s.source == Source::check);
  CHECK(s.reason == "connect refused");
  CHECK(s.stability == bound(40s, 6s));

  table.report(kBackend, Source::check, State::up, "ok", bound(50s, 7s));
  table.report(kBackend, Source::passive, State::up, "answering again", Stability::forever());
  s = dns_status(table, {}, kBackend);
  CHECK(s.state == State::up);
  CHECK(s.source == Source::check);  // all up: the check's word
  CHECK(s.reason == "ok");
}

TEST_CASE("precedence: the target's override wins over every observation and never expires") {
  HealthTable table;
  table.report(kEndpoint, Source::check, State::up, "ok", bound(10s, 3s));
  Status s = dns_status(table, overrides({{kEndpoint, Override::down}}), kEndpoint);
  CHECK(s.state == State::down);
  CHECK(s.source == Source::override_file);
  CHECK(s.reason == "why " + kEndpoint);
  CHECK_FALSE(s.stability.expires());

  table.report(kBackend, Source::check, State::down, "timeout", bound(10s, 3s));
  table.report(kBackend, Source::passive, State::down, "resets");
  s = dns_status(table, overrides({{kBackend, Override::up}}), kBackend);
  CHECK(s.state == State::up);
  CHECK(s.source == Source::override_file);
  CHECK_FALSE(s.stability.expires());
}

TEST_CASE("precedence: auto leaves it to the observations") {
  HealthTable table;
  table.report(kEndpoint, Source::check, State::down, "timeout");
  const Status s = dns_status(table, overrides({{kEndpoint, Override::automatic}}), kEndpoint);
  CHECK(s.state == State::down);
  CHECK(s.source == Source::check);
  HealthSnapshot snapshot(overrides({{"web/eu", Override::automatic}}), table.effective());
  Status forced;
  CHECK_FALSE(snapshot.region_forced("web", "eu", forced));
}

TEST_CASE("precedence: for DNS a region's override is the region's, not its endpoints'") {
  HealthTable table;
  table.report(kEndpoint, Source::check, State::up, "ok");
  const HealthSnapshot snapshot(overrides({{"web/eu", Override::down}}), table.effective());
  Status forced;
  REQUIRE(snapshot.region_forced("web", "eu", forced));
  CHECK(forced.state == State::down);
  CHECK(forced.source == Source::override_file);
  CHECK(forced.reason == "why web/eu");
  CHECK_FALSE(forced.stability.expires());
  CHECK(snapshot.endpoint("web", "eu", "192.0.2.1").state == State::up);  // routing applies the region's
  CHECK(snapshot.endpoint("web", "eu", "192.0.2.1").source == Source::check);
}

TEST_CASE("precedence: the forwarding tier leaves out its own passive reports") {
  HealthTable table;
  auto mirror = std::make_shared<forward::HealthMirror>(table);
  mirror->attach();
  const auto flag = mirror->flag(kBackend);
  table.report(kBackend, Source::passive, State::down, "resets");
  CHECK(flag->load() == 0);  // DNS: down (above); the proxy: its own ejection decides
  CHECK(dns_status(table, {}, kBackend).state == State::down);
  // Down by passive already, the table reports no change: the tier re-reads it (refresh_all).
  table.report(kBackend, Source::check, State::down, "timeout");
  mirror->refresh_all();
  CHECK(flag->load() == verdict::down);
  table.report(kBackend, Source::check, State::up, "ok");
  mirror->refresh_all();
  CHECK(flag->load() == 0);
  CHECK(mirror->flag("web/eu/backend/127.0.0.1:9002")->load() == 0);
}

TEST_CASE("precedence: for the forwarding tier a backend's override, then its region's, then its check") {
  using forward::HealthMirror;
  CHECK(HealthMirror::compute(kBackend, true, overrides({{kBackend, Override::up}, {"web/eu", Override::down}})) ==
        verdict::forced_up);
  CHECK(HealthMirror::compute(kBackend, false, overrides({{kBackend, Override::down}, {"web/eu", Override::up}})) ==
        verdict::forced_down);
  CHECK(HealthMirror::compute(kBackend, false, overrides({{"web/eu", Override::down}})) == verdict::forced_down);
  CHECK(HealthMirror::compute(kBackend, true, overrides({{"web/eu", Override::up}})) == (verdict::down | verdict::region_up));
  CHECK(HealthMirror::compute(kBackend, false, overrides({{"web/eu", Override::up}})) == verdict::region_up);
  CHECK(HealthMirror::compute(kBackend, true, overrides({{kBackend, Override::automatic}, {"web/eu", Override::automatic}})) ==
        verdict::down);
  // Only a backend has a region override applied to it here; other regions' do not count.
  CHECK(HealthMirror::compute(kEndpoint, false, overrides({{"web/eu", Override::down}})) == 0);
  CHECK(HealthMirror::compute(kBackend, false, overrides({{"web/us", Override::down}})) == 0);
}
