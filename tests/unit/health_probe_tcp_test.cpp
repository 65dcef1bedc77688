// The "tcp" probe alone: a connection that succeeds, one that is refused, one
// that cannot complete before the deadline, and an attempt cancelled midway,
// against listeners this test runs on 127.0.0.1.
#include <doctest/doctest.h>

#include "health/checks/probes/tcp_probe.hpp"
#include "unit/support/probe_bench.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {
health::CheckConfig tcp_check(std::chrono::milliseconds timeout) {
  health::CheckConfig c;
  c.kind = health::CheckConfig::tcp;
  c.timeout = timeout;
  return c;
}
}  // namespace

TEST_CASE("tcp probe: a listening port is up, its reason \"connected\"") {
  asio::io_context io;
  ListeningPort port(io);
  auto probe = health::make_tcp_probe(io.get_executor(), tcp_check(5000ms));
  const Attempt a = run_attempt(io, *probe, port.endpoint(), 5000ms);
  CHECK(a.result.ok);
  CHECK(a.result.reason == "connected");
  CHECK(a.reports == 1);

  // The same probe runs its next attempt like the first.
  const Attempt again = run_attempt(io, *probe, port.endpoint(), 5000ms);
  CHECK(again.result.ok);
  CHECK(again.reports == 1);
}

TEST_CASE("tcp probe: a refused connection is a failure naming the error") {
  asio::io_context io;
  RefusingPort port(io);
  auto probe = health::make_tcp_probe(io.get_executor(), tcp_check(5000ms));
  const Attempt a = run_attempt(io, *probe, port.endpoint(), 5000ms);
  CHECK_FALSE(a.result.ok);
  CHECK(a.result.reason == "connect: Connection refused");
  CHECK(a.reports == 1);
}

TEST_CASE("tcp probe: a connection that cannot complete fails at the deadline") {
  asio::io_context io;
  // A backlog of 0 takes one connection; with that one unaccepted, the kernel
  // drops further SYNs, so the probe's connect hangs.
  ListeningPort port(io, 0);
  tcp::socket filler(io);
  filler.connect(port.endpoint());
  auto probe = health::make_tcp_probe(io.get_executor(), tcp_check(300ms));
  const Attempt a = run_attempt(io, *probe, port.endpoint(), 300ms);
  CHECK_FALSE(a.result.ok);
  CHECK(a.result.reason == "timeout after 300ms");
  CHECK(a.took >= 300ms);
  CHECK(a.took < 10s);
  CHECK(a.reports == 1);
}

TEST_CASE("tcp probe: a cancelled attempt reports nothing") {
  asio::io_context io;
  ListeningPort port(io, 0);
  tcp::socket filler(io);
  filler.connect(port.endpoint());
  auto probe = health::make_tcp_probe(io.get_executor(), tcp_check(200ms));
  int reports = 0;
  probe->start(port.endpoint(), std::chrono::steady_clock::now() + 200ms, [&](health::ProbeResult) { ++reports; });
  probe->cancel();
  io.run_for(2s);  // returns once the cancelled attempt has unwound
  CHECK(reports == 0);
  CHECK(io.stopped());  // nothing left waiting: the deadline went with the attempt
}
