// HTTP/2 toward backends (lib/forward/l7/h2): the header translation, the response relay
// of a client connection (head, body pieces, trailers as they come), and the session pool
// against an in-process HTTP/2 server on loopback (streams multiplexed under the server's
// SETTINGS_MAX_CONCURRENT_STREAMS, more sessions when full up to the cap, and streams of a
// session that dies failed, those never sent marked safe to retry).
#include <doctest/doctest.h>

#include <algorithm>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)
#include <boost/beast/core/string.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "forward/core/tier_core.hpp"
#include "forward/settings.hpp"
#include "forward/l7/h2/client_pool.hpp"
#include "forward/l7/h2/header_translation.hpp"
#include "forward/l7/h2/serve.hpp"
#include "forward/l7/h2/server_connection.hpp"
#include "health/health_table.hpp"
#include "integration/forward_support/h2_frames.hpp"
#include "tls/client_tls.hpp"

namespace h2 = meridian::forward::l7::h2;
namespace f = fwdtest::h2frames;
namespace http = boost::beast::http;
namespace asio = boost::asio;
using meridian::forward::Http2Settings;

TEST_CASE("h2 toward backends: a backend's \"protocol\" and \"h2_max_sessions\"") {
  using nlohmann::json;
  meridian::forward::RegionForward f;
  std::string errors;
  const auto sink = [&](const json::json_pointer& at, const std::string& m) { errors += at.to_string() + " " + m + "\n"; };
  REQUIRE(meridian::forward::parse_region(json::parse(R"({"backends": [
      {"address": "127.0.0.1:9001", "protocol": "h2", "h2_max_sessions": 2},
      {"address": "127.0.0.1:9002", "protocol": "h2", "tls": {"verify": false}},
      {"address": "127.0.0.1:9003", "protocol": "http/1.1", "tls": true}, "127.0.0.1:9004"],
      "forward": {"l7": {"listen": "127.0.0.1:0"}}})"), f, sink));
  CHECK(errors.empty());
  REQUIRE(f.backend_h2.size() == 2);
  CHECK(f.backend_h2.at("127.0.0.1:9001").max_sessions == 2);
  CHECK(f.backend_h2.at("127.0.0.1:9002").max_sessions == 4);
  // TLS toward an h2 backend offers ALPN h2; toward an HTTP/1.1 one, none (as before)
  CHECK(f.backend_tls.at("127.0.0.1:9002")->settings().alpn == std::vector<std::string>{"h2"});
  CHECK(f.backend_tls.at("127.0.0.1:9003")->settings().alpn.empty());

  errors.clear();
  CHECK_FALSE(meridian::forward::parse_region(
      json::parse(R"({"backends": [{"address": "127.0.0.1:9001", "protocol": "h3"},
                                   {"address": "127.0.0.1:9002", "protocol": "h2", "h2_max_sessions": 0}],
                      "forward": {"l7": {"listen": "127.0.0.1:0"}}})"),
      f, sink));
  CHECK(errors.find("/backends/0/protocol") != std::string::npos);
  CHECK(errors.find("/backends/1/h2_max_sessions") != std::string::npos);
}

