// Operator overrides (health/*.json) reach the forwarding tier through the shared health
// table, with the precedence DNS uses: a backend's own override, then its region's, then
// what checks (and passive health) observed. First on a tier in this process (the table's
// overrides set directly), then end to end: the real binary, an override file written
// while traffic flows through its L7 listener.
#include <doctest/doctest.h>

#include <map>
#include <sstream>

#include "forward_support/backends.hpp"
#include "health/health_table.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;
namespace health = meridian::health;

namespace {

health::OverrideMap overrides(std::initializer_list<std::pair<const char*, health::Override::Mode>> list) {
  health::OverrideMap m;
  for (const auto& [k, mode] : list) m[k] = health::Override{mode, "test", "ops.json"};
  return m;
}

// Who answered n requests: backend name (or "status NNN") -> count.
std::map<std::string, int> spread(Client& cl, int n) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) {
    const auto r = cl.get("/");
    ++out[r.result_int() == 200 ? std::string(r["X-Backend"]) : "status " + std::to_string(r.result_int())];
  }
  return out;
}

}  // namespace

TEST_CASE("the L7 proxy obeys backend and region overrides from the shared health table") {
  health::HealthTable table;
  ForwardingTier tier(table);
  HttpBackend a("a"), b("b");
  const std::string ka = "web/eu/backend/" + a.address(), kb = "web/eu/backend/" + b.address();
  json forward = {{"l7", {{"listen", "127.0.0.1:0"}, {"balance", "round_robin"}, {"retry", {{"max_retries", 0}}}}},
                  {"outlier", {{"consecutive_failures", 0}}},
                  {"circuit_breaker", {{"enabled", false}}}};
  tier.apply(services({{"backends", backend_list({&a, &b})}, {"forward", forward}}));
  Client cl(port_of(tier, "l7"));
  CHECK(spread(cl, 10) == std::map<std::string, int>{{"a", 5}, {"b", 5}});

  // a backend forced down takes no traffic
  table.set_overrides(overrides({{ka.c_str(), health::Override::down}}));
  CHECK(spread(cl, 10) == std::map<std::string, int>{{"b", 10}});
  CHECK(backend_status(tier, a.address())["state"] == "forced_down");
  CHECK(backend_status(tier, a.address())["override"] == "down");
  // "auto" hands it back
  table.set_overrides(overrides({{ka.c_str(), health::Override::automatic}}));
  CHECK(spread(cl, 10) == std::map<std::string, int>{{"a", 5}, {"b", 5}});

  // a region forced down: no backend of it takes traffic
  table.set_overrides(overrides({{"web/eu", health::Override::down}}));
  CHECK(spread(cl, 4) == std::map<std::string, int>{{"status 503", 4}});
  CHECK(a.requests() + b.requests() == 30);
  // ... unless a backend of it is forced up (the backend's own override wins, as in DNS)
  table.set_overrides(overrides({{"web/eu", health::Override::down}, {kb.c_str(), health::Override::up}}));
  CHECK(spread(cl, 4) == std::map<std::string, int>{{"b", 4}});
  table.set_overrides({});

  // a check says a is down: no traffic; forced up, it takes traffic again
  table.report(ka, health::Source::check, health::State::down, "check failed");
  CHECK(spread(cl, 6) == std::map<std::string, int>{{"b", 6}});
  table.set_overrides(overrides({{ka.c_str(), health::Override::up}}));
  CHECK(spread(cl, 10) == std::map<std::string, int>{{"a", 5}, {"b", 5}});
  CHECK(backend_status(tier, a.address())["state"] == "forced_up");
  // checks that change while the override holds do not matter ...
  table.report(ka, health::Source::check, health::State::up, "check ok");
  table.report(ka, health::Source::check, health::State::down, "check failed");
  CHECK(spread(cl, 10) == std::map<std::string, int>{{"a", 5}, {"b", 5}});
  // ... and they decide again once it is removed
  table.set_overrides({});
  CHECK(spread(cl, 6) == std::map<std::string, int>{{"b", 6}});

  // a region forced up with no healthy backend: the proxy fails open over all of them
  // (DNS answers with all the region's endpoints then), healthy ones first otherwise
  table.report(kb, health::Source::check, health::State::down, "check failed");
  CHECK(spread(cl, 4) == std::map<std::string, int>{{"status 503", 4}});
  table.set_overrides(overrides({{"web/eu", health::Override::up}}));
  CHECK(spread(cl, 10) == std::map<std::string, int>{{"a", 5}, {"b", 5}});
  table.report(kb, health::Source::check, health::State::up, "check ok");
  CHECK(spread(cl, 6) == std::map<std::string, int>{{"b", 6}});
  // a reload keeps the backends: their verdict still follows the overrides
  tier.apply(services({{"backends", backend_list({&a, &b})}, {"forward", forward}}));
  table.set_overrides(overrides({{kb.c_str(), health::Override::down}, {"web/eu", health::Override::up}}));
  CHECK(spread(cl, 4) == std::map<std::string, int>{{"a", 4}});
}

