// The L4 TCP proxy against real TCP backends: half-close, connect retry on refusal,
// PROXY protocol v1/v2, idle timeout, per-backend connection cap; L4 and L7 listeners of one
// region across reloads.
#include <doctest/doctest.h>

#include "forward_support/backends.hpp"
#include "health/health_table.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;

namespace {

// Reads everything until EOF, then answers "NAME got N: DATA" and closes.
Server::Serve until_eof(std::string name, std::string* first_bytes = nullptr, std::mutex* m = nullptr) {
  return [name, first_bytes, m](tcp::socket& s) {
    std::string got;
    char buf[4096];
    boost::system::error_code ec;
    for (;;) {
      const std::size_t n = s.read_some(asio::buffer(buf), ec);
      if (ec) break;
      got.append(buf, n);
    }
    if (first_bytes) {
      std::lock_guard l(*m);
      *first_bytes = got;
    }
    const std::string reply = name + " got " + std::to_string(got.size()) + ": " + got;
    asio::write(s, asio::buffer(reply), ec);
  };
}

json l4_region(const std::vector<std::string>& addresses, json l4, json forward = json::object()) {
  l4["listen"] = "127.0.0.1:0";
  json list = json::array();
  for (const auto& a : addresses) list.push_back(a);
  forward["l4"] = l4;
  return {{"backends", list}, {"forward", forward}};
}

// Connects, sends, half-closes, reads the whole answer.
std::string half_close_exchange(uint16_t port, const std::string& data) {
  asio::io_context io;
  auto s = connect_raw(io, port);
  boost::system::error_code ec;
  asio::write(*s, asio::buffer(data), ec);
  s->shutdown(tcp::socket::shutdown_send, ec);
  std::string out;
  char buf[4096];
  for (;;) {
    const std::size_t n = s->read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

}  // namespace

TEST_CASE("L4 proxies both ways and passes half-close through") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  Server a(until_eof("a"));
  tier.apply(services(l4_region({a.address()}, json::object())));
  const uint16_t port = port_of(tier, "l4");
  REQUIRE(port != 0);
  CHECK(half_close_exchange(port, "hello") == "a got 5: hello");
  const std::string big(300000, 'z');
  CHECK(half_close_exchange(port, big) == "a got 300000: " + big);
}

TEST_CASE("L4 retries the connect on another backend when one refuses") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  Server refused(until_eof("dead"));
  const std::string dead = refused.address();
  refused.stop();
  Server b(until_eof("b"));
  tier.apply(services(l4_region({dead, b.address()}, {{"balance", "round_robin"}},
                                {{"outlier", {{"consecutive_failures", 0}}}})));
  const uint16_t port = port_of(tier, "l4");
  for (int i = 0; i < 10; ++i) CHECK(half_close_exchange(port, "x") == "b got 1: x");
  CHECK(tier.metrics().find("meridian_forward_tcp_connect_retries_total") != std::string::npos);
  CHECK(backend_status(tier, dead)["connect_failures"].get<int>() >= 4);
}

TEST_CASE("L4 sends PROXY protocol v1 and v2 headers") {
  std::mutex m;
  std::string seen;
  Server a(until_eof("a", &seen, &m));
  for (const char* version : {"v1", "v2"}) {
    CAPTURE(version);
    meridian::health::HealthTable health;
    ForwardingTier tier(health);
    tier.apply(services(l4_region({a.address()}, {{"proxy_protocol", version}})));
    const uint16_t port = port_of(tier, "l4");
    asio::io_context io;
    auto s = connect_raw(io, port);
    const uint16_t client_port = s->local_endpoint().port();
    boost::system::error_code ec;
    asio::write(*s, asio::buffer(std::string("data")), ec);
    s->shutdown(tcp::socket::shutdown_send, ec);
    char buf[512];
    while (!ec) s->read_some(asio::buffer(buf), ec);
    std::lock_guard l(m);
    if (std::string(version) == "v1") {
      CHECK(seen == "PROXY TCP4 127.0.0.1 127.0.0.1 " + std::to_string(client_port) + " " + std::to_string(port) +
                        "\r\ndata");
    } else {
      REQUIRE(seen.size() == 16 + 12 + 4);
      CHECK(seen.substr(0, 12) == std::string("\r\n\r\n\0\r\nQUIT\n", 12));
      CHECK(seen[12] == '\x21');
      CHECK(seen[13] == '\x11');
      CHECK(seen[14] == 0);
      CHECK(seen[15] == 12);
      CHECK(seen.substr(16, 8) == std::string("\x7f\0\0\x01\x7f\0\0\x01", 8));
      CHECK(((uint8_t(seen[24]) << 8) | uint8_t(seen[25])) == client_port);
      CHECK(((uint8_t(seen[26]) << 8) | uint8_t(seen[27])) == port);
      CHECK(seen.substr(28) == "data");
    }
  }
}