TEST_CASE("h2 toward backends: the request's header block") {
  h2::Request req(http::verb::post, "/pkg.Svc/Call?x=1", 11);
  req.set(http::field::host, "api.test:8080");
  req.set("Content-Type", "application/grpc");
  req.set("X-Forwarded-For", "10.0.0.1");
  req.set(http::field::te, "trailers");
  req.set(http::field::connection, "keep-alive");
  req.set("Keep-Alive", "timeout=5");
  req.set("Transfer-Encoding", "chunked");
  CHECK(h2::wants_trailers(req));
  const h2::HeaderList block = h2::request_header_block(req, true, true);
  REQUIRE(block.size() == 7);
  CHECK(block[0] == std::pair<std::string, std::string>{":method", "POST"});
  CHECK(block[1] == std::pair<std::string, std::string>{":scheme", "https"});
  CHECK(block[2] == std::pair<std::string, std::string>{":authority", "api.test:8080"});
  CHECK(block[3] == std::pair<std::string, std::string>{":path", "/pkg.Svc/Call?x=1"});
  CHECK(block[4] == std::pair<std::string, std::string>{"content-type", "application/grpc"});
  CHECK(block[5] == std::pair<std::string, std::string>{"x-forwarded-for", "10.0.0.1"});
  CHECK(block[6] == std::pair<std::string, std::string>{"te", "trailers"});
  CHECK(h2::request_header_block(req, false, false)[1].second == "http");
  CHECK(h2::request_header_block(req, false, false).size() == 6);  // no te

  h2::Request other(http::verb::get, "/", 11);
  other.set(http::field::te, "gzip, trailers;q=0.5");
  CHECK(h2::wants_trailers(other));
  other.set(http::field::te, "gzip, nontrailers");
  CHECK_FALSE(h2::wants_trailers(other));
  other.erase(http::field::te);
  CHECK_FALSE(h2::wants_trailers(other));
}

TEST_CASE("h2 toward backends: the response head, trailers and grpc-status") {
  h2::Response res;
  CHECK(h2::add_response_field(res, ":status", "404"));
  CHECK(res.result_int() == 404);
  CHECK_FALSE(h2::add_response_field(res, ":status", "20"));
  CHECK_FALSE(h2::add_response_field(res, ":status", "2x0"));
  CHECK(h2::add_response_field(res, "content-type", "application/grpc"));
  CHECK(h2::add_response_field(res, "connection", "close"));  // dropped: not an HTTP/2 field
  CHECK(h2::add_response_field(res, ":unknown", "x"));         // dropped
  CHECK(res["content-type"] == "application/grpc");
  CHECK(res.find(http::field::connection) == res.end());
  CHECK(std::distance(res.begin(), res.end()) == 1);
  CHECK(h2::valid_trailer("grpc-status"));
  CHECK_FALSE(h2::valid_trailer(":status"));
  CHECK_FALSE(h2::valid_trailer("transfer-encoding"));
  CHECK(h2::grpc_status_index("0") == 0);
  CHECK(h2::grpc_status_index("16") == 16);
  CHECK(h2::grpc_status_index("17") == h2::kGrpcOther);
  CHECK(h2::grpc_status_index("05") == h2::kGrpcOther);
  CHECK(h2::grpc_status_index("") == h2::kGrpcOther);
  CHECK(h2::grpc_status_index("x") == h2::kGrpcOther);
  CHECK(h2::grpc_status_label(3) == "3");
  CHECK(h2::grpc_status_label(h2::kGrpcOther) == "other");
}

TEST_CASE("h2: lower-case names of the fields Beast knows, and the connection-specific ones") {
  CHECK(h2::lower_field_name(http::field::content_type) == "content-type");
  CHECK(h2::lower_field_name(http::field::www_authenticate) == "www-authenticate");
  CHECK(h2::lower_field_name(http::field::xref) == "xref");  // the table's last entry
  CHECK(h2::lower_field_name(http::field::unknown).empty());
  // Every entry is the lower-case form of Beast's name, and names it back.
  for (unsigned i = 1; i <= static_cast<unsigned>(http::field::xref); ++i) {
    const auto f = static_cast<http::field>(i);
    const std::string_view lower = h2::lower_field_name(f);
    CHECK(boost::beast::iequals(boost::beast::string_view(lower.data(), lower.size()), http::to_string(f)));
    CHECK(std::none_of(lower.begin(), lower.end(), [](char c) { return c >= 'A' && c <= 'Z'; }));
    CHECK(http::string_to_field(boost::beast::string_view(lower.data(), lower.size())) == f);
  }
  for (const auto f : {http::field::connection, http::field::keep_alive, http::field::proxy_connection,
                       http::field::transfer_encoding, http::field::upgrade, http::field::te})
    CHECK(h2::connection_specific(f));
  CHECK_FALSE(h2::connection_specific(http::field::content_length));
  CHECK_FALSE(h2::connection_specific(http::field::unknown));
}

