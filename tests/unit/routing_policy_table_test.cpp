// The routing policy table (lib/routing/policies): every policy the README
// documents is registered and complete, is found by name, and the loader
// resolves a service's "policy" through it with the messages it always gave.
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "config/json_source.hpp"
#include "routing/policies/policy.hpp"
#include "routing/service_set.hpp"

using namespace meridian;
namespace policies = meridian::routing::policies;

namespace {

const std::string kFixtures = std::string(MERIDIAN_SOURCE_DIR) + "/tests/data/routing/";

config::Diagnostics load_errors(const std::string& text) {
  const config::JsonSource src = config::JsonSource::parse(text, "meridian.json");
  config::Diagnostics d;
  routing::load_services(src, kFixtures, d);
  return d;
}

}  // namespace

TEST_CASE("policy table: every documented policy is registered once, with a reader and a compiler") {
  const std::set<std::string> documented = {"geo", "latency", "weighted", "closest", "failover"};
  std::set<std::string> registered;
  for (const policies::Policy* p : policies::all_policies()) {
    REQUIRE(p != nullptr);
    CHECK_MESSAGE(registered.insert(std::string(p->name)).second, "registered twice: " << p->name);
    CHECK(static_cast<bool>(p->read));
    CHECK(static_cast<bool>(p->compile));
  }
  CHECK(registered == documented);
  CHECK(policies::policy_names() == "geo, latency, weighted, closest, failover");
}

TEST_CASE("policy table: lookup by name") {
  for (const char* name : {"geo", "latency", "weighted", "closest", "failover"}) {
    const policies::Policy* p = policies::find_policy(name);
    REQUIRE_MESSAGE(p != nullptr, name);
    CHECK(p->name == name);
    CHECK(std::string(routing::policy_name(p)) == name);
  }
  CHECK(policies::find_policy("") == nullptr);
  CHECK(policies::find_policy("Geo") == nullptr);
  CHECK(policies::find_policy("round_robin") == nullptr);
}

TEST_CASE("policy table: a loaded service points at its table entry") {
  const config::JsonSource src = config::JsonSource::parse(R"({"services": {
    "w": {"policy": "weighted", "regions": {"a": {"endpoints": ["192.0.2.1"]}}},
    "f": {"policy": "failover", "regions": {"a": {"endpoints": ["192.0.2.1"]}, "b": {"endpoints": ["192.0.2.2"]}},
          "order": ["b", "a"]}}})", "meridian.json");
  config::Diagnostics d;
  const auto set = routing::load_services(src, kFixtures, d);
  INFO(d.to_string());
  REQUIRE(d.empty());
  REQUIRE(set->find("w") >= 0);
  REQUIRE(set->find("f") >= 0);
  CHECK(set->services[static_cast<std::size_t>(set->find("w"))].policy == policies::find_policy("weighted"));
  const routing::Service& f = set->services[static_cast<std::size_t>(set->find("f"))];
  CHECK(f.policy == policies::find_policy("failover"));
  REQUIRE(f.regions.size() == 2);
  CHECK(f.regions[0].name == "b");  // the failover policy's own key was read
}

TEST_CASE("policy table: an unknown policy is rejected at the value, naming every policy") {
  const config::Diagnostics d = load_errors(R"({"services": {
  "web": {"policy": "nearest", "regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})");
  REQUIRE(d.size() == 1);
  CHECK(d.items()[0].to_string() ==
        "meridian.json:2:21: \"policy\" must be one of geo, latency, weighted, closest, failover");
}

TEST_CASE("policy table: a missing policy is reported at the service") {
  const config::Diagnostics d = load_errors(R"({"services": {
  "web": {"regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})");
  REQUIRE(d.size() == 1);
  CHECK(d.items()[0].to_string() ==
        "meridian.json:2:10: \"policy\" must be one of geo, latency, weighted, closest, failover");
}

TEST_CASE("policy table: every policy's keys are service keys, in any service") {
  // As before the table: a key of another policy is accepted (and ignored).
  CHECK(load_errors(R"({"services": {"web": {"policy": "weighted", "order": ["a"], "tolerance_ms": 5,
    "regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})").empty());
  const config::Diagnostics d = load_errors(R"({"services": {"web": {"policy": "weighted", "odrer": ["a"],
    "regions": {"a": {"endpoints": ["192.0.2.1"]}}}}})");
  REQUIRE(d.size() == 1);
  const std::string& message = d.items()[0].message;
  CHECK(message.rfind("unknown key \"odrer\" (expected one of: policy, ttl, failover_ttl, answers, fail_open, regions, ", 0) == 0);
  for (const policies::Policy* p : policies::all_policies())
    for (std::string_view key : p->keys) CHECK_MESSAGE(message.find(std::string(key)) != std::string::npos, key);
}
