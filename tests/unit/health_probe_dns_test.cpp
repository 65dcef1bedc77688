// The "dns" probe alone, against DNS responders this test runs on 127.0.0.1 (UDP and
// TCP): the query it sends, the expected rcode, expected answer addresses, a stray
// datagram before the response, a responder that never answers.
#include <doctest/doctest.h>

#include <functional>

#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>

#include "health/checks/probes/dns_probe.hpp"
#include "unit/support/probe_bench.hpp"

#include <ldns/ldns.h>  // last: its C headers define bool

using namespace meridian;
using namespace meridian::test;
using udp = asio::ip::udp;

namespace {

using Wire = std::vector<uint8_t>;

// The answer to `query` with this rcode and these answer records ("NAME TTL IN A ADDR");
// id_delta shifts the id (a response to another query).
Wire response_to(const Wire& query, ldns_pkt_rcode rcode, const std::vector<std::string>& answers = {},
                 uint16_t id_delta = 0) {
  ldns_pkt* q = nullptr;
  REQUIRE(ldns_wire2pkt(&q, query.data(), query.size()) == LDNS_STATUS_OK);
  ldns_pkt_set_qr(q, true);
  ldns_pkt_set_aa(q, true);
  ldns_pkt_set_rcode(q, rcode);
  ldns_pkt_set_id(q, static_cast<uint16_t>(ldns_pkt_id(q) + id_delta));
  for (const auto& text : answers) {
    ldns_rr* rr = nullptr;
    REQUIRE(ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK);
    ldns_pkt_push_rr(q, LDNS_SECTION_ANSWER, rr);
  }
  uint8_t* wire = nullptr;
  std::size_t size = 0;
  REQUIRE(ldns_pkt2wire(&wire, q, &size) == LDNS_STATUS_OK);
  Wire out(wire, wire + size);
  LDNS_FREE(wire);
  ldns_pkt_free(q);
  return out;
}

using Answer = std::function<std::vector<Wire>(const Wire& query)>;

// Answers each datagram with what `answer` returns (nothing: silence).
class UdpDnsResponder {
 public:
  UdpDnsResponder(asio::io_context& io, Answer answer) : socket_(io, udp::endpoint(kLoopback, 0)), answer_(std::move(answer)) {
    receive();
  }
  tcp::endpoint endpoint() const { return {kLoopback, socket_.local_endpoint().port()}; }
  const std::vector<Wire>& queries() const { return queries_; }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void receive() {
    socket_.async_receive_from(asio::buffer(buffer_), from_, [this](const boost::system::error_code& ec, std::size_t n) {
      if (ec) return;
      queries_.emplace_back(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
      for (const Wire& w : answer_(queries_.back())) socket_.send_to(asio::buffer(w), from_);
      receive();
    });
  }
  udp::socket socket_;
  Answer answer_;
  udp::endpoint from_;
  std::array<uint8_t, 65535> buffer_{};
  std::vector<Wire> queries_;
};

// One TCP connection: reads a length-prefixed query, writes the answers length-prefixed.
class TcpDnsResponder {
 public:
  TcpDnsResponder(asio::io_context& io, Answer answer)
      : acceptor_(io, tcp::endpoint(kLoopback, 0)), socket_(io), answer_(std::move(answer)) {
    acceptor_.async_accept(socket_, [this](const boost::system::error_code& ec) {
      if (ec) return;
      asio::async_read(socket_, asio::buffer(length_), [this](const boost::system::error_code& e, std::size_t) {
        if (e) return;
        query_.resize(static_cast<std::size_t>(length_[0] << 8 | length_[1]));
        asio::async_read(socket_, asio::buffer(query_), [this](const boost::system::error_code& e2, std::size_t) {
          if (e2) return;
          for (const Wire& w : answer_(query_)) {
            const uint8_t len[2] = {static_cast<uint8_t>(w.size() >> 8), static_cast<uint8_t>(w.size())};
            asio::write(socket_, asio::buffer(len));
            asio::write(socket_, asio::buffer(w));
          }
        });
      });
    });
  }
  tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  const Wire& query() const { return query_; }
  void close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    socket_.close(ignored);
  }

 private:
  tcp::acceptor acceptor_;
  tcp::socket socket_;
  Answer answer_;
  std::array<uint8_t, 2> length_{};
  Wire query_;
};

health::CheckConfig dns_check(std::chrono::milliseconds timeout = 5000ms) {
  health::CheckConfig c;
  c.kind = health::CheckConfig::dns;
  c.timeout = timeout;
  c.qname = "www.example.test";
  return c;
}

Attempt probe_udp(const health::CheckConfig& config, Answer answer, Wire* query = nullptr) {
  asio::io_context io;
  UdpDnsResponder responder(io, std::move(answer));
  auto probe = health::make_dns_probe(io.get_executor(), config);
  const Attempt a = run_attempt(io, *probe, responder.endpoint(), config.timeout, responder);
  CHECK(a.reports == 1);
  if (query) {
    REQUIRE(responder.queries().size() == 1);
    *query = responder.queries().front();
  }
  return a;
}

Answer rcode(ldns_pkt_rcode code, std::vector<std::string> answers = {}) {
  return [=](const Wire& q) { return std::vector<Wire>{response_to(q, code, answers)}; };
}

}  // namespace

