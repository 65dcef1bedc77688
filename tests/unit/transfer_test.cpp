// lib/transfer: TSIG against a known HMAC vector and against ldns (requests
// signed by ldns verified here, answers and every later message of a transfer
// signed here verified by ldns), AXFR/IXFR message splitting (64 KiB, one ID,
// the question in the first message only, SOA first and last, every record
// once), the ACL, and dynamic names (fallback, omit, refuse) on a state loaded
// as the server loads it.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <mutex>
#include <thread>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dns_stats.hpp"
#include "net/snapshot_holder.hpp"
#include "net/tcp_server.hpp"
#include "runtime/state_loader.hpp"
#include "runtime/zone_loading.hpp"
#include "transfer/transfer.hpp"
#include "unit/support/temp_dir.hpp"

// After the standard headers: ldns's headers define bool-related macros that break <optional>.
#include <ldns/ldns.h>

using namespace meridian;

namespace {

const char* const kSecret = "c2VjcmV0LWtleS1mb3ItdHJhbnNmZXJzLTMyYnl0ZXM=";  // "secret-key-for-transfers-32bytes"

std::string hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (const unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

struct PktDeleter {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktDeleter>;

// A transfer request built and (optionally) signed by ldns.
std::vector<uint8_t> request(const char* zone, ldns_rr_type type, uint16_t id, const char* key_name = nullptr,
                             const char* secret = kSecret, const char* algorithm = "hmac-sha256.",
                             std::optional<uint32_t> ixfr_serial = std::nullopt) {
  Pkt pkt(ldns_pkt_query_new(ldns_dname_new_frm_str(zone), type, LDNS_RR_CLASS_IN, 0));
  REQUIRE(pkt);
  ldns_pkt_set_id(pkt.get(), id);
  if (ixfr_serial) {
    ldns_rr* soa = nullptr;
    const std::string text = std::string(zone) + " 3600 IN SOA ns1." + zone + " h." + zone + " " +
                             std::to_string(*ixfr_serial) + " 1 1 1 1";
    REQUIRE(ldns_rr_new_frm_str(&soa, text.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK);
    ldns_pkt_push_rr(pkt.get(), LDNS_SECTION_AUTHORITY, soa);
  }
  if (key_name) REQUIRE(ldns_pkt_tsig_sign(pkt.get(), key_name, secret, 300, algorithm, nullptr) == LDNS_STATUS_OK);
  uint8_t* wire = nullptr;
  size_t size = 0;
  REQUIRE(ldns_pkt2wire(&wire, pkt.get(), &size) == LDNS_STATUS_OK);
  std::vector<uint8_t> out(wire, wire + size);
  free(wire);
  return out;
}

Pkt parse(const std::vector<uint8_t>& wire) {
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_wire2pkt(&pkt, wire.data(), wire.size()) == LDNS_STATUS_OK);
  return Pkt(pkt);
}

ldns_rdf* mac_of(const ldns_pkt* pkt) { return ldns_rr_rdf(ldns_pkt_tsig(pkt), 3); }

std::string big_zone(int names, uint32_t serial = 7, const std::string& notify = "\"127.0.0.1:5399\"") {
  std::string text = R"({"origin": "big.test.", "ttl": 3600,
    "soa": {"mname": "ns1", "rname": "hostmaster", "serial": )" + std::to_string(serial) + R"(, "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 300},
    "transfer": {"allow": ["127.0.0.1/32", {"net": "192.0.2.0/24", "key": "xfr"}], "notify": [)" + notify + R"(]},
    "records": {"@": {"NS": ["ns1", "ns2.example.net."], "MX": "10 mail"}, "ns1": {"A": "192.0.2.1"})";
  for (int i = 0; i < names; ++i)
    text += ",\n\"host" + std::to_string(i) + "\": {\"A\": \"10.0." + std::to_string(i / 250) + "." +
            std::to_string(i % 250) + "\", \"TXT\": \"\\\"" + std::string(100, 'x') + "\\\"\", \"MX\": \"10 mail\"}";
  return text + "}}";
}

const char* const kServices = R"(
  "services": {
    "web": {"policy": "geo", "ttl": 300, "geo": {"net:10.0.0.0/8": ["eu"], "default": ["us", "eu"]},
            "regions": {"eu": {"endpoints": ["192.0.2.11", "2001:db8::11"]},
                        "us": {"endpoints": ["192.0.2.21", "192.0.2.22", "2001:db8::21"]}}}
  })";

struct Loaded {
  test::UnitTempDir dir;
  std::optional<runtime::LoadedState> state;
  const query::Snapshot& snapshot() const { return *state->snapshot; }
};

std::unique_ptr<Loaded> load(const std::map<std::string, std::string>& zones, const std::string& extra = "") {
  auto l = std::make_unique<Loaded>();
  for (const auto& [name, text] : zones) l->dir.write("zones/" + name + ".json", text);
  const std::string path = l->dir.write(
      "meridian.json", R"({"dns": {"listen": ["127.0.0.1:0"]}, "zones": "zones/",
        "tsig": {"xfr": {"algorithm": "hmac-sha256", "secret": ")" + std::string(kSecret) + R"("},
                 "other": {"algorithm": "hmac-sha512", "secret": "b3RoZXI="}})" + extra + "}");
  config::Diagnostics d;
  l->state = runtime::load_state(path, d);
  INFO(d.to_string());
  REQUIRE(l->state);
  REQUIRE(runtime::count_zone_failures(*l->state->zone_reports) == 0);
  return l;
}

util::IpAddress ip(const char* text) { return *util::IpAddress::parse(text); }

// Every record of a transfer's messages as "owner TYPE rdata", in order.
std::vector<std::string> records_of(const transfer::TransferReply& reply) {
  std::vector<std::string> out;
  for (const auto& m : reply.messages) {
    const Pkt pkt = parse(m);
    const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    for (size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i) {
      char* text = ldns_rr2str(ldns_rr_list_rr(answer, i));
      out.emplace_back(text);
      free(text);
      while (!out.back().empty() && out.back().back() == '\n') out.back().pop_back();
    }
  }
  return out;
}

}  // namespace

TEST_CASE("transfer: HMAC-SHA256 of RFC 4231 test case 2") {
  const auto mac = transfer::hmac("hmac-sha256", "Jefe", "what do ya want for nothing?");
  REQUIRE(mac);
  CHECK(hex(*mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK_FALSE(transfer::hmac("hmac-md5", "k", "d").has_value());
  CHECK(transfer::decode_base64("SmVmZQ==").value_or("") == "Jefe");
}

TEST_CASE("transfer: a request signed by ldns verifies; tampering, other keys and the clock do not") {
  std::vector<query::TsigKey> keys = {{"xfr.", "hmac-sha256", kSecret}, {"big.", "hmac-sha512", kSecret}};
  const uint64_t now = static_cast<uint64_t>(std::time(nullptr));
  auto wire = request("example.com.", LDNS_RR_TYPE_AXFR, 4711, "xfr.");
  transfer::TsigRecord tsig;
  REQUIRE(transfer::find_tsig(wire.data(), wire.size(), tsig) == transfer::TsigFound::found);
  transfer::TsigSession session;
  CHECK(transfer::verify_request(wire.data(), wire.size(), tsig, keys, now, session) == 0);
  CHECK(session.prior_mac == tsig.mac);
  CHECK(transfer::verify_request(wire.data(), wire.size(), tsig, keys, now + 301, session) == transfer::tsig_error::BADTIME);

  SUBCASE("a byte changed") {
    wire[3] ^= 0x01;
    REQUIRE(transfer::find_tsig(wire.data(), wire.size(), tsig) == transfer::TsigFound::found);
    CHECK(transfer::verify_request(wire.data(), wire.size(), tsig, keys, now, session) == transfer::tsig_error::BADSIG);
  }
  SUBCASE("another secret") {
    auto other = request("example.com.", LDNS_RR_TYPE_AXFR, 4711, "xfr.", "b3RoZXI=");
    REQUIRE(transfer::find_tsig(other.data(), other.size(), tsig) == transfer::TsigFound::found);
    CHECK(transfer::verify_request(other.data(), other.size(), tsig, keys, now, session) == transfer::tsig_error::BADSIG);
  }
  SUBCASE("an unknown key, or a known key with another algorithm") {
    auto unknown = request("example.com.", LDNS_RR_TYPE_AXFR, 4711, "nokey.");
    REQUIRE(transfer::find_tsig(unknown.data(), unknown.size(), tsig) == transfer::TsigFound::found);
    CHECK(transfer::verify_request(unknown.data(), unknown.size(), tsig, keys, now, session) == transfer::tsig_error::BADKEY);
    auto algorithm = request("example.com.", LDNS_RR_TYPE_AXFR, 4711, "big.", kSecret, "hmac-sha256.");
    REQUIRE(transfer::find_tsig(algorithm.data(), algorithm.size(), tsig) == transfer::TsigFound::found);
    CHECK(transfer::verify_request(algorithm.data(), algorithm.size(), tsig, keys, now, session) ==
          transfer::tsig_error::BADKEY);
  }
  SUBCASE("no TSIG") {
    auto plain = request("example.com.", LDNS_RR_TYPE_AXFR, 4711);
    CHECK(transfer::find_tsig(plain.data(), plain.size(), tsig) == transfer::TsigFound::none);
  }
}

TEST_CASE("transfer: a large zone in 64 KiB messages, each signed and verified by ldns in a chain") {
  const int names = 1500;  // about 250 KB of records
  const auto l = load({{"big.test", big_zone(names)}});
  const auto wire = request("big.test.", LDNS_RR_TYPE_AXFR, 0xBEEF, "xfr.");
  const auto reply = transfer::answer_transfer(l->snapshot(), wire.data(), wire.size(), ip("192.0.2.7"));
  INFO(reply.outcome);
  REQUIRE(reply.rcode == 0);
  REQUIRE(reply.messages.size() >= 4);
  // Each record once, the SOA first and last: A, TXT and MX per host; apex NS x2, MX; ns1 A; SOA twice.
  CHECK(reply.records == static_cast<std::size_t>(names) * 3 + 3 + 1 + 2);
  const auto records = records_of(reply);
  REQUIRE(records.size() == reply.records);
  CHECK(records.front().find("SOA") != std::string::npos);
  CHECK(records.back() == records.front());
  CHECK(std::set<std::string>(records.begin() + 1, records.end() - 1).size() == records.size() - 2);

  ldns_rdf* prior = ldns_rdf_clone(mac_of(parse(wire).get()));
  for (std::size_t i = 0; i < reply.messages.size(); ++i) {
    CAPTURE(i);
    const auto& m = reply.messages[i];
    CHECK(m.size() <= 65535);
    CHECK(m.size() > 30000);  // filled, not one record a message
    const Pkt pkt = parse(m);
    CHECK(ldns_pkt_id(pkt.get()) == 0xBEEF);
    CHECK(ldns_pkt_qr(pkt.get()));
    CHECK(ldns_pkt_aa(pkt.get()));
    CHECK(ldns_pkt_qdcount(pkt.get()) == (i == 0 ? 1 : 0));
    REQUIRE(ldns_pkt_tsig(pkt.get()));
    // RFC 8945 5.3.1: the first answer covers every TSIG variable, later ones the timers only.
    CHECK(ldns_pkt_tsig_verify_next(pkt.get(), const_cast<uint8_t*>(m.data()), m.size(), "xfr.", kSecret, prior,
                                    i == 0 ? 0 : 1));
    ldns_rdf_deep_free(prior);
    prior = ldns_rdf_clone(mac_of(pkt.get()));
  }
  ldns_rdf_deep_free(prior);
  // Names are compressed: the records alone, uncompressed, take more than the messages.
  std::size_t total = 0;
  for (const auto& m : reply.messages) total += m.size();
  CHECK(total < static_cast<std::size_t>(names) * (2 * 20 + 3 * 16 + 4 + 101 + 7 + 2 * 4) + 5000);
}

TEST_CASE("transfer: a message limit too small for the TSIG's room is raised, not wrapped around") {
  const auto l = load({{"big.test", big_zone(40)}});
  const auto wire = request("big.test.", LDNS_RR_TYPE_AXFR, 0xBEEF, "xfr.");
  for (const std::size_t max_message : {std::size_t{0}, std::size_t{100}, std::size_t{605}, std::size_t{700}}) {
    CAPTURE(max_message);
    transfer::TransferOptions options;
    options.max_message = max_message;
    const auto reply = transfer::answer_transfer(l->snapshot(), wire.data(), wire.size(), ip("192.0.2.7"), options);
    REQUIRE(reply.rcode == 0);
    REQUIRE(reply.messages.size() >= 2);
    CHECK(reply.records == 40u * 3 + 3 + 1 + 2);
    for (const auto& m : reply.messages) {
      CHECK(m.size() <= 512 + 255 + 255 + 10 + 16 + 64 + 6);
      const Pkt pkt = parse(m);
      CHECK(ldns_pkt_tsig(pkt.get()));
    }
  }
}

TEST_CASE("transfer: who may transfer, and IXFR") {
  const auto l = load({{"big.test", big_zone(3)},
                       {"closed.test", R"({"origin": "closed.test.", "soa": {"mname": "ns1", "rname": "h", "serial": 1,
                          "refresh": 1, "retry": 1, "expire": 1, "minimum": 1}, "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"}}})"}});
  const auto& s = l->snapshot();
  const auto ask = [&](const std::vector<uint8_t>& wire, const char* from) {
    return transfer::answer_transfer(s, wire.data(), wire.size(), ip(from));
  };
  const auto axfr = request("big.test.", LDNS_RR_TYPE_AXFR, 1);
  CHECK(ask(axfr, "127.0.0.1").rcode == 0);
  CHECK(ask(axfr, "::ffff:127.0.0.1").rcode == 0);  // a v4-mapped peer is its IPv4 address
  CHECK(ask(axfr, "127.0.0.2").rcode == dns::rcode::REFUSED);
  // 192.0.2.0/24 needs the key "xfr"
  CHECK(ask(axfr, "192.0.2.9").rcode == dns::rcode::REFUSED);
  CHECK(ask(request("big.test.", LDNS_RR_TYPE_AXFR, 1, "xfr."), "192.0.2.9").rcode == 0);
  {
    // signed with a key the zone does not name: REFUSED, and the refusal is signed
    const auto wire = request("big.test.", LDNS_RR_TYPE_AXFR, 1, "other.", "b3RoZXI=", "hmac-sha512.");
    const auto r = ask(wire, "192.0.2.9");
    CHECK(r.rcode == dns::rcode::REFUSED);
    REQUIRE(r.messages.size() == 1);
    const Pkt pkt = parse(r.messages[0]);
    CHECK(ldns_pkt_tsig_verify_next(pkt.get(), const_cast<uint8_t*>(r.messages[0].data()), r.messages[0].size(), "other.",
                                    "b3RoZXI=", mac_of(parse(wire).get()), 0));
  }
  {
    // a wrong secret: NOTAUTH with BADSIG in an unsigned TSIG
    const auto r = ask(request("big.test.", LDNS_RR_TYPE_AXFR, 1, "xfr.", "b3RoZXI="), "192.0.2.9");
    CHECK(r.rcode == transfer::kNotAuth);
    transfer::TsigRecord tsig;
    REQUIRE(transfer::find_tsig(r.messages[0].data(), r.messages[0].size(), tsig) == transfer::TsigFound::found);
    CHECK(tsig.error == transfer::tsig_error::BADSIG);
    CHECK(tsig.mac.empty());
  }
  {
    // signed 1000 s off our clock: NOTAUTH with BADTIME, signed, our time in "other data"
    transfer::TransferOptions late;
    late.now = static_cast<uint64_t>(std::time(nullptr)) + 1000;
    const auto wire = request("big.test.", LDNS_RR_TYPE_AXFR, 1, "xfr.");
    const auto r = transfer::answer_transfer(s, wire.data(), wire.size(), ip("192.0.2.9"), late);
    CHECK(r.rcode == transfer::kNotAuth);
    transfer::TsigRecord tsig;
    REQUIRE(transfer::find_tsig(r.messages[0].data(), r.messages[0].size(), tsig) == transfer::TsigFound::found);
    CHECK(tsig.error == transfer::tsig_error::BADTIME);
    CHECK(tsig.mac.size() == 32);
    CHECK(tsig.other.size() == 6);
    CHECK(tsig.time_signed == late.now);
  }
  CHECK(ask(request("closed.test.", LDNS_RR_TYPE_AXFR, 1), "127.0.0.1").rcode == dns::rcode::REFUSED);
  CHECK(ask(request("nothere.test.", LDNS_RR_TYPE_AXFR, 1), "127.0.0.1").rcode == transfer::kNotAuth);
  CHECK(ask(request("host1.big.test.", LDNS_RR_TYPE_AXFR, 1), "127.0.0.1").rcode == transfer::kNotAuth);

  // IXFR: up to date (same or later serial) -> the SOA alone; older -> the whole zone.
  for (const uint32_t serial : {7u, 8u}) {
    const auto r = ask(request("big.test.", LDNS_RR_TYPE_IXFR, 2, nullptr, kSecret, "", serial), "127.0.0.1");
    CHECK(r.rcode == 0);
    CHECK(records_of(r).size() == 1);
    CHECK(r.outcome == "ixfr-up-to-date");
  }
  const auto full = ask(request("big.test.", LDNS_RR_TYPE_IXFR, 2, nullptr, kSecret, "", 6u), "127.0.0.1");
  CHECK(records_of(full).size() == records_of(ask(axfr, "127.0.0.1")).size());
  CHECK(full.outcome == "ixfr-as-axfr");
}

TEST_CASE("transfer: dynamic names as fallback, omitted, or refusing the transfer") {
  const auto zone = [](const std::string& dynamic) {
    return R"({"origin": "dyn.test.", "soa": {"mname": "ns1", "rname": "h", "serial": 1, "refresh": 1, "retry": 1,
      "expire": 1, "minimum": 1}, "transfer": {"allow": ["127.0.0.0/8"])" +
           (dynamic.empty() ? std::string() : ", \"dynamic\": \"" + dynamic + "\"") + R"(},
      "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"}, "app": {"service": "web", "TXT": "\"static\""}}})";
  };
  const auto axfr = request("dyn.test.", LDNS_RR_TYPE_AXFR, 3);
  const auto app_records = [](const transfer::TransferReply& r) {
    std::vector<std::string> out;
    for (const auto& rec : records_of(r))
      if (rec.rfind("app.dyn.test.", 0) == 0) out.push_back(rec);
    std::sort(out.begin(), out.end());
    return out;
  };
  {
    // no rule matches: "default" -> us first, with every region up: all of us's endpoints
    const auto l = load({{"dyn.test", zone("")}}, std::string(",") + kServices);
    const auto r = transfer::answer_transfer(l->snapshot(), axfr.data(), axfr.size(), ip("127.0.0.1"));
    CHECK(r.rcode == 0);
    const auto app = app_records(r);
    REQUIRE(app.size() == 4);
    CHECK(app[0] == "app.dyn.test.\t300\tIN\tA\t192.0.2.21");
    CHECK(app[1] == "app.dyn.test.\t300\tIN\tA\t192.0.2.22");
    CHECK(app[2] == "app.dyn.test.\t300\tIN\tAAAA\t2001:db8::21");
    CHECK(app[3].find("TXT") != std::string::npos);
  }
  {
    const auto l = load({{"dyn.test", zone("omit")}}, std::string(",") + kServices);
    const auto r = transfer::answer_transfer(l->snapshot(), axfr.data(), axfr.size(), ip("127.0.0.1"));
    CHECK(r.rcode == 0);
    const auto app = app_records(r);
    REQUIRE(app.size() == 1);
    CHECK(app[0].find("TXT") != std::string::npos);
  }
  {
    const auto l = load({{"dyn.test", zone("refuse")}}, std::string(",") + kServices);
    CHECK(transfer::answer_transfer(l->snapshot(), axfr.data(), axfr.size(), ip("127.0.0.1")).rcode ==
          dns::rcode::REFUSED);
  }
}

