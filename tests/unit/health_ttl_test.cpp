// TTL follows health: when a checked target's state can next change (rise/fall,
// jitter, hold-down), how a region's and a decision's next change follow from
// their targets', the ttl_min / ttl clamps, overrides imposing no cap, the
// health table telling subscribers when a target moves closer to a flip, and
// explain naming the reason. Expected values are worked out here by hand.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "config/json_source.hpp"
#include "health/checks/check_stability.hpp"
#include "health/health_snapshot.hpp"
#include "health/health_table.hpp"
#include "routing/answer_ttl.hpp"
#include "routing/explain.hpp"
#include "routing/routing_table.hpp"
#include "routing/service_set.hpp"

using namespace meridian;
using namespace std::chrono_literals;
using health::Stability;
using Clock = Stability::Clock;

namespace {

const Clock::time_point kT0 = Clock::time_point{} + 1000h;  // an arbitrary "now"

health::CheckConfig check(std::chrono::milliseconds interval, unsigned rise, unsigned fall, double jitter = 0) {
  health::CheckConfig c;
  c.interval = interval;
  c.rise = rise;
  c.fall = fall;
  c.jitter = jitter;
  return c;
}

Stability bound(Clock::duration until_from_t0, Clock::duration at_least) { return {kT0 + until_from_t0, at_least}; }

routing::Service service(uint32_t ttl, uint32_t failover_ttl, uint32_t ttl_min, bool follows = true) {
  routing::Service s;
  s.ttl = ttl;
  s.failover_ttl = failover_ttl;
  s.ttl_min = ttl_min;
  s.ttl_follows_health = follows;
  return s;
}

std::shared_ptr<const routing::ServiceSet> load(const std::string& json) {
  const config::JsonSource src = config::JsonSource::parse(json, "meridian.json");
  config::Diagnostics d;
  auto set = routing::load_services(src, ".", d);
  INFO(d.to_string());
  REQUIRE(d.empty());
  return set;
}

// A failover service: eu (first) and us, each behind backends, or endpoints only.
const char* kTwoRegions = R"({"services": {"web": {
  "policy": "failover", "ttl": 300, "failover_ttl": 30, "ttl_min": 2, "order": ["eu", "us"],
  "regions": {
    "eu": {"endpoints": ["192.0.2.11"], "backends": ["127.0.0.1:9001", "127.0.0.1:9002", "127.0.0.1:9003"],
           "min_healthy": 2},
    "us": {"endpoints": ["192.0.2.21", "192.0.2.22"]}}}}})";

health::Status checked(health::State state, Stability s) {
  health::Status st;
  st.state = state;
  st.source = health::Source::check;
  st.reason = "test";
  st.stability = s;
  return st;
}

routing::RouteResult answer_at(const routing::RoutingTable& t, Clock::time_point now) {
  uint8_t out[512];
  dns::MessageWriter w(out, sizeof out);
  static const uint8_t q[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', 'p', 'p', 0, 0, 1, 0, 1};
  w.start(q, sizeof q, 0x8000);
  routing::RouteClient c;
  c.address[0] = 198;
  return t.answer(0, 1, c, w, std::string_view("\x03" "app\0", 5), now);
}

}  // namespace

