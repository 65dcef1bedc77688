// routing::SlowStart: a region that comes back up ramps from 0 to 1 over its
// slow_start; one that was never down, or has none, does not.
#include <doctest/doctest.h>

#include <chrono>

#include "config/json_source.hpp"
#include "health/health_snapshot.hpp"
#include "routing/routing_table.hpp"
#include "routing/service_set.hpp"
#include "routing/slow_start.hpp"

using namespace meridian;
using namespace std::chrono_literals;

namespace {

std::shared_ptr<const routing::ServiceSet> two_regions() {
  const config::JsonSource src = config::JsonSource::parse(R"({"services": {"web": {
    "policy": "failover", "order": ["eu", "us"],
    "regions": {"eu": {"endpoints": ["192.0.2.11"], "slow_start": "10s"},
                "us": {"endpoints": ["192.0.2.21"]}}}}})",
                                                           "meridian.json");
  config::Diagnostics d;
  auto set = routing::load_services(src, ".", d);
  INFO(d.to_string());
  REQUIRE(d.empty());
  return set;
}

// Both regions' endpoints observed in the given states.
routing::RoutingTable table(const std::shared_ptr<const routing::ServiceSet>& set, health::State eu, health::State us) {
  std::map<std::string, health::Status> seen;
  seen["web/eu/192.0.2.11"] = {eu, health::Source::check, "test", {}};
  seen["web/us/192.0.2.21"] = {us, health::Source::check, "test", {}};
  return routing::RoutingTable(set, health::HealthSnapshot({}, seen));
}

}  // namespace

TEST_CASE("slow start: a region coming back ramps over its slow_start, keyed by its health identity") {
  const auto set = two_regions();
  routing::SlowStart slow;
  const auto t0 = routing::SlowStart::Clock::time_point{} + 1000h;
  CHECK(slow.observe(table(set, health::State::up, health::State::up), t0).empty());  // first look: nothing came back
  CHECK(slow.observe(table(set, health::State::down, health::State::down), t0).empty());
  CHECK_FALSE(slow.ramping());

  const auto started = slow.observe(table(set, health::State::up, health::State::up), t0 + 1s);
  REQUIRE(started.size() == 1);  // us has no slow_start
  CHECK(started[0].region == health::HealthKey::region("web", "eu"));
  CHECK(started[0].over == 10s);
  CHECK(slow.ramping());

  auto shares = slow.shares(*set, t0 + 6s);
  REQUIRE(shares.count("web/eu") == 1);
  CHECK(shares["web/eu"] == doctest::Approx(0.5));
  CHECK(shares.size() == 1);

  shares = slow.shares(*set, t0 + 11s);
  CHECK(shares.empty());
  CHECK_FALSE(slow.ramping());
}

TEST_CASE("slow start: a region going down again stops its ramp") {
  const auto set = two_regions();
  routing::SlowStart slow;
  const auto t0 = routing::SlowStart::Clock::time_point{} + 1000h;
  slow.observe(table(set, health::State::down, health::State::up), t0);
  REQUIRE(slow.observe(table(set, health::State::up, health::State::up), t0 + 1s).size() == 1);
  CHECK(slow.observe(table(set, health::State::down, health::State::up), t0 + 2s).empty());
  CHECK_FALSE(slow.ramping());
  CHECK(slow.shares(*set, t0 + 3s).empty());
}
