// DNS over TCP per RFC 7766 against the real server: several and pipelined
// queries per connection, idle timeout, connection cap, stalled clients.
#include <doctest/doctest.h>

#include <thread>

#include "integration/harness/dig.hpp"
#include "integration/harness/dns_client.hpp"
#include "integration/harness/fixtures.hpp"

using namespace meridian::test;

namespace {

Bytes query_bytes(const std::string& name, uint16_t id, uint16_t type = qtype::A) {
  QuerySpec q(name, type);
  q.id = id;
  return build_query(q);
}

Message read_parsed(TcpConnection& c) {
  const auto reply = c.read_message();
  if (!reply) {
    Message m;
    m.error = "no message on the connection";
    return m;
  }
  return parse_message(*reply);
}

// A query on a fresh connection until it works or the deadline passes (a closed
// connection frees its slot asynchronously).
bool query_works_within(const Endpoint& ep, std::chrono::milliseconds deadline) {
  const auto end = Clock::now() + deadline;
  while (Clock::now() < end) {
    TcpConnection c;
    if (c.connect(ep, std::chrono::seconds(5)) && c.send_message(query_bytes("app.example.com", 77))) {
      const auto r = c.read_message(std::chrono::seconds(5));
      if (r && parse_message(*r).answer.size() == 1) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // retry pacing within the deadline
  }
  return false;
}

}  // namespace

TEST_CASE("several queries on one connection, in order and pipelined") {
  TestServer s;
  REQUIRE_MESSAGE(s.started(), s.error());
  TcpConnection c;
  REQUIRE(c.connect(s.ep()));

  SUBCASE("one after another") {
    const char* names[] = {"app.example.com", "mail.example.com", "nothere.example.com", "www.example.org"};
    const int rcodes[] = {rcode::NOERROR, rcode::NOERROR, rcode::NXDOMAIN, rcode::REFUSED};
    for (int i = 0; i < 4; ++i) {
      REQUIRE(c.send_message(query_bytes(names[i], static_cast<uint16_t>(100 + i))));
      const Message m = read_parsed(c);
      REQUIRE_MESSAGE(m.ok, m.error);
      CHECK(m.id == 100 + i);
      CHECK(m.rcode == rcodes[i]);
    }
  }
  SUBCASE("pipelined: three queries in one write, then three answers") {
    Bytes burst;
    const char* names[] = {"app.example.com", "ns2.example.com", "txt30.big.test"};
    const uint16_t types[] = {qtype::A, qtype::AAAA, qtype::TXT};
    for (int i = 0; i < 3; ++i) {
      const Bytes q = query_bytes(names[i], static_cast<uint16_t>(200 + i), types[i]);
      put_u16(burst, static_cast<uint16_t>(q.size()));
      burst.insert(burst.end(), q.begin(), q.end());
    }
    REQUIRE(c.send_raw(burst));
    std::set<int> ids;
    for (int i = 0; i < 3; ++i) {
      const Message m = read_parsed(c);
      REQUIRE_MESSAGE(m.ok, m.error);
      CHECK(m.rcode == rcode::NOERROR);
      ids.insert(m.id);
      if (m.id == 202) CHECK(m.answer.size() == 30);
      else CHECK(m.answer.size() == 1);
    }
    CHECK(ids == std::set<int>{200, 201, 202});
  }
  SUBCASE("a message split over many writes") {
    const Bytes q = query_bytes("app.example.com", 300);
    Bytes framed;
    put_u16(framed, static_cast<uint16_t>(q.size()));
    framed.insert(framed.end(), q.begin(), q.end());
    for (uint8_t b : framed) REQUIRE(c.send_raw(Bytes{b}));
    const Message m = read_parsed(c);
    REQUIRE_MESSAGE(m.ok, m.error);
    CHECK(m.id == 300);
    CHECK(m.answer.size() == 1);
  }
  SUBCASE("kdig +keepopen with several queries") {
    const DigResult d = kdig(s.ep(), {"+tcp", "+keepopen", "app.example.com", "A", "mail.example.com", "A"});
    INFO(d.output);
    CHECK(d.status == "NOERROR");
    CHECK(d.answer.size() == 3);
  }
  SUBCASE("dig +keepalive: the idle timeout is announced over TCP (RFC 7828), not over UDP") {
    const DigResult tcp = dig(s.ep(), {"+tcp", "+keepalive", "app.example.com", "A"});
    INFO(tcp.output);
    CHECK(tcp.status == "NOERROR");
    CHECK(tcp.output.find("TCP KEEPALIVE: 10.0 secs") != std::string::npos);  // the default idle_timeout
    const DigResult udp = dig(s.ep(), {"+notcp", "+keepalive", "app.example.com", "A"});
    INFO(udp.output);
    CHECK(udp.status == "NOERROR");
    CHECK(udp.output.find("KEEPALIVE") == std::string::npos);
  }
  c.close();
  CHECK(s.stop() == 0);
  CHECK(s.log_clean());
}

TEST_CASE("idle connections are closed after idle_timeout") {
  ServerOptions o;
  o.extra_dns = R"("tcp": {"idle_timeout": "1s"})";
  TestServer s(o);
  REQUIRE_MESSAGE(s.started(), s.error());

  // Lower bounds are measured from a moment that surely precedes the server's
  // timer start (before connecting / before sending), so load cannot make them flaky.
  SUBCASE("a connection that never sends") {
    TcpConnection c;
    const auto t0 = Clock::now();
    REQUIRE(c.connect(s.ep()));
    CHECK(c.wait_closed(std::chrono::seconds(30)) == TcpConnection::Wait::closed);
    CHECK(Clock::now() - t0 >= std::chrono::milliseconds(950));
  }
  SUBCASE("after an answer, the idle timer runs again") {
    TcpConnection c;
    REQUIRE(c.connect(s.ep()));
    const auto t0 = Clock::now();
    REQUIRE(c.send_message(query_bytes("app.example.com", 1)));
    const Message m = read_parsed(c);
    CHECK(m.ok);
    CHECK(c.wait_closed(std::chrono::seconds(30)) == TcpConnection::Wait::closed);
    CHECK(Clock::now() - t0 >= std::chrono::milliseconds(950));
  }
  CHECK(query_works_within(s.ep(), std::chrono::seconds(20)));
  CHECK(s.stop() == 0);
  CHECK(s.log_clean());
}

TEST_CASE("max_connections: a connection over the cap is closed") {
  ServerOptions o;
  o.extra_dns = R"("tcp": {"max_connections": 2, "idle_timeout": "30s"})";
  TestServer s(o);
  REQUIRE_MESSAGE(s.started(), s.error());
  TcpConnection a, b, c;
  REQUIRE(a.connect(s.ep()));
  REQUIRE(a.send_message(query_bytes("app.example.com", 1)));
  REQUIRE(read_parsed(a).ok);
  REQUIRE(b.connect(s.ep()));
  REQUIRE(b.send_message(query_bytes("app.example.com", 2)));
  REQUIRE(read_parsed(b).ok);
  // The third is accepted by the kernel and then closed by the server.
  REQUIRE(c.connect(s.ep()));
  c.send_message(query_bytes("app.example.com", 3));
  CHECK(c.wait_closed(std::chrono::seconds(20)) == TcpConnection::Wait::closed);
  // The first two still work.
  REQUIRE(a.send_message(query_bytes("app.example.com", 4)));
  CHECK(read_parsed(a).id == 4);
  REQUIRE(b.send_message(query_bytes("app.example.com", 5)));
  CHECK(read_parsed(b).id == 5);
  // The server closing a connection frees its slot.
  CHECK(s.stop() == 0);
}

// Regression: a connection the *client* closed used to keep its slot until the
// server's idle timer for it fired (the pending timer handler held the
// connection and close() did not cancel it), so with max_connections 2 and
// idle_timeout 30s two short-lived clients locked everyone out for 30 seconds.
// Fixed by cancelling the timer in close() (c1d8d8f).
TEST_CASE("a connection closed by the client frees its slot promptly") {
  ServerOptions o;
  o.extra_dns = R"("tcp": {"max_connections": 2, "idle_timeout": "30s"})";
  TestServer s(o);
  REQUIRE_MESSAGE(s.started(), s.error());
  for (int i = 0; i < 2; ++i) {
    TcpConnection c;
    REQUIRE(c.connect(s.ep()));
    REQUIRE(c.send_message(query_bytes("app.example.com", static_cast<uint16_t>(i))));
    REQUIRE(read_parsed(c).ok);
  }  // both closed here by the client
  // Well within the 30 s idle timeout.
  CHECK(query_works_within(s.ep(), std::chrono::seconds(15)));
  CHECK(s.stop() == 0);
}

TEST_CASE("a client stalled mid-message is dropped without hurting others") {
  ServerOptions o;
  o.extra_dns = R"("tcp": {"message_timeout": "1s", "idle_timeout": "60s"})";
  TestServer s(o);
  REQUIRE_MESSAGE(s.started(), s.error());
  const Bytes q = query_bytes("app.example.com", 9);
  TcpConnection stalled;
  REQUIRE(stalled.connect(s.ep()));
  Bytes half;
  put_u16(half, static_cast<uint16_t>(q.size()));
  half.insert(half.end(), q.begin(), q.begin() + static_cast<long>(q.size() / 2));
  const auto t0 = Clock::now();  // before the server can have started its timer
  REQUIRE(stalled.send_raw(half));

  // Meanwhile another client is served, several times.
  TcpConnection other;
  REQUIRE(other.connect(s.ep()));
  for (int i = 0; i < 3; ++i) {
    REQUIRE(other.send_message(query_bytes("mail.example.com", static_cast<uint16_t>(50 + i))));
    const Message m = read_parsed(other);
    REQUIRE_MESSAGE(m.ok, m.error);
    CHECK(m.answer.size() == 2);
  }
  QuerySpec u("app.example.com");
  CHECK(ask_udp(s.ep(), u).answer.size() == 1);

  CHECK(stalled.wait_closed(std::chrono::seconds(30)) == TcpConnection::Wait::closed);
  CHECK(Clock::now() - t0 >= std::chrono::milliseconds(950));
  // The other connection (idle timeout 60 s) is still open and working.
  REQUIRE(other.send_message(query_bytes("app.example.com", 60)));
  CHECK(read_parsed(other).id == 60);

  SUBCASE("only the length prefix, or one byte of it") {
    TcpConnection one;
    REQUIRE(one.connect(s.ep()));
    REQUIRE(one.send_raw(Bytes{0x00}));
    TcpConnection two;
    REQUIRE(two.connect(s.ep()));
    REQUIRE(two.send_raw(Bytes{0x00, 0x40}));
    CHECK(two.wait_closed(std::chrono::seconds(30)) == TcpConnection::Wait::closed);
    // One byte of the length: the idle timer (60 s) applies, not checked here.
  }
  CHECK(s.stop() == 0);
  CHECK(s.log_clean());
}

TEST_CASE("a zero-length message closes the connection; others are unaffected") {
  TestServer s;
  REQUIRE_MESSAGE(s.started(), s.error());
  TcpConnection c;
  REQUIRE(c.connect(s.ep()));
  REQUIRE(c.send_raw(Bytes{0x00, 0x00}));
  CHECK(c.wait_closed(std::chrono::seconds(20)) == TcpConnection::Wait::closed);
  CHECK(query_works_within(s.ep(), std::chrono::seconds(20)));
  CHECK(s.stop() == 0);
}

TEST_CASE("SIGTERM with open connections still exits 0") {
  TestServer s;
  REQUIRE_MESSAGE(s.started(), s.error());
  TcpConnection idle, mid;
  REQUIRE(idle.connect(s.ep()));
  REQUIRE(mid.connect(s.ep()));
  REQUIRE(mid.send_raw(Bytes{0x00, 0x20, 0x12}));
  REQUIRE(idle.send_message(query_bytes("app.example.com", 1)));
  REQUIRE(read_parsed(idle).ok);
  CHECK(s.stop() == 0);
  CHECK(s.log_clean());
}