TEST_SUITE("health.ttl") {
  TEST_CASE("an up target with no failures can flip after `fall` results: the next check, then fall-1 intervals") {
    const auto c = check(2s, 2, 3);
    const Stability s = health::check_stability(c, {true, 5, 0, kT0 + 1500ms, {}});
    CHECK(s.at_least == 4s);               // (3 - 1) * 2 s
    CHECK(s.until == kT0 + 1500ms + 4s);   // next check in 1.5 s, then two more
    CHECK(s.remaining(kT0) == 5500ms);
    // Long after the snapshot was taken the floor still holds.
    CHECK(s.remaining(kT0 + 1h) == 4s);
  }

  TEST_CASE("a failure streak brings the flip closer; down targets count rise successes") {
    const auto c = check(2s, 2, 3);
    CHECK(health::results_to_flip(c, {true, 0, 1, {}, {}}) == 2);
    CHECK(health::results_to_flip(c, {true, 0, 2, {}, {}}) == 1);
    CHECK(health::results_to_flip(c, {false, 0, 4, {}, {}}) == 2);
    CHECK(health::results_to_flip(c, {false, 1, 0, {}, {}}) == 1);
    // A streak already long enough but held back (hold-down) flips on the next result.
    CHECK(health::results_to_flip(c, {true, 0, 7, {}, {}}) == 1);
    const Stability last = health::check_stability(c, {true, 0, 2, kT0 + 300ms, {}});
    CHECK(last.at_least == 0s);
    CHECK(last.until == kT0 + 300ms);
  }

  TEST_CASE("jitter shortens the interval counted; hold-down pushes the change later") {
    const auto c = check(2s, 2, 3, 0.25);
    const Stability s = health::check_stability(c, {true, 1, 0, kT0 + 1s, {}});
    CHECK(s.at_least == 3s);  // two intervals of at least 1.5 s
    CHECK(s.until == kT0 + 4s);
    const Stability held = health::check_stability(c, {true, 1, 0, kT0 + 1s, kT0 + 30s});
    CHECK(held.until == kT0 + 30s);
    CHECK(held.at_least == 3s);
  }

  TEST_CASE("stability: forever never expires; earliest takes each part's minimum") {
    CHECK_FALSE(Stability::forever().expires());
    CHECK(Stability::forever().remaining(kT0) == Clock::duration::max());
    const Stability a = bound(10s, 1s), b = bound(5s, 3s);
    const Stability e = Stability::earliest(a, b);
    CHECK(e.until == kT0 + 5s);
    CHECK(e.at_least == 1s);
    CHECK(Stability::earliest(a, Stability::forever()) == a);
    CHECK(bound(-5s, 1s).remaining(kT0) == 1s);  // the moment passed: the floor remains
  }

  TEST_CASE("answer_ttl: the time to the next change, clamped between ttl_min and ttl") {
    const auto s = service(300, 30, 5);
    using Why = routing::AnswerTtl::Why;
    auto at = [&](Clock::duration left, bool failover = false) { return routing::answer_ttl(s, failover, bound(left, 0s), kT0); };
    CHECK(at(42s).ttl == 42);
    CHECK(at(42s).why == Why::health_cap);
    CHECK(at(42900ms).ttl == 42);  // whole seconds, rounded down: never past the change
    CHECK(at(2s).ttl == 5);
    CHECK(at(2s).why == Why::ttl_min);
    CHECK(at(3600s).ttl == 300);
    CHECK(at(3600s).why == Why::configured);
    // Off the first choice the maximum is failover_ttl.
    CHECK(at(12s, true).ttl == 12);
    CHECK(at(120s, true).ttl == 30);
    // Nothing can change on its own (overrides, no checks): no cap.
    CHECK(routing::answer_ttl(s, false, Stability::forever(), kT0).ttl == 300);
    CHECK(routing::answer_ttl(s, false, Stability::forever(), kT0).seconds_to_change == -1);
    // Switched off.
    CHECK(routing::answer_ttl(service(300, 30, 5, false), false, bound(2s, 0s), kT0).ttl == 300);
  }

  TEST_CASE("answer_ttl: ttl_min above failover_ttl leaves the failover TTL as it is") {
    const auto s = service(300, 30, 150);
    const auto t = routing::answer_ttl(s, true, bound(4s, 0s), kT0);
    CHECK(t.ttl == 30);
    CHECK(t.why == routing::AnswerTtl::Why::configured);
    CHECK(routing::answer_ttl(s, false, bound(4s, 0s), kT0).ttl == 150);
  }

  TEST_CASE("loader: ttl_min defaults to half the ttl, must not exceed it; ttl_follows_health defaults to on") {
    const auto set = load(R"({"services": {"a": {"policy": "weighted", "ttl": 120, "regions": {"r": {"endpoints": ["192.0.2.1"]}}},
                               "b": {"policy": "weighted", "ttl": 120, "ttl_min": 7, "ttl_follows_health": false,
                                     "regions": {"r": {"endpoints": ["192.0.2.1"]}}}}})");
    const auto& a = set->services[static_cast<std::size_t>(set->find("a"))];
    const auto& b = set->services[static_cast<std::size_t>(set->find("b"))];
    CHECK(a.ttl_min == 60);
    CHECK(a.ttl_follows_health);
    CHECK(b.ttl_min == 7);
    CHECK_FALSE(b.ttl_follows_health);

    const config::JsonSource bad = config::JsonSource::parse(
        R"({"services": {"a": {"policy": "weighted", "ttl": 60, "ttl_min": 61, "ttl_follows_health": 1,
                               "regions": {"r": {"endpoints": ["192.0.2.1"]}}}}})",
        "meridian.json");
    config::Diagnostics d;
    routing::load_services(bad, ".", d);
    const std::string text = d.to_string();
    CHECK(text.find("\"ttl_min\" must not exceed \"ttl\" (60)") != std::string::npos);
    CHECK(text.find("\"ttl_follows_health\" must be true or false") != std::string::npos);
    CHECK(text.find("meridian.json:1:") != std::string::npos);
  }

  TEST_CASE("routing: an up region behind backends flips when enough backends could fail (min_healthy)") {
    const auto set = load(kTwoRegions);
    std::map<std::string, health::Status> seen;
    // eu: three backends up, need two: down once two fail -> the second earliest change.
    seen["web/eu/backend/127.0.0.1:9001"] = checked(health::State::up, bound(9s, 6s));
    seen["web/eu/backend/127.0.0.1:9002"] = checked(health::State::up, bound(4s, 2s));
    seen["web/eu/backend/127.0.0.1:9003"] = checked(health::State::up, bound(7s, 5s));
    const routing::RoutingTable t(set, health::HealthSnapshot({}, seen));
    const auto& region = t.compiled(0).regions[0];
    CHECK(region.status.stability.until == kT0 + 7s);
    CHECK(region.status.stability.at_least == 5s);
    CHECK(region.stability_from == "backend 127.0.0.1:9003");

    const auto r = answer_at(t, kT0);
    CHECK(r.region == 0);
    CHECK(r.ttl == 7);
    CHECK(answer_at(t, kT0 + 1s).ttl == 6);    // counts down between snapshots
    CHECK(answer_at(t, kT0 + 1h).ttl == 5);    // and never below the floor that still holds
  }

  TEST_CASE("routing: a failover answer also waits on the first choice coming back; endpoints of the chosen region count") {
    const auto set = load(kTwoRegions);
    std::map<std::string, health::Status> seen;
    // eu down (two of three backends down); one recovering backend brings it back.
    seen["web/eu/backend/127.0.0.1:9001"] = checked(health::State::down, bound(20s, 18s));
    seen["web/eu/backend/127.0.0.1:9002"] = checked(health::State::down, bound(12s, 10s));
    seen["web/eu/backend/127.0.0.1:9003"] = checked(health::State::up, bound(3s, 1s));
    // us endpoints: the region answers with them; one of them can change in 9 s.
    seen["web/us/192.0.2.21"] = checked(health::State::up, bound(9s, 8s));
    seen["web/us/192.0.2.22"] = checked(health::State::up, bound(25s, 20s));
    const routing::RoutingTable t(set, health::HealthSnapshot({}, seen));
    const auto& eu = t.compiled(0).regions[0];
    CHECK_FALSE(eu.up);
    CHECK(eu.status.stability.until == kT0 + 12s);  // need - up = 1 recovery: the earliest of the down ones

    const auto r = answer_at(t, kT0);
    CHECK(r.region == 1);
    CHECK(r.failover);
    CHECK(r.ttl == 9);  // min(eu back in 12 s, a us endpoint in 9 s), below failover_ttl 30

    routing::ExplainRequest req;
    req.service = 0;
    req.client.address[0] = 198;
    req.now = kT0;
    const auto report = routing::explain(t, req);
    INFO(report.dump());
    CHECK(report["ttl"] == 9);
    CHECK(report["ttl_reason"] == "failover_ttl 30 lowered by health: region us endpoint 192.0.2.21 can change in 9s");
  }

  TEST_CASE("routing: overrides impose no cap") {
    const auto set = load(kTwoRegions);
    std::map<std::string, health::Status> seen;
    for (const char* b : {"9001", "9002", "9003"})
      seen[std::string("web/eu/backend/127.0.0.1:") + b] = checked(health::State::up, bound(4s, 2s));
    health::OverrideMap forced;
    forced["web/eu"] = health::Override{health::Override::up, "by hand", "ops.json"};
    const routing::RoutingTable t(set, health::HealthSnapshot(forced, seen));
    CHECK_FALSE(t.compiled(0).regions[0].status.stability.expires());
    const auto r = answer_at(t, kT0);
    CHECK(r.region == 0);
    CHECK(r.ttl == 300);

    // Forced down: the answer fails over to us, whose endpoints are not checked.
    forced["web/eu"].mode = health::Override::down;
    const routing::RoutingTable down(set, health::HealthSnapshot(forced, seen));
    CHECK(answer_at(down, kT0).ttl == 30);
  }

  TEST_CASE("health table: subscribers hear when a target moves closer to a flip, not when only the next check moves") {
    health::HealthTable table;
    int heard = 0;
    table.subscribe([&](const std::string&, const health::Status&) { ++heard; });
    CHECK(table.report("web/eu/backend/a", health::Source::check, health::State::up, "ok", bound(5s, 4s)));
    CHECK(heard == 1);
    CHECK_FALSE(table.report("web/eu/backend/a", health::Source::check, health::State::up, "ok", bound(7s, 4s)));
    CHECK(heard == 1);
    CHECK(table.effective()["web/eu/backend/a"].stability.until == kT0 + 7s);
    // A first failure: one interval closer.
    CHECK_FALSE(table.report("web/eu/backend/a", health::Source::check, health::State::up, "HTTP status 500", bound(5s, 2s)));
    CHECK(heard == 2);
    // Passive observations say nothing about timing: the check's bound stays.
    table.report("web/eu/backend/a", health::Source::passive, health::State::up, "answering");
    CHECK(table.effective()["web/eu/backend/a"].stability.at_least == 2s);
  }
}