TEST_CASE("transfer: a signed SOA query is answered and signed; is_transfer_request") {
  const auto l = load({{"big.test", big_zone(2)}});
  auto wire = request("big.test.", LDNS_RR_TYPE_SOA, 99, "xfr.");
  std::vector<uint8_t> out(4096);
  for (const auto transport : {query::Transport::udp, query::Transport::tcp}) {
    const std::size_t n = transfer::answer_signed_query(l->snapshot(), wire.data(), wire.size(), ip("127.0.0.1"),
                                                        transport, out.data(), out.size());
    REQUIRE(n > 0);
    std::vector<uint8_t> answer(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
    const Pkt pkt = parse(answer);
    CHECK(ldns_pkt_get_rcode(pkt.get()) == LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_ancount(pkt.get()) == 1);
    CHECK(ldns_pkt_tsig_verify_next(pkt.get(), answer.data(), answer.size(), "xfr.", kSecret,
                                    mac_of(parse(wire).get()), 0));
  }
  // and through answer_query: left to the caller
  query::AnswerInfo info;
  CHECK(query::answer_query(l->snapshot(), wire.data(), wire.size(), ip("127.0.0.1"), query::Transport::udp,
                            query::AnswerClock(), out.data(), out.size(), &info) == 0);
  CHECK(info.signed_request);

  const auto axfr = request("big.test.", LDNS_RR_TYPE_AXFR, 1);
  CHECK(transfer::is_transfer_request(axfr.data(), axfr.size()));
  const auto ixfr = request("big.test.", LDNS_RR_TYPE_IXFR, 1);
  CHECK(transfer::is_transfer_request(ixfr.data(), ixfr.size()));
  const auto soa = request("big.test.", LDNS_RR_TYPE_SOA, 1);
  CHECK_FALSE(transfer::is_transfer_request(soa.data(), soa.size()));
}

namespace {

// Sends one length-prefixed message over a connected socket and reads messages
// until `until` says the last one came (bounded by `max`).
std::vector<std::vector<uint8_t>> exchange(boost::asio::ip::tcp::socket& socket, const std::vector<uint8_t>& message,
                                           const std::function<bool(const std::vector<uint8_t>&)>& until,
                                           int max = 64) {
  std::vector<uint8_t> framed = {static_cast<uint8_t>(message.size() >> 8), static_cast<uint8_t>(message.size())};
  framed.insert(framed.end(), message.begin(), message.end());
  boost::asio::write(socket, boost::asio::buffer(framed));
  std::vector<std::vector<uint8_t>> out;
  for (int i = 0; i < max; ++i) {
    uint8_t length[2];
    boost::asio::read(socket, boost::asio::buffer(length, 2));
    std::vector<uint8_t> m(static_cast<std::size_t>(length[0] << 8 | length[1]));
    boost::asio::read(socket, boost::asio::buffer(m));
    out.push_back(std::move(m));
    if (until(out.back())) break;
  }
  return out;
}

// A transfer ends with an error or with its second SOA.
std::function<bool(const std::vector<uint8_t>&)> transfer_done() {
  return [soas = 0](const std::vector<uint8_t>& m) mutable -> bool {
    if ((m[3] & 0x0F) != 0) return true;
    const Pkt pkt = parse(m);
    const ldns_rr_list* answer = ldns_pkt_answer(pkt.get());
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(answer); ++i)
      if (ldns_rr_get_type(ldns_rr_list_rr(answer, i)) == LDNS_RR_TYPE_SOA) ++soas;
    return soas >= 2;
  };
}
bool any_message(const std::vector<uint8_t>&) { return true; }

}  // namespace

