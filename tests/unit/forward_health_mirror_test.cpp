// The forwarding tier's view of the health table: checks and operator overrides combined
// with the precedence DNS uses (backend override, then region override, then checks).
#include <doctest/doctest.h>

#include "forward/core/health_mirror.hpp"

using meridian::forward::HealthMirror;
namespace verdict = meridian::forward::verdict;
namespace health = meridian::health;

namespace {
const std::string kKey = "web/eu/backend/127.0.0.1:9001";
health::OverrideMap with(std::initializer_list<std::pair<const char*, health::Override::Mode>> list) {
  health::OverrideMap m;
  for (const auto& [k, mode] : list) m[k] = health::Override{mode, "", ""};
  return m;
}
}  // namespace

TEST_CASE("health verdict: backend override, then region override, then checks") {
  CHECK(HealthMirror::compute(kKey, false, {}) == 0);
  CHECK(HealthMirror::compute(kKey, true, {}) == verdict::down);
  CHECK(HealthMirror::compute(kKey, false, with({{kKey.c_str(), health::Override::down}})) == verdict::forced_down);
  CHECK(HealthMirror::compute(kKey, true, with({{kKey.c_str(), health::Override::up}})) == verdict::forced_up);
  CHECK(HealthMirror::compute(kKey, true, with({{kKey.c_str(), health::Override::automatic}})) == verdict::down);
  CHECK(HealthMirror::compute(kKey, false, with({{"web/eu", health::Override::down}})) == verdict::forced_down);
  CHECK(HealthMirror::compute(kKey, true, with({{"web/eu", health::Override::up}})) ==
        (verdict::down | verdict::region_up));
  CHECK(HealthMirror::compute(kKey, false, with({{"web/eu", health::Override::automatic}})) == 0);
  // the backend's own override wins over its region's
  CHECK(HealthMirror::compute(kKey, false, with({{"web/eu", health::Override::down}, {kKey.c_str(), health::Override::up}})) ==
        verdict::forced_up);
  CHECK(HealthMirror::compute(kKey, false, with({{"web/eu", health::Override::up}, {kKey.c_str(), health::Override::down}})) ==
        verdict::forced_down);
  // other regions, services and endpoint keys do not apply
  CHECK(HealthMirror::compute(kKey, false, with({{"web/us", health::Override::down},
                                                 {"api/eu", health::Override::down},
                                                 {"web/eu/127.0.0.1", health::Override::down}})) == 0);
}

TEST_CASE("health mirror flags follow table reports and override changes") {
  health::HealthTable table;
  auto mirror = std::make_shared<HealthMirror>(table);
  mirror->attach();
  table.report(kKey, health::Source::check, health::State::down, "x");
  auto flag = mirror->flag(kKey);
  CHECK(flag->load() == verdict::down);
  table.set_overrides(with({{kKey.c_str(), health::Override::up}}));
  CHECK(flag->load() == verdict::forced_up);
  table.report(kKey, health::Source::check, health::State::up, "ok");
  CHECK(flag->load() == verdict::forced_up);
  table.set_overrides(with({{"web/eu", health::Override::down}}));
  CHECK(flag->load() == verdict::forced_down);
  table.set_overrides({});
  CHECK(flag->load() == 0);
  // our own passive reports do not count as "down" here (traffic brings the backend back)
  table.report(kKey, health::Source::passive, health::State::down, "failing");
  CHECK(flag->load() == 0);
  // a later flag for a key sees the overrides in force
  table.set_overrides(with({{"web/eu", health::Override::down}}));
  CHECK(mirror->flag("web/eu/backend/127.0.0.1:9002")->load() == verdict::forced_down);
}