namespace {

std::size_t count(const std::vector<f::Frame>& fs, uint8_t type, uint32_t stream) {
  std::size_t n = 0;
  for (const auto& fr : fs) n += fr.type == type && fr.stream == stream;
  return n;
}

// A client connection whose handler relays its answer in pieces, as an HTTP/2 backend's
// would come: the head, then `pieces` (each after the test opens the gate), then trailers.
struct RelayHarness {
  asio::io_context io;
  h2::ServerCounters counters;
  std::shared_ptr<h2::ServerConnection> c;
  asio::steady_timer gate{io, std::chrono::steady_clock::time_point::max()};
  std::vector<std::string> pieces;
  bool trailers_only = false;
  h2::ResponseRelay::Trailers request_trailers;
  std::string out;
  std::size_t used = 0;

  RelayHarness() {
    c = std::make_shared<h2::ServerConnection>(
        io, h2::ServerLimits{Http2Settings{}, 4096, 1024},
        [this](h2::StreamRequest& r, h2::Response& res) -> asio::awaitable<void> {
          request_trailers = r.trailers;
          REQUIRE(r.relay);
          h2::Response head(http::status::ok, 11);
          head.set(http::field::content_type, "application/grpc");
          if (trailers_only) head.set("grpc-status", "5");
          r.relay->start(head, trailers_only);
          for (const auto& p : pieces) {
            boost::system::error_code ec;
            co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            gate.expires_at(std::chrono::steady_clock::time_point::max());
            r.relay->data(p);
          }
          if (!trailers_only) r.relay->finish({{"grpc-status", "0"}, {"grpc-message", "fine"}});
          res = h2::Response(http::status::bad_gateway, 11);  // not sent: the relay answered
          res.body() = "never";
        },
        counters);
    c->on_output = [] {};
  }
  std::vector<f::Frame> frames() {
    c->take_output(out);
    return f::parse(out, used);
  }
};

}  // namespace

TEST_CASE("h2: a relayed answer goes out as it comes, trailers last") {
  RelayHarness h;
  h.pieces = {"first", "second"};
  const std::string start = std::string(f::kPreface) + f::settings() + f::headers(1, f::get_block("a.test", "/s"), false) +
                            f::data(1, "req", false) + f::headers(1, f::literal("x-client-trailer", "t1"), true);
  REQUIRE(h.c->receive(start.data(), start.size()));
  h.io.poll();
  CHECK(h.request_trailers == h2::ResponseRelay::Trailers{{"x-client-trailer", "t1"}});
  auto fs = h.frames();
  CHECK(count(fs, f::HEADERS, 1) == 1);  // the head, at once, before any body
  CHECK(count(fs, f::DATA, 1) == 0);
  h.gate.cancel();  // the first piece arrives
  h.io.poll();
  fs = h.frames();
  REQUIRE(count(fs, f::DATA, 1) == 1);
  for (const auto& fr : fs)
    if (fr.type == f::DATA) {
      CHECK(fr.payload == "first");
      CHECK_FALSE((fr.flags & f::END_STREAM));
    }
  h.gate.cancel();  // the second, then the trailers
  h.io.run();
  fs = h.frames();
  std::string body;
  for (const auto& fr : fs) {
    if (fr.type == f::DATA) {
      body += fr.payload;
      CHECK_FALSE((fr.flags & f::END_STREAM));
    }
    CHECK(fr.payload.find("never") == std::string::npos);  // the handler's own response is not sent
  }
  CHECK(body == "second");
  REQUIRE(!fs.empty());
  CHECK(fs.back().type == f::HEADERS);  // the trailers end the stream
  CHECK((fs.back().flags & f::END_STREAM));
}

TEST_CASE("h2: a trailers-only relayed answer is one HEADERS frame that ends the stream") {
  RelayHarness h;
  h.trailers_only = true;
  const std::string start = std::string(f::kPreface) + f::settings() + f::headers(1, f::get_block("a.test", "/e"));
  REQUIRE(h.c->receive(start.data(), start.size()));
  h.io.run();
  const auto fs = h.frames();
  REQUIRE(count(fs, f::HEADERS, 1) == 1);
  CHECK(count(fs, f::DATA, 1) == 0);
  for (const auto& fr : fs)
    if (fr.type == f::HEADERS) CHECK((fr.flags & f::END_STREAM));
}