TEST_CASE("transfer: the TCP server hands AXFR to its transfer thread, caps them, and goes on reading queries") {
  const auto l = load({{"big.test", big_zone(800)}});
  for (const std::size_t cap : {std::size_t{0}, std::size_t{2}}) {
    CAPTURE(cap);
    net::SnapshotHolder holder;
    holder.publish(l->state->snapshot);
    net::DnsStats stats;
    net::TcpLimits limits;
    limits.max_transfers = cap;
    net::TcpServer server(holder, stats, limits);
    const auto bound = server.bind(*util::parse_host_port("127.0.0.1:0"));
    server.start(1);
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), bound.port});
    const auto messages = exchange(socket, request("big.test.", LDNS_RR_TYPE_AXFR, 77), transfer_done());
    REQUIRE_FALSE(messages.empty());
    if (cap == 0) {
      CHECK(messages.size() == 1);
      CHECK((messages[0][3] & 0x0F) == dns::rcode::REFUSED);
      // The header and question alone (query::reply_without_answer), as a response.
      const Pkt refused = parse(messages[0]);
      CHECK(ldns_pkt_id(refused.get()) == 77);
      CHECK(ldns_pkt_qr(refused.get()));
      CHECK(ldns_pkt_qdcount(refused.get()) == 1);
      CHECK(ldns_pkt_ancount(refused.get()) + ldns_pkt_nscount(refused.get()) + ldns_pkt_arcount(refused.get()) == 0);
      CHECK(server.refused_transfers() == 1);
    } else {
      CHECK(messages.size() >= 2);  // 800 names with a 100-byte TXT: more than 64 KiB
      for (const auto& m : messages) CHECK((m[3] & 0x0F) == 0);
      CHECK(server.refused_transfers() == 0);
    }
    // The same connection answers its next query.
    const auto soa = exchange(socket, request("big.test.", LDNS_RR_TYPE_SOA, 78), any_message);
    REQUIRE(soa.size() == 1);
    const Pkt pkt = parse(soa[0]);
    CHECK(ldns_pkt_id(pkt.get()) == 78);
    CHECK(ldns_pkt_ancount(pkt.get()) == 1);
    CHECK(server.transfers() == 0);
    server.stop();
  }
}