TEST_CASE("L4 idle timeout and per-backend connection cap") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  Server a(until_eof("a"));
  tier.apply(services(
      l4_region({a.address()}, {{"idle_timeout", "500ms"}, {"connect_attempts", 1}},
                {{"bulkhead", {{"max_connections", 1}}}, {"outlier", {{"consecutive_failures", 0}}}})));
  const uint16_t port = port_of(tier, "l4");
  asio::io_context io;
  auto first = connect_raw(io, port);
  // the one slot is taken: a second connection is closed without reaching the backend
  CHECK(wait_until([&] { return backend_status(tier, a.address())["active"] == 1; }));
  auto second = connect_raw(io, port);
  char buf[64];
  boost::system::error_code ec;
  second->read_some(asio::buffer(buf), ec);
  CHECK(ec == asio::error::eof);
  // the first one idles out; then the slot is free again
  const auto t = std::chrono::steady_clock::now();
  first->read_some(asio::buffer(buf), ec);
  CHECK(ec);
  CHECK(std::chrono::steady_clock::now() - t < std::chrono::seconds(10));
  CHECK(wait_until([&] { return backend_status(tier, a.address())["active"] == 0; }));
  CHECK(half_close_exchange(port, "again") == "a got 5: again");
}

TEST_CASE("a region with L4 and L7 listeners: reload keeps each, closes the one dropped; a shared address is refused") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend a("a"), b("b");
  const auto both = [](HttpBackend& backend) {
    return json{{"backends", backend_list({&backend})},
                {"forward", {{"l4", {{"listen", "127.0.0.1:0"}}}, {"l7", {{"listen", "127.0.0.1:0"}}}}}};
  };
  tier.apply(services(both(a)));
  const auto listening = tier.listening();
  REQUIRE(listening.size() == 2);
  CHECK(listening[0].rfind("l7 ", 0) == 0);  // L7 listed first, as status and metrics list them
  CHECK(listening[1].rfind("l4 ", 0) == 0);
  const json st = tier.status();
  REQUIRE(st["listeners"].size() == 2);
  CHECK(st["listeners"][0]["kind"] == "l7");
  CHECK(st["listeners"][1]["kind"] == "l4");
  const uint16_t l4_port = port_of(tier, "l4"), l7_port = port_of(tier, "l7");
  Client via_l4(l4_port), via_l7(l7_port);
  CHECK(via_l4.get("/")["X-Backend"] == "a");
  CHECK(via_l7.get("/")["X-Backend"] == "a");

  // new backends: both listeners stay, with their connections (the L4 one still relays to a)
  tier.apply(services(both(b)));
  CHECK(port_of(tier, "l4") == l4_port);
  CHECK(port_of(tier, "l7") == l7_port);
  CHECK(via_l4.get("/")["X-Backend"] == "a");
  CHECK(via_l7.get("/")["X-Backend"] == "b");
  CHECK(Client(l4_port).get("/")["X-Backend"] == "b");

  // L7 dropped from the region: its listener closes, the L4 one goes on
  json l4_only = both(b);
  l4_only["forward"].erase("l7");
  tier.apply(services(l4_only));
  REQUIRE(tier.listening().size() == 1);
  CHECK(port_of(tier, "l4") == l4_port);
  CHECK(via_l4.get("/")["X-Backend"] == "a");
  {
    asio::io_context io;
    tcp::socket s(io);
    boost::system::error_code ec;
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), l7_port), ec);
    CHECK(ec);  // nothing listens there any more
  }

  // two regions asking for one address: refused before anything is bound, naming both
  json taken = both(b);
  taken["forward"].erase("l7");
  taken["forward"]["l4"]["listen"] = "127.0.0.1:" + std::to_string(l4_port);
  auto plan = services(taken, "web", "eu");
  plan.push_back(services(taken, "web", "us").front());
  try {
    tier.apply(plan);
    FAIL("apply should have thrown");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    CHECK(what.find("127.0.0.1:" + std::to_string(l4_port)) != std::string::npos);
    CHECK(what.find("used by both web/eu and web/us") != std::string::npos);
  }
  CHECK(port_of(tier, "l4") == l4_port);
  CHECK(Client(l4_port).get("/")["X-Backend"] == "b");
}  // the clients close before the tier stops, so it has no connection to wait for
