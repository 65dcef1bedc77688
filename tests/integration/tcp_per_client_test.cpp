// dns.tcp.max_per_client against the real server: connections from one client
// network (a /32) beyond the cap are closed at accept, another network still
// gets in, a closed connection frees its slot, and /metrics counts the refusals.
#include <doctest/doctest.h>

#include <thread>

#include "integration/harness/dns_client.hpp"
#include "integration/support_backends/meridian_fixture.hpp"
#include "integration/support_backends/prometheus_text.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

Bytes query_bytes(uint16_t id) {
  QuerySpec q("www.example.test", qtype::A);
  q.id = id;
  return build_query(q);
}

// Connects from source and gets one answer on the connection.
bool answered(TcpConnection& c, const Endpoint& server, const std::string& source, uint16_t id) {
  if (!c.connect(server, std::chrono::seconds(15), source) || !c.send_message(query_bytes(id))) return false;
  const auto reply = c.read_message(std::chrono::seconds(15));
  if (!reply) return false;
  const Message m = parse_message(*reply);
  return m.ok && m.id == id && m.answer.size() == 1;
}

// A server with example.test. and the given dns.tcp settings, and an admin port for /metrics.
bool start_with_tcp(Meridian& m, const json& tcp) {
  return m.start(static_dns_config({{"tcp", tcp}}), {{"example.test.json", static_zone()}});
}

}  // namespace

TEST_CASE("max_per_client: one /32 gets its share, another network still gets in") {
  Meridian m;
  REQUIRE_MESSAGE(start_with_tcp(m, {{"max_per_client", 2}, {"idle_timeout", "60s"}}), m.error);

  TcpConnection a, b, over, other;
  REQUIRE(answered(a, m.dns, "127.0.0.1", 1));
  REQUIRE(answered(b, m.dns, "127.0.0.1", 2));
  // The third from 127.0.0.1 is accepted by the kernel, then closed by the server.
  REQUIRE(over.connect(m.dns, std::chrono::seconds(15), "127.0.0.1"));
  over.send_message(query_bytes(3));
  CHECK(over.wait_closed(std::chrono::seconds(20)) == TcpConnection::Wait::closed);
  // Another /32 has slots of its own.
  CHECK(answered(other, m.dns, "127.0.0.2", 4));
  // The two held connections still work.
  REQUIRE(a.send_message(query_bytes(5)));
  const auto again = a.read_message(std::chrono::seconds(15));
  REQUIRE(again.has_value());
  CHECK(parse_message(*again).id == 5);

  const auto metrics = prom::parse(m.metrics());
  CHECK(metrics.errors.empty());
  CHECK(metrics.value("meridian_dns_tcp_refused_total", {{"reason", "max_per_client"}}) >= 1.0);
  CHECK(metrics.value("meridian_dns_tcp_refused_total", {{"reason", "max_connections"}}) == 0.0);

  // A connection the client closes frees its slot (asynchronously: retry within a deadline).
  b.close();
  bool freed = false;
  for (int attempt = 0; attempt < 200 && !freed; ++attempt) {
    TcpConnection again_c;
    freed = answered(again_c, m.dns, "127.0.0.1", static_cast<uint16_t>(100 + attempt));
    if (!freed) std::this_thread::sleep_for(std::chrono::milliseconds(50));  // pacing within the bound
  }
  CHECK(freed);
  CHECK(m.log_clean());
}

TEST_CASE("max_connections refusals are counted apart from max_per_client ones") {
  Meridian m;
  REQUIRE_MESSAGE(start_with_tcp(m, {{"max_connections", 1}, {"idle_timeout", "60s"}}), m.error);
  TcpConnection held, over;
  REQUIRE(answered(held, m.dns, "127.0.0.1", 1));
  REQUIRE(over.connect(m.dns, std::chrono::seconds(15), "127.0.0.2"));  // another network: the total cap still applies
  over.send_message(query_bytes(2));
  CHECK(over.wait_closed(std::chrono::seconds(20)) == TcpConnection::Wait::closed);
  const auto metrics = prom::parse(m.metrics());
  CHECK(metrics.errors.empty());
  CHECK(metrics.value("meridian_dns_tcp_refused_total", {{"reason", "max_connections"}}) == 1.0);
  CHECK(metrics.value("meridian_dns_tcp_refused_total", {{"reason", "max_per_client"}}) == 0.0);
  CHECK(m.log_clean());
}