namespace {

// An HTTP/2 server on loopback in the same io_context: each request waits for `gate`
// (when held) and gets 200 "ok". Counts connections and the most streams in flight at once.
struct LoopbackServer {
  asio::io_context& io;
  meridian::forward::TierCore& core;
  asio::ip::tcp::acceptor acceptor;
  h2::ServerCounters counters;
  asio::steady_timer gate;
  bool hold = true;
  int connections = 0;
  int in_flight = 0, max_in_flight = 0;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> sockets;

  LoopbackServer(asio::io_context& io, meridian::forward::TierCore& core, uint32_t max_streams)
      : io(io), core(core), acceptor(io, {asio::ip::make_address("127.0.0.1"), 0}),
        gate(io, std::chrono::steady_clock::time_point::max()) {
    asio::co_spawn(io, accept(max_streams), asio::detached);
  }
  uint16_t port() const { return acceptor.local_endpoint().port(); }

  asio::awaitable<void> accept(uint32_t max_streams) {
    for (;;) {
      boost::system::error_code ec;
      auto s = std::make_shared<asio::ip::tcp::socket>(io);
      co_await acceptor.async_accept(*s, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      ++connections;
      sockets.push_back(s);
      asio::co_spawn(io, serve(s, max_streams), asio::detached);
    }
  }
  asio::awaitable<void> serve(std::shared_ptr<asio::ip::tcp::socket> s, uint32_t max_streams) {
    Http2Settings settings;
    settings.max_concurrent_streams = max_streams;
    auto c = std::make_shared<h2::ServerConnection>(
        io, h2::ServerLimits{settings, 16384, 1 << 20},
        [this](h2::StreamRequest&, h2::Response& res) -> asio::awaitable<void> {
          max_in_flight = std::max(max_in_flight, ++in_flight);
          if (hold) {
            boost::system::error_code ec;
            co_await gate.async_wait(asio::redirect_error(asio::use_awaitable, ec));
          }
          --in_flight;
          res = h2::Response(http::status::ok, 11);
          res.body() = "ok";
          res.prepare_payload();
        },
        counters);
    meridian::forward::Deadline deadline(core, *s);
    bool idle = false, closing = false;
    co_await h2::serve(*s, deadline, c, {}, {std::chrono::seconds(30), std::chrono::seconds(30)}, {idle, closing});
  }
};

struct Outcome {
  std::shared_ptr<h2::ClientSession> session;
  bool done = false;
  unsigned status = 0;
  std::string body, failure;
  bool refused = false;
};

// One stream through the pool, as the listener's exchange sends it.
asio::awaitable<void> send(h2::ClientPool& pool, asio::io_context& io, uint16_t port, uint32_t max_sessions,
                           Outcome& out) {
  auto session = pool.acquire(nullptr, max_sessions, std::chrono::seconds(5), std::chrono::seconds(30));
  out.session = session;
  auto st = std::make_shared<h2::ClientStream>(io.get_executor());
  h2::Request req(http::verb::get, "/", 11);
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  st->head = h2::request_header_block(req, false, false);
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  auto wait = [&]() -> asio::awaitable<bool> {
    if (std::chrono::steady_clock::now() >= until) co_return false;
    st->wake.expires_at(until);
    boost::system::error_code ec;
    co_await st->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return true;
  };
  if (session->state() == h2::ClientSession::State::connecting) {
    session->wait_ready(st);
    while (session->state() == h2::ClientSession::State::connecting && co_await wait()) {
    }
  }
  if (session->submit(st))
    while (!st->closed && co_await wait()) {
    }
  out.done = st->closed;
  out.status = st->have_head ? st->response.result_int() : 0;
  out.body = st->data;
  out.failure = st->failure;
  out.refused = st->refused;
}

// Ends every coroutine before the core and the io_context go (their frames hold deadlines).
void shut_down(asio::io_context& io, meridian::forward::TierCore& core, LoopbackServer& server) {
  boost::system::error_code ec;
  server.acceptor.close(ec);
  for (auto& s : server.sockets) s->close(ec);
  server.hold = false;
  server.gate.cancel();
  core.close_all(true);
  io.restart();
  io.run_for(std::chrono::seconds(2));
}

template <class Pred>
bool run_until(asio::io_context& io, Pred p) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!p() && std::chrono::steady_clock::now() < end) io.run_for(std::chrono::milliseconds(10));
  return p();
}

}  // namespace

