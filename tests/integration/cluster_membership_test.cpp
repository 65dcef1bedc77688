// Several nodes: a node's votes vanish when its lease expires (SIGKILL) or at once
// when it stops gracefully (issue 15 scenario 4).
// Three real meridian processes and a real 3-member etcd cluster on loopback
// (README "Several nodes"); each node checks eu-west from "where it stands" (a
// probe target of its own: support_backends/cluster_nodes.hpp), so the test makes
// eu-west fail for some nodes only.
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <thread>

#include "integration/support_backends/cluster_nodes.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

TEST_CASE("scenario 4: a node killed with SIGKILL loses its votes when its lease expires; a graceful stop at once") {
  // any: one down vote drops eu-west, so a vote's presence is seen in the answers.
  ClusterNodes c("s4", {.agree = "any", .min_observers = 1, .lease_ttl = "6s"});
  REQUIRE_MESSAGE(c.start(), c.error);
  REQUIRE_MESSAGE(c.wait_votes(3, 0), c.logs());

  c.probe(0).stop_listening();
  REQUIRE_MESSAGE(c.wait_all_answer(kUsEast), c.logs());
  const auto killed = Clock::now();
  ::kill(c.node(0).process.pid(), SIGKILL);
  REQUIRE_MESSAGE(c.wait_all_answer(kEuWest, {1, 2}), c.logs());
  const double expiry = seconds_since(killed);
  MESSAGE("SIGKILL: ns1's down vote vanished after " << expiry << " s (lease_ttl 6 s)");
  // Not before the lease could have expired (a keepalive may have renewed it just before the kill).
  CHECK(expiry > 3.0);
  CHECK(expiry < 20.0);
  CHECK(c.wait_votes(2, 0, {1, 2}));

  c.probe(1).stop_listening();
  REQUIRE_MESSAGE(c.wait_all_answer(kUsEast, {1, 2}), c.logs());
  const auto stopping = Clock::now();
  CHECK(c.node(1).process.stop() == 0);
  REQUIRE_MESSAGE(c.wait_all_answer(kEuWest, {2}), c.logs());
  const double graceful = seconds_since(stopping);
  MESSAGE("SIGTERM: ns2's down vote vanished after " << graceful << " s (the process's exit included)");
  CHECK(graceful < 3.0);
  CHECK(c.node(1).log().find("event=cluster_lease_revoked") != std::string::npos);
  CHECK(c.live_nodes(2) == 1);
}