TEST_CASE("dns probe: asks for qname/qtype without recursion; the expected rcode is up") {
  health::CheckConfig c = dns_check();
  c.qtype = LDNS_RR_TYPE_AAAA;
  Wire query;
  const Attempt a = probe_udp(c, rcode(LDNS_RCODE_NOERROR), &query);
  CHECK(a.result.ok);
  CHECK(a.result.reason == "rcode NOERROR");
  ldns_pkt* q = nullptr;
  REQUIRE(ldns_wire2pkt(&q, query.data(), query.size()) == LDNS_STATUS_OK);
  CHECK_FALSE(ldns_pkt_rd(q));
  REQUIRE(ldns_pkt_qdcount(q) == 1);
  const ldns_rr* question = ldns_rr_list_rr(ldns_pkt_question(q), 0);
  char* name = ldns_rdf2str(ldns_rr_owner(question));
  CHECK(std::string(name) == "www.example.test.");
  free(name);
  CHECK(ldns_rr_get_type(question) == LDNS_RR_TYPE_AAAA);
  ldns_pkt_free(q);
}

TEST_CASE("dns probe: another rcode than expect_rcode is down, with the rcode as reason") {
  const Attempt servfail = probe_udp(dns_check(), rcode(LDNS_RCODE_SERVFAIL));
  CHECK_FALSE(servfail.result.ok);
  CHECK(servfail.result.reason == "rcode SERVFAIL");
  const Attempt refused = probe_udp(dns_check(), rcode(LDNS_RCODE_REFUSED));
  CHECK_FALSE(refused.result.ok);
  CHECK(refused.result.reason == "rcode REFUSED");

  health::CheckConfig nx = dns_check();
  nx.expect_rcode = 3;  // NXDOMAIN
  CHECK(probe_udp(nx, rcode(LDNS_RCODE_NXDOMAIN)).result.ok);
  const Attempt found = probe_udp(nx, rcode(LDNS_RCODE_NOERROR));
  CHECK_FALSE(found.result.ok);
  CHECK(found.result.reason == "rcode NOERROR");
}

TEST_CASE("dns probe: expect_answer addresses must all be in the answer") {
  health::CheckConfig c = dns_check();
  c.expect_answer = {"192.0.2.1", "2001:db8::1"};
  const Answer both = rcode(LDNS_RCODE_NOERROR, {"www.example.test. 60 IN A 192.0.2.1", "www.example.test. 60 IN A 192.0.2.2",
                                                  "www.example.test. 60 IN AAAA 2001:db8::1"});
  const Attempt ok = probe_udp(c, both);
  CHECK(ok.result.ok);
  CHECK(ok.result.reason == "rcode NOERROR, 3 answers");

  const Attempt lacks = probe_udp(c, rcode(LDNS_RCODE_NOERROR, {"www.example.test. 60 IN A 192.0.2.1"}));
  CHECK_FALSE(lacks.result.ok);
  CHECK(lacks.result.reason == "answer lacks 2001:db8::1");
}

TEST_CASE("dns probe: a datagram that answers another id is skipped; silence is a timeout") {
  const Attempt a = probe_udp(dns_check(), [](const Wire& q) {
    return std::vector<Wire>{response_to(q, LDNS_RCODE_SERVFAIL, {}, 1), Wire{1, 2, 3}, response_to(q, LDNS_RCODE_NOERROR)};
  });
  CHECK(a.result.ok);
  CHECK(a.result.reason == "rcode NOERROR");

  const Attempt silent = probe_udp(dns_check(300ms), [](const Wire&) { return std::vector<Wire>{}; });
  CHECK_FALSE(silent.result.ok);
  CHECK(silent.result.reason == "timeout after 300ms");
  CHECK(silent.took >= 300ms);
}

TEST_CASE("dns probe over TCP: length-prefixed query and response") {
  for (const auto code : {LDNS_RCODE_NOERROR, LDNS_RCODE_SERVFAIL}) {
    asio::io_context io;
    TcpDnsResponder responder(io, rcode(code, {"www.example.test. 60 IN A 192.0.2.1"}));
    health::CheckConfig c = dns_check();
    c.dns_tcp = true;
    c.expect_answer = {"192.0.2.1"};
    auto probe = health::make_dns_probe(io.get_executor(), c);
    const Attempt a = run_attempt(io, *probe, responder.endpoint(), c.timeout, responder);
    CHECK(a.reports == 1);
    CHECK(a.result.ok == (code == LDNS_RCODE_NOERROR));
    CHECK(a.result.reason == (code == LDNS_RCODE_NOERROR ? "rcode NOERROR, 1 answers" : "rcode SERVFAIL"));
    ldns_pkt* q = nullptr;
    REQUIRE(ldns_wire2pkt(&q, responder.query().data(), responder.query().size()) == LDNS_STATUS_OK);
    CHECK(ldns_pkt_qdcount(q) == 1);
    ldns_pkt_free(q);
  }
}