TEST_CASE("h2 session pool: streams share sessions up to the backend's limit, then more sessions up to the cap") {
  asio::io_context io;
  meridian::health::HealthTable health;
  meridian::forward::TierCore core(io, health);
  LoopbackServer server(io, core, 2);  // SETTINGS_MAX_CONCURRENT_STREAMS 2
  h2::ClientPool pool(core, {asio::ip::make_address("127.0.0.1"), server.port()});
  std::vector<Outcome> out(7);
  // the first stream opens a session and learns the server's limit
  asio::co_spawn(io, send(pool, io, server.port(), 3, out[0]), asio::detached);
  REQUIRE(run_until(io, [&] { return server.in_flight == 1 && out[0].session->settings_received(); }));
  CHECK(out[0].session->capacity(100) == 2);
  for (std::size_t i = 1; i < out.size(); ++i) asio::co_spawn(io, send(pool, io, server.port(), 3, out[i]), asio::detached);
  REQUIRE(run_until(io, [&] { return server.in_flight == 6; }));  // 3 sessions × 2 streams; the 7th waits
  CHECK(server.connections == 3);
  CHECK(pool.opened() == 3);
  CHECK(pool.sessions() == 3);
  server.gate.cancel();
  server.hold = false;
  REQUIRE(run_until(io, [&] { return std::all_of(out.begin(), out.end(), [](const Outcome& o) { return o.done; }); }));
  for (const auto& o : out) {
    CHECK(o.status == 200);
    CHECK(o.body == "ok");
    CHECK(o.failure.empty());
  }
  CHECK(server.max_in_flight == 6);
  CHECK(server.connections == 3);  // the 7th went on a session of the pool when one had room
  // a later stream reuses a pooled session
  Outcome again;
  asio::co_spawn(io, send(pool, io, server.port(), 3, again), asio::detached);
  REQUIRE(run_until(io, [&] { return again.done; }));
  CHECK(again.status == 200);
  CHECK(server.connections == 3);
  shut_down(io, core, server);
}

TEST_CASE("h2 session pool: a session that dies fails its streams into the retry logic") {
  asio::io_context io;
  meridian::health::HealthTable health;
  meridian::forward::TierCore core(io, health);
  LoopbackServer server(io, core, 100);
  h2::ClientPool pool(core, {asio::ip::make_address("127.0.0.1"), server.port()});
  Outcome a;
  asio::co_spawn(io, send(pool, io, server.port(), 1, a), asio::detached);
  REQUIRE(run_until(io, [&] { return server.in_flight == 1; }));
  for (auto& s : server.sockets) {  // the backend dies with the stream in flight
    boost::system::error_code ec;
    s->close(ec);
  }
  REQUIRE(run_until(io, [&] { return a.done; }));
  CHECK(a.status != 200);
  CHECK_FALSE(a.failure.empty());
  CHECK_FALSE(a.refused);  // it was sent: only an idempotent request may go again
  CHECK(pool.sessions() == 0);
  // nothing listens any more: the next stream's session fails to connect
  const uint16_t port = server.port();
  boost::system::error_code ignored;
  server.acceptor.close(ignored);
  Outcome b;
  asio::co_spawn(io, send(pool, io, port, 1, b), asio::detached);
  REQUIRE(run_until(io, [&] { return !b.failure.empty() || b.done; }));
  CHECK(b.refused);  // never sent: safe to retry anywhere
  shut_down(io, core, server);
}