TEST_CASE("the L7 proxy follows the cluster's agreed view and etcd's overrides, below the files' overrides") {
  health::HealthTable table;
  ForwardingTier tier(table);
  HttpBackend a("a"), b("b");
  const std::string ka = "web/eu/backend/" + a.address(), kb = "web/eu/backend/" + b.address();
  json forward = {{"l7", {{"listen", "127.0.0.1:0"}, {"balance", "round_robin"}, {"retry", {{"max_retries", 0}}}}},
                  {"outlier", {{"consecutive_failures", 0}}},
                  {"circuit_breaker", {{"enabled", false}}}};
  tier.apply(services({{"backends", backend_list({&a, &b})}, {"forward", forward}}));
  Client cl(port_of(tier, "l7"));
  table.report(ka, health::Source::check, health::State::up, "ok");
  table.report(kb, health::Source::check, health::State::up, "ok");
  CHECK(spread(cl, 10) == std::map<std::string, int>{{"a", 5}, {"b", 5}});

  // the nodes agree a is down, though this node's check sees it up
  health::ClusterInputs cluster;
  cluster.agreed[ka] = health::Status{health::State::down, health::Source::cluster, "2 of 3 nodes", {}};
  table.set_cluster(cluster);
  CHECK(spread(cl, 6) == std::map<std::string, int>{{"b", 6}});
  // ... and up while this node's check sees b down: b keeps its traffic
  cluster.agreed[kb] = health::Status{health::State::up, health::Source::cluster, "3 of 3 nodes", {}};
  table.set_cluster(cluster);
  table.report(kb, health::Source::check, health::State::down, "refused");
  CHECK(spread(cl, 6) == std::map<std::string, int>{{"b", 6}});
  // `meridian cluster override web/eu down`: the whole region takes no traffic
  cluster.overrides["web/eu"] = health::Override{health::Override::down, "drain", "etcd"};
  table.set_cluster(cluster);
  CHECK(spread(cl, 4) == std::map<std::string, int>{{"status 503", 4}});
  // a local file's override of a backend still wins over etcd's region override
  table.set_overrides(overrides({{ka.c_str(), health::Override::up}}));
  CHECK(spread(cl, 4) == std::map<std::string, int>{{"a", 4}});
  table.set_overrides({});
  // etcd stale (the agreed view and etcd's overrides withdrawn): this node's checks again
  table.set_cluster({});
  CHECK(spread(cl, 6) == std::map<std::string, int>{{"a", 6}});
}


TEST_CASE("end to end: an override file moves the L7 proxy's traffic, as it moves DNS answers") {
  namespace mb = meridian::test::backends;
  HttpBackend a("a"), b("b");
  json region = {{"endpoints", json::array({"127.0.0.11"})},
                 {"backends", backend_list({&a, &b})},
                 {"forward", {{"l7", {{"listen", "127.0.0.1:0"}, {"balance", "round_robin"}}}}}};
  const json services = {{"web",
                          {{"policy", "failover"},
                           {"ttl", 300},
                           {"failover_ttl", 30},
                           {"order", json::array({"eu-west", "us-east"})},
                           {"regions", {{"eu-west", region}, {"us-east", {{"endpoints", json::array({"127.0.0.21"})}}}}}}}};
  mb::Meridian m;
  REQUIRE_MESSAGE(m.start(mb::base_config(json::object(), services), {{"example.test.json", mb::standard_zone()}}),
                  m.error);
  const auto ports = fwdtest::l7_ports(m.log());
  const uint16_t port = ports.empty() ? 0 : ports.begin()->second;
  REQUIRE_MESSAGE(port != 0, m.log());
  Client cl(port);
  CHECK(spread(cl, 10) == std::map<std::string, int>{{"a", 5}, {"b", 5}});
  const std::string ops = m.dir.file("health/ops.json");
  const std::string ka = "web/eu-west/backend/" + a.address();

  mb::write_atomic(ops, json{{ka, "down"}}.dump());
  CHECK(mb::wait_for([&] { return spread(cl, 4) == std::map<std::string, int>{{"b", 4}}; }));
  CHECK(spread(cl, 10) == std::map<std::string, int>{{"b", 10}});

  mb::write_atomic(ops, json{{"web/eu-west", "down"}}.dump());
  CHECK(mb::wait_for([&] { return m.one("app.example.test") == "127.0.0.21"; }));  // DNS moved ...
  CHECK(mb::wait_for([&] { return spread(cl, 2) == std::map<std::string, int>{{"status 503", 2}}; }));  // ... the proxy too

  mb::write_atomic(ops, json{{"web/eu-west", "auto"}}.dump());
  CHECK(mb::wait_for([&] { return m.one("app.example.test") == "127.0.0.11"; }));
  CHECK(mb::wait_for([&] { return spread(cl, 2).count("status 503") == 0; }));
  CHECK(spread(cl, 10) == std::map<std::string, int>{{"a", 5}, {"b", 5}});
}
