// resolve_health: the one precedence rule, input by input.
#include <doctest/doctest.h>

#include <chrono>

#include "health/effective_state.hpp"

using namespace meridian::health;
using namespace std::chrono_literals;

namespace {
Status observed(State state, Source source, const char* reason, std::chrono::seconds until, std::chrono::seconds at_least) {
  return {state, source, reason, {Stability::Clock::time_point{} + until, at_least}};
}
const Override kDown{Override::down, "maintenance", "ops.json"};
const Override kUp{Override::up, "by hand", "ops.json"};
const Override kAuto{Override::automatic, "", "ops.json"};
}  // namespace

TEST_CASE("resolve_health: no input is up from the initial state and never expires") {
  const EffectiveState e = resolve_health({});
  CHECK(e.status.state == State::up);
  CHECK(e.status.source == Source::initial);
  CHECK_FALSE(e.status.stability.expires());
  CHECK_FALSE(e.forced());
  CHECK(e.region_override == Override::automatic);
}

TEST_CASE("resolve_health: one observation is taken as it is") {
  for (const Source source : {Source::check, Source::passive}) {
    for (const State state : {State::up, State::down}) {
      const Status o = observed(state, source, "why", 10s, 2s);
      const EffectiveState e = resolve_health({.check = source == Source::check ? &o : nullptr,
                                               .passive = source == Source::passive ? &o : nullptr});
      CHECK(e.status.state == state);
      CHECK(e.status.source == source);
      CHECK(e.status.reason == "why");
      CHECK(e.status.stability == o.stability);
    }
  }
}

TEST_CASE("resolve_health: a down observation wins, the check's first; the earliest change bounds it") {
  const Status check_up = observed(State::up, Source::check, "ok", 10s, 4s);
  const Status check_down = observed(State::down, Source::check, "timeout", 30s, 3s);
  const Status passive_up = observed(State::up, Source::passive, "answering", 20s, 1s);
  const Status passive_down = observed(State::down, Source::passive, "resets", 5s, 6s);

  EffectiveState e = resolve_health({.check = &check_up, .passive = &passive_down});
  CHECK(e.status.state == State::down);
  CHECK(e.status.source == Source::passive);
  CHECK(e.status.reason == "resets");
  CHECK(e.status.stability == Stability::earliest(check_up.stability, passive_down.stability));

  e = resolve_health({.check = &check_down, .passive = &passive_down});
  CHECK(e.status.source == Source::check);
  CHECK(e.status.reason == "timeout");

  e = resolve_health({.check = &check_down, .passive = &passive_up});
  CHECK(e.status.state == State::down);
  CHECK(e.status.source == Source::check);
  CHECK(e.status.stability == Stability::earliest(check_down.stability, passive_up.stability));

  e = resolve_health({.check = &check_up, .passive = &passive_up});
  CHECK(e.status.state == State::up);
  CHECK(e.status.source == Source::check);
  CHECK(e.status.reason == "ok");
  CHECK(e.status.stability == Stability::earliest(check_up.stability, passive_up.stability));
}

TEST_CASE("resolve_health: the target's override wins over every observation, forever; auto defers") {
  const Status check_down = observed(State::down, Source::check, "timeout", 30s, 3s);
  const Status passive_down = observed(State::down, Source::passive, "resets", 5s, 6s);
  EffectiveState e = resolve_health({.target_override = &kUp, .check = &check_down, .passive = &passive_down});
  CHECK(e.forced());
  CHECK(e.status.state == State::up);
  CHECK(e.status.source == Source::override_file);
  CHECK(e.status.reason == "by hand");
  CHECK_FALSE(e.status.stability.expires());

  const Status check_up = observed(State::up, Source::check, "ok", 10s, 4s);
  e = resolve_health({.target_override = &kDown, .check = &check_up});
  CHECK(e.forced());
  CHECK(e.status.state == State::down);
  CHECK(e.status.reason == "maintenance");

  e = resolve_health({.target_override = &kAuto, .check = &check_down});
  CHECK_FALSE(e.forced());
  CHECK(e.status.source == Source::check);
}

TEST_CASE("resolve_health: the region's override is passed through and does not change the target's own state") {
  const Status check_up = observed(State::up, Source::check, "ok", 10s, 4s);
  EffectiveState e = resolve_health({.region_override = &kDown, .check = &check_up});
  CHECK(e.region_override == Override::down);
  CHECK(e.status.state == State::up);
  CHECK_FALSE(e.forced());
  e = resolve_health({.target_override = &kUp, .region_override = &kDown});
  CHECK(e.region_override == Override::down);
  CHECK(e.forced());
  CHECK(resolve_health({.region_override = &kAuto}).region_override == Override::automatic);
  CHECK(resolve_health({.region_override = &kUp}).region_override == Override::up);
}

TEST_CASE("find_override: by the key's text; nullptr when absent") {
  OverrideMap m;
  m["web/eu"] = kDown;
  REQUIRE(find_override(m, "web/eu") != nullptr);
  CHECK(find_override(m, "web/eu")->reason == "maintenance");
  CHECK(find_override(m, "web/us") == nullptr);
}
