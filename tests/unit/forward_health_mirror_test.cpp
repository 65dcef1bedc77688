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

namespace {
health::ClusterInputs agreed(health::State state) {
  health::ClusterInputs c;
  c.agreed[kKey] = health::Status{state, health::Source::cluster, "2 of 3 nodes", {}};
  return c;
}
}  // namespace

TEST_CASE("health verdict with a cluster: files' overrides, then etcd's, then the agreed state, then the check") {
  // the nodes agree it is down though this node's check sees it up, and the reverse
  CHECK(HealthMirror::compute(kKey, false, {}, agreed(health::State::down)) == verdict::down);
  CHECK(HealthMirror::compute(kKey, true, {}, agreed(health::State::up)) == 0);
  // an override in etcd, of the backend or of its region, beats the agreed state
  health::ClusterInputs c = agreed(health::State::down);
  c.overrides[kKey] = health::Override{health::Override::up, "", ""};
  CHECK(HealthMirror::compute(kKey, true, {}, c) == verdict::forced_up);
  c = agreed(health::State::up);
  c.overrides["web/eu"] = health::Override{health::Override::down, "", ""};
  CHECK(HealthMirror::compute(kKey, false, {}, c) == verdict::forced_down);
  // a local file's override beats etcd's
  c = agreed(health::State::up);
  c.overrides[kKey] = health::Override{health::Override::down, "", ""};
  CHECK(HealthMirror::compute(kKey, false, with({{kKey.c_str(), health::Override::up}}), c) == verdict::forced_up);
  CHECK(HealthMirror::compute(kKey, false, with({{"web/eu", health::Override::up}}), c) ==
        (verdict::forced_down));  // the backend's own override (etcd) beats the region's (file)
  // another key's agreement does not apply
  health::ClusterInputs other;
  other.agreed["web/eu/backend/127.0.0.1:9002"] = health::Status{health::State::down, health::Source::cluster, "", {}};
  CHECK(HealthMirror::compute(kKey, false, {}, other) == 0);
}

TEST_CASE("health mirror flags follow the cluster's view as the table receives it") {
  health::HealthTable table;
  auto mirror = std::make_shared<HealthMirror>(table);
  mirror->attach();
  table.report(kKey, health::Source::check, health::State::up, "ok");
  auto flag = mirror->flag(kKey);
  CHECK(flag->load() == 0);
  table.set_cluster(agreed(health::State::down));
  CHECK(flag->load() == verdict::down);
  // this node's check flipping does not matter while the cluster's agreement stands
  table.report(kKey, health::Source::check, health::State::down, "refused");
  table.report(kKey, health::Source::check, health::State::up, "ok");
  CHECK(flag->load() == verdict::down);
  health::ClusterInputs drained;
  drained.overrides["web/eu"] = health::Override{health::Override::down, "drain", "etcd"};
  table.set_cluster(drained);
  CHECK(flag->load() == verdict::forced_down);
  // etcd stale or the cluster gone: this node's own check again
  table.set_cluster({});
  CHECK(flag->load() == 0);
  table.report(kKey, health::Source::check, health::State::down, "refused");
  CHECK(flag->load() == verdict::down);
  // the agreed "up" beats this node's own "down"
  table.set_cluster(agreed(health::State::up));
  CHECK(mirror->flag(kKey)->load() == 0);
}
