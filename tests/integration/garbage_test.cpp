// Garbage run: ~20,000 random, bit-flipped, truncated and spliced packets over UDP
// and a few hundred garbage TCP connections, bounded in count and time; then the
// server must still be alive (under ASan any memory error aborts it), answer
// normal queries, and exit 0 on SIGTERM with a clean log.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

#include "integration/harness/dns_client.hpp"
#include "integration/harness/fixtures.hpp"

using namespace meridian::test;

namespace {

constexpr unsigned kUdpPackets = 20000;
constexpr auto kUdpBudget = std::chrono::seconds(20);
constexpr unsigned kTcpConnections = 300;
constexpr auto kTcpBudget = std::chrono::seconds(20);

// Valid queries the mutations start from: every answer path, with and without
// EDNS, NSID, DO, Client Subnet, unknown options.
std::vector<Bytes> seed_queries() {
  std::vector<Bytes> seeds;
  const char* names[] = {"app.example.com", "www.example.com", "alias.example.com", "nothere.example.com",
                         "foo.wild.example.com", "host.sub.example.com", "sub.example.com", "example.com",
                         "loop1.example.com", "tonet.example.com", "txt30.big.test", "fit512.big.test",
                         "c.example.com", "www.example.org", "version.bind", "*.wild.example.com",
                         "_sip._udp.example.com", "WwW.ExAmPlE.cOm"};
  const uint16_t types[] = {qtype::A, qtype::AAAA, qtype::MX, qtype::NS, qtype::TXT, qtype::ANY, qtype::DS,
                            qtype::SOA, qtype::SRV, qtype::CNAME, qtype::AXFR, 65535};
  uint16_t id = 1;
  for (const char* name : names) {
    for (uint16_t type : types) {
      QuerySpec q(name, type, std::string(name) == "version.bind" ? qclass::CH : qclass::IN);
      q.id = id++;
      seeds.push_back(build_query(q));
      q.edns = Edns{};
      q.edns->do_bit = (id & 1) != 0;
      q.edns->nsid = (id & 2) != 0;
      if (id % 3 == 0) {
        // Client Subnet 192.0.2.0/24 (family 1, source 24, scope 0).
        q.edns->options.push_back({8, std::string("\x00\x01\x18\x00\xc0\x00\x02", 7)});
      }
      if (id % 5 == 0) q.edns->options.push_back({8, std::string("\x00\x02\x38\x00\x20\x01\x0d\xb8\x00\x00\x00", 11)});
      if (id % 7 == 0) q.edns->options.push_back({65001, "xyz"});
      seeds.push_back(build_query(q));
    }
  }
  return seeds;
}

Bytes mutate(const Bytes& seed, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  Bytes p = seed;
  switch (rng() % 10) {
    case 0: {  // flip a few bits
      const unsigned flips = 1 + rng() % 8;
      for (unsigned i = 0; i < flips && !p.empty(); ++i) p[rng() % p.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
      break;
    }
    case 1:  // truncate
      p.resize(rng() % (p.size() + 1));
      break;
    case 2: {  // overwrite random bytes
      const unsigned n = 1 + rng() % 6;
      for (unsigned i = 0; i < n && !p.empty(); ++i) p[rng() % p.size()] = static_cast<uint8_t>(byte(rng));
      break;
    }
    case 3: {  // random counts
      if (p.size() >= 12)
        for (int i = 4; i < 12; ++i) p[static_cast<std::size_t>(i)] = static_cast<uint8_t>(rng() % 4 == 0 ? byte(rng) : p[static_cast<std::size_t>(i)] & 0x03);
      break;
    }
    case 4: {  // compression pointers in random places
      const unsigned n = 1 + rng() % 3;
      for (unsigned i = 0; i < n && p.size() > 13; ++i) {
        const std::size_t at = 12 + rng() % (p.size() - 13);
        p[at] = static_cast<uint8_t>(0xC0 | (rng() % 4 == 0 ? byte(rng) & 0x3F : 0));
        p[at + 1] = static_cast<uint8_t>(rng() % 2 ? byte(rng) : rng() % (at + 2));
      }
      break;
    }
    case 5: {  // append garbage
      const unsigned n = 1 + rng() % 64;
      for (unsigned i = 0; i < n; ++i) p.push_back(static_cast<uint8_t>(byte(rng)));
      break;
    }
    case 6: {  // insert or delete bytes
      if (rng() % 2 && p.size() > 1) {
        p.erase(p.begin() + static_cast<long>(rng() % p.size()));
      } else {
        p.insert(p.begin() + static_cast<long>(rng() % (p.size() + 1)), static_cast<uint8_t>(byte(rng)));
      }
      break;
    }
    case 7: {  // label length bytes changed (0x40/0x80 types, long labels)
      if (p.size() > 12) {
        const uint8_t kinds[] = {0x40, 0x41, 0x80, 0xBF, 63, 64, 0xFF, 0};
        p[12 + rng() % (p.size() - 12)] = kinds[rng() % 8];
      }
      break;
    }
    case 8: {  // the OPT record mangled: rdlength / option lengths
      if (p.size() > 20) {
        const std::size_t at = p.size() - 1 - rng() % std::min<std::size_t>(p.size() - 12, 24);
        p[at] = static_cast<uint8_t>(rng() % 2 ? 0xFF : byte(rng));
      }
      break;
    }
    default: {  // opcode / flags
      if (p.size() >= 4) {
        p[2] = static_cast<uint8_t>(byte(rng) & 0x7F);
        p[3] = static_cast<uint8_t>(byte(rng));
      }
      break;
    }
  }
  return p;
}

Bytes random_packet(std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  const std::size_t len = rng() % 4 == 0 ? rng() % 16 : rng() % 1500;
  Bytes p(len);
  for (auto& b : p) b = static_cast<uint8_t>(byte(rng));
  if (p.size() > 2 && rng() % 2) p[2] &= 0x7F;  // QR=0 half of the time, so the parser goes further
  return p;
}

// Whether the question name in a response is written with a compression pointer
// (the server echoes the query's question bytes).
bool question_has_pointer(const Bytes& wire) {
  std::size_t i = 12;
  while (i < wire.size()) {
    const uint8_t l = wire[i];
    if ((l & 0xC0) == 0xC0) return true;
    if (l == 0 || (l & 0xC0)) return false;
    i += 1 + l;
  }
  return false;
}

struct ReplyStats {
  unsigned replies = 0;
  unsigned question_pointer = 0;  // responses echoing a question with a pointer
  std::vector<std::string> examples;
};
ReplyStats g_stats;

// Every reply must be a well-formed DNS response; replies echoing a question
// written with a pointer are counted for their own test case below.
void check_reply(const Bytes& reply) {
  ++g_stats.replies;
  if (question_has_pointer(reply)) {
    ++g_stats.question_pointer;
    if (g_stats.examples.size() < 5) g_stats.examples.push_back(hex(reply, 64));
    return;
  }
  const Message m = parse_message(reply);
  if (!m.ok) FAIL_CHECK("unparsable response: " << m.error << " " << hex(reply));
  else CHECK_MESSAGE(m.qr, "response without QR: " << hex(reply));
}

bool normal_queries_work(const Endpoint& ep) {
  QuerySpec q("app.example.com");
  const Message u = ask_udp(ep, q);
  if (!u.ok || u.answer.size() != 1) return false;
  q.name = "txt30.big.test";
  q.type = qtype::TXT;
  const Message t = ask_tcp(ep, q);
  return t.ok && t.answer.size() == 30;
}

}  // namespace

TEST_CASE("garbage over UDP and TCP does not hurt the server") {
  TestServer s([] {
    ServerOptions o;
    o.extra_dns = R"("nsid": "garbage", "tcp": {"message_timeout": "2s", "idle_timeout": "3s"})";
    return o;
  }());
  REQUIRE_MESSAGE(s.started(), s.error());
  REQUIRE(normal_queries_work(s.ep()));
  // MERIDIAN_GARBAGE_SEED=<n> replays a run.
  const char* fixed = std::getenv("MERIDIAN_GARBAGE_SEED");
  const auto seed = fixed ? static_cast<unsigned>(std::strtoul(fixed, nullptr, 10)) : std::random_device{}();
  INFO("seed " << seed);
  MESSAGE("garbage seed " << seed);
  std::mt19937 rng(seed);
  const auto seeds = seed_queries();

  SUBCASE("UDP") {
    const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(s.ep().port);
    ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
    unsigned sent = 0, replies = 0;
    const auto end = Clock::now() + kUdpBudget;
    uint8_t buf[65536];
    while (sent < kUdpPackets && Clock::now() < end) {
      Bytes p;
      const unsigned kind = rng() % 10;
      if (kind < 7) p = mutate(seeds[rng() % seeds.size()], rng);
      else if (kind < 9) p = random_packet(rng);
      else p = mutate(mutate(seeds[rng() % seeds.size()], rng), rng);
      if (::send(fd, p.data(), p.size(), 0) >= 0) ++sent;
      else if (errno == EAGAIN) {
        pollfd w{fd, POLLOUT, 0};
        ::poll(&w, 1, 100);
      }
      // Drain replies, and let the server keep up: at most ~64 in flight.
      for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0) break;
        ++replies;
        check_reply(Bytes(buf, buf + n));
      }
      if (sent % 64 == 0) {
        pollfd r{fd, POLLIN, 0};
        ::poll(&r, 1, 50);  // pacing: wait (bounded) for the server to answer the batch
      }
    }
    ::close(fd);
    MESSAGE("UDP garbage: sent " << sent << " packets, " << replies << " replies");
    CHECK(sent >= 2000);
    CHECK(s.process().alive());
  }

  SUBCASE("TCP") {
    unsigned connections = 0, messages = 0;
    const auto end = Clock::now() + kTcpBudget;
    std::vector<TcpConnection> held;  // a few left open mid-message until the end
    while (connections < kTcpConnections && Clock::now() < end) {
      TcpConnection c;
      if (!c.connect(s.ep(), std::chrono::seconds(5))) continue;
      ++connections;
      const unsigned kind = rng() % 6;
      const unsigned count = 1 + rng() % 4;
      Bytes stream;
      for (unsigned i = 0; i < count; ++i) {
        Bytes msg = kind == 0 ? random_packet(rng) : mutate(seeds[rng() % seeds.size()], rng);
        uint16_t len = static_cast<uint16_t>(msg.size());
        if (kind == 1) len = static_cast<uint16_t>(rng());  // a length that lies
        put_u16(stream, len);
        stream.insert(stream.end(), msg.begin(), msg.end());
        ++messages;
      }
      if (kind == 2 && stream.size() > 1) stream.resize(1 + rng() % (stream.size() - 1));  // cut mid-message
      if (kind == 3) {
        for (std::size_t i = 0; i < 64; ++i) stream.push_back(static_cast<uint8_t>(rng()));
      }
      c.send_raw(stream);
      if (kind == 4) {
        // Read whatever comes back for a moment; responses must parse.
        while (auto reply = c.read_message(std::chrono::milliseconds(200))) check_reply(*reply);
      }
      if (kind == 5 && held.size() < 20) held.push_back(std::move(c));
      // Otherwise closed here, possibly with unread data: the server sees a reset.
    }
    MESSAGE("TCP garbage: " << connections << " connections, " << messages << " messages");
    CHECK(connections >= 50);
    held.clear();
    CHECK(s.process().alive());
  }

  CHECK(s.process().alive());
  CHECK(normal_queries_work(s.ep()));
  CHECK(s.stop() == 0);
  INFO(s.process().log());
  CHECK(s.log_clean());
}

// Regression (fixed in 516f7a6, see dns_protocol_test): queries whose question
// name used a compression pointer had their question echoed verbatim, producing
// responses with a pointer into the response header, many of them unparsable.
TEST_CASE("no response to garbage echoes a question with a compression pointer") {
  INFO("replies checked: " << g_stats.replies);
  std::string examples;
  for (const auto& e : g_stats.examples) examples += "\n  " + e;
  CHECK_MESSAGE(g_stats.question_pointer == 0, g_stats.question_pointer << " such responses, e.g." << examples);
}