namespace {

// A UDP socket on 127.0.0.1 standing in for a secondary.
struct FakeSecondary {
  FakeSecondary() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~FakeSecondary() { ::close(fd); }
  // One datagram within `wait`, or empty; `from` is where it came from.
  std::vector<uint8_t> receive(std::chrono::milliseconds wait, sockaddr_in& from) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(wait.count())) != 1) return {};
    uint8_t buffer[1024];
    socklen_t len = sizeof from;
    const ssize_t n = ::recvfrom(fd, buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &len);
    return n > 0 ? std::vector<uint8_t>(buffer, buffer + n) : std::vector<uint8_t>();
  }
  int fd = -1;
  uint16_t port = 0;
};

}  // namespace

TEST_CASE("transfer: NOTIFY on a new serial, resent until answered, given up after 5 sends") {
  FakeSecondary answering, silent;
  const std::string notify = "\"127.0.0.1:" + std::to_string(answering.port) + "\", \"127.0.0.1:" +
                             std::to_string(silent.port) + "\"";
  const auto before = load({{"big.test", big_zone(2, 7, notify)}});
  const auto after = load({{"big.test", big_zone(2, 8, notify)}});
  std::mutex mutex;
  std::shared_ptr<const query::Snapshot> current = before->state->snapshot;
  transfer::NotifySender::Options options;
  options.poll_interval = std::chrono::milliseconds(20);
  options.first_retry = std::chrono::milliseconds(50);
  std::atomic<int> looks{0};  // the sender's first look is its baseline: swap only after it
  transfer::NotifySender sender(
      [&] {
        std::lock_guard lock(mutex);
        ++looks;
        return current;
      },
      options);
  const auto looked = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (looks.load() == 0 && std::chrono::steady_clock::now() < looked)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(looks.load() > 0);
  sockaddr_in from{};
  // The zones served at start are not announced.
  CHECK(answering.receive(std::chrono::milliseconds(300), from).empty());
  {
    std::lock_guard lock(mutex);
    current = after->state->snapshot;
  }
  // The answering secondary ignores two NOTIFYs and answers the third.
  for (int i = 1; i <= 3; ++i) {
    CAPTURE(i);
    std::vector<uint8_t> m = answering.receive(std::chrono::seconds(10), from);
    REQUIRE(m.size() > 12);
    const Pkt pkt = parse(m);
    CHECK(ldns_pkt_get_opcode(pkt.get()) == LDNS_PACKET_NOTIFY);
    CHECK(ldns_pkt_aa(pkt.get()));
    REQUIRE(ldns_pkt_ancount(pkt.get()) == 1);
    const ldns_rr* soa = ldns_rr_list_rr(ldns_pkt_answer(pkt.get()), 0);
    CHECK(ldns_rdf2native_int32(ldns_rr_rdf(soa, 2)) == 8u);
    if (i == 3) {
      m[2] |= 0x80;  // the same message as the response
      ::sendto(answering.fd, m.data(), m.size(), 0, reinterpret_cast<const sockaddr*>(&from), sizeof from);
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sender.acknowledged() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(sender.acknowledged() == 1);
  // The silent one gets 5 sends, then the sender gives up.
  int received = 0;
  while (sender.abandoned() < 1 && std::chrono::steady_clock::now() < deadline)
    if (!silent.receive(std::chrono::milliseconds(50), from).empty()) ++received;
  while (!silent.receive(std::chrono::milliseconds(10), from).empty()) ++received;
  CHECK(sender.abandoned() == 1);
  CHECK(received == 5);
  CHECK(answering.receive(std::chrono::milliseconds(200), from).empty());  // acknowledged: no more
}

TEST_CASE("transfer: a NOTIFY to a secondary that transfers with a key is signed with it (ldns verifies it), and so must its answer be") {
  FakeSecondary keyed;
  std::string zone = big_zone(2, 8, "\"127.0.0.1:" + std::to_string(keyed.port) + "\"");
  const std::string allow = R"("allow": ["127.0.0.1/32", {"net": "192.0.2.0/24", "key": "xfr"}])";
  REQUIRE(zone.find(allow) != std::string::npos);
  // 127.0.0.1 is covered by an entry with a key (the first unsigned entry does not count).
  zone.replace(zone.find(allow), allow.size(),
               R"("allow": ["127.0.0.1/32", {"net": "127.0.0.0/8", "key": "xfr"}])");
  const auto before = load({{"big.test", big_zone(2, 7, "")}});
  const auto after = load({{"big.test", zone}});
  std::mutex mutex;
  std::shared_ptr<const query::Snapshot> current = before->state->snapshot;
  transfer::NotifySender::Options options;
  options.poll_interval = std::chrono::milliseconds(20);
  options.first_retry = std::chrono::milliseconds(300);
  std::atomic<int> looks{0};  // the sender's first look is its baseline: swap only after it
  transfer::NotifySender sender(
      [&] {
        std::lock_guard lock(mutex);
        ++looks;
        return current;
      },
      options);
  const auto looked = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (looks.load() == 0 && std::chrono::steady_clock::now() < looked)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(looks.load() > 0);
  {
    std::lock_guard lock(mutex);
    current = after->state->snapshot;
  }
  sockaddr_in from{};
  std::vector<uint8_t> m = keyed.receive(std::chrono::seconds(10), from);
  REQUIRE(m.size() > 12);
  const Pkt pkt = parse(m);
  CHECK(ldns_pkt_get_opcode(pkt.get()) == LDNS_PACKET_NOTIFY);
  REQUIRE(ldns_pkt_tsig(pkt.get()));
  CHECK(ldns_pkt_tsig_verify(pkt.get(), m.data(), m.size(), "xfr.", kSecret, nullptr));
  CHECK_FALSE(ldns_pkt_tsig_verify(pkt.get(), m.data(), m.size(), "xfr.", "d3Jvbmc=", nullptr));
  // Our own check of a request agrees.
  transfer::TsigRecord tsig;
  REQUIRE(transfer::find_tsig(m.data(), m.size(), tsig) == transfer::TsigFound::found);
  transfer::TsigSession session;
  CHECK(transfer::verify_request(m.data(), m.size(), tsig, after->snapshot().tsig_keys, 0, session) == 0);

  // The answer must be signed with the key too: an unsigned one, or one signed with another
  // key, is not taken as the answer (the NOTIFY is sent again) ...
  std::vector<uint8_t> response(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(tsig.start));
  response[2] |= 0x80;
  dns::write_u16(response.data() + 10, static_cast<uint16_t>(dns::read_u16(response.data() + 10) - 1));
  ::sendto(keyed.fd, response.data(), response.size(), 0, reinterpret_cast<const sockaddr*>(&from), sizeof from);
  transfer::TsigSession other = session;
  other.secret = "another secret";
  std::vector<uint8_t> forged = response;
  transfer::sign_message(forged, other, 0);
  ::sendto(keyed.fd, forged.data(), forged.size(), 0, reinterpret_cast<const sockaddr*>(&from), sizeof from);
  std::vector<uint8_t> again = keyed.receive(std::chrono::seconds(10), from);
  REQUIRE(again.size() > 12);
  CHECK(dns::read_u16(again.data()) == dns::read_u16(m.data()));  // the same NOTIFY, resent
  CHECK(sender.acknowledged() == 0);
  // ... one signed as the response to our request is.
  transfer::sign_message(response, session, 0);
  ::sendto(keyed.fd, response.data(), response.size(), 0, reinterpret_cast<const sockaddr*>(&from), sizeof from);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (sender.acknowledged() < 1 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(sender.acknowledged() == 1);
}
