// Chaos under load: a fixed-rate stream of valid queries (UDP and TCP, from
// 127.0.0.1) runs while other loopback sources spray malformed datagrams, send
// truncated TCP frames, dribble bytes on slow connections and flood the TCP
// listener with connections. Every valid query must be answered, and once the
// attack stops the process holds no more connections and not much more memory
// than before it.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "integration/harness/notify_listener.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

constexpr auto kAttack = std::chrono::seconds(6);
constexpr int kValidUdpPerSecond = 150;
constexpr int kGarbagePerSecond = 1000;

// From /proc/PID/status, in kB; 0 when unreadable.
long status_kb(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::atol(line.c_str() + key.size() + 1);
  return 0;
}

std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

int udp_socket_from(const std::string& source) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &local.sin_addr);
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

sockaddr_in address_of(const Endpoint& e) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(e.port);
  ::inet_pton(AF_INET, e.host.c_str(), &sa.sin_addr);
  return sa;
}

// Runs `step` every `period` until `stop`, catching up without bursts after a stall.
template <typename Step>
void paced(const std::atomic<bool>& stop, std::chrono::microseconds period, Step step) {
  auto next = Clock::now();
  for (std::size_t i = 0; !stop.load(); ++i) {
    step(i);
    next += period;
    const auto now = Clock::now();
    if (next > now) std::this_thread::sleep_until(next);
    else if (now - next > std::chrono::milliseconds(200)) next = now;
  }
}

// Malformed and hostile datagrams: random bytes, cut headers, responses, bad
// counts, compression loops, unknown opcodes, oversized EDNS options.
Bytes garbage(std::mt19937& rng, std::size_t i) {
  std::uniform_int_distribution<int> byte(0, 255);
  Bytes b;
  switch (i % 8) {
    case 0: {  // random bytes of random length
      b.resize(std::uniform_int_distribution<std::size_t>(0, 600)(rng));
      for (auto& x : b) x = static_cast<uint8_t>(byte(rng));
      break;
    }
    case 1: b = {0x12, 0x34, 0x00}; break;  // a cut header
    case 2: {  // a response (QR=1) must never be answered
      b = build_query({"www.example.test", qtype::A});
      b[2] |= 0x80;
      break;
    }
    case 3: b = {0xab, 0xcd, 0x00, 0x00, 0xff, 0xff, 0, 0, 0, 0, 0, 0}; break;  // 65535 questions, none there
    case 4: b = {0xab, 0xce, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c, 0, 1, 0, 1}; break;  // pointer to itself
    case 5: {  // unknown opcode
      b = build_query({"www.example.test", qtype::A});
      b[2] = static_cast<uint8_t>((b[2] & 0x87) | (15 << 3));
      break;
    }
    case 6: {  // EDNS option whose length runs past the packet
      QuerySpec q{"www.example.test", qtype::A};
      q.edns = Edns{};
      q.edns->options.push_back({10, std::string(8, 'c')});
      b = build_query(q);
      b[b.size() - 10] = 0x7f;
      break;
    }
    default: {  // a valid query with random bytes flipped
      b = build_query({"www.example.test", qtype::A});
      for (int k = 0; k < 3; ++k) b[std::uniform_int_distribution<std::size_t>(0, b.size() - 1)(rng)] ^= 0x5a;
    }
  }
  return b;
}

struct ValidUdpResult {
  std::size_t sent = 0, answered = 0, resent = 0;
  std::vector<uint16_t> unanswered;
};

// Sends query i every 1/rate s from 127.0.0.1; a query not answered within
// 1.5 s is sent once more (as a resolver would); waits up to 5 s at the end.
ValidUdpResult valid_udp_load(const Endpoint& server, const std::atomic<bool>& stop) {
  ValidUdpResult r;
  const int fd = udp_socket_from("127.0.0.1");
  if (fd < 0) return r;
  const sockaddr_in to = address_of(server);
  std::vector<Clock::time_point> sent_at;
  std::vector<char> answered, resent;
  auto send_id = [&](uint16_t id) {
    QuerySpec q{"www.example.test", qtype::A};
    q.id = id;
    const Bytes b = build_query(q);
    ::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
  };
  auto drain = [&] {
    uint8_t buf[4096];
    for (;;) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return;
      const Message m = parse_message(Bytes(buf, buf + n));
      if (!m.ok || m.id >= answered.size() || m.rcode != rcode::NOERROR) continue;
      if (Message::keys(m.answer, qtype::A) != std::vector<std::string>{"www.example.test. A 192.0.2.80"}) continue;
      if (!answered[m.id]) ++r.answered;
      answered[m.id] = 1;
    }
  };
  auto resend_late = [&] {
    const auto now = Clock::now();
    for (std::size_t id = 0; id < sent_at.size(); ++id)
      if (!answered[id] && !resent[id] && now - sent_at[id] > std::chrono::milliseconds(1500)) {
        resent[id] = 1;
        ++r.resent;
        send_id(static_cast<uint16_t>(id));
      }
  };
  paced(stop, std::chrono::microseconds(1000000 / kValidUdpPerSecond), [&](std::size_t i) {
    if (i >= 60000) return;
    sent_at.push_back(Clock::now());
    answered.push_back(0);
    resent.push_back(0);
    send_id(static_cast<uint16_t>(i));
    ++r.sent;
    drain();
    resend_late();
  });
  const auto end = Clock::now() + std::chrono::seconds(5);
  while (r.answered < r.sent && Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, 100);
    drain();
    resend_late();
  }
  for (std::size_t id = 0; id < answered.size(); ++id)
    if (!answered[id]) r.unanswered.push_back(static_cast<uint16_t>(id));
  ::close(fd);
  return r;
}

}  // namespace

TEST_CASE("valid queries are all answered while malformed packets, broken and slow TCP clients and a connection flood hit the server") {
  // Under ASan, freed memory waits in a quarantine (256 MB by default) that
  // would read as growth; a small one keeps the memory figure about the server.
  const char* asan = std::getenv("ASAN_OPTIONS");
  ScopedEnv asan_options("ASAN_OPTIONS", std::string(asan ? asan : "") + (asan && *asan ? ":" : "") + "quarantine_size_mb=8");
  json config = base_config(json::object(),
                            {{"web", failover_service(region({"127.0.0.11"}, {}, ""), region({"127.0.0.21"}, {}, ""))}});
  config["dns"]["threads"] = 2;
  config["dns"]["tcp"] = {{"idle_timeout", "2s"}, {"message_timeout", "1s"}, {"max_connections", 256}, {"max_per_client", 16}};
  Meridian m;
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", standard_zone()}}), m.error);
  const pid_t pid = m.process.pid();
  // Warm up: every thread has answered over both transports.
  for (int i = 0; i < 50; ++i) REQUIRE(m.a("www.example.test").addresses == std::vector<std::string>{"192.0.2.80"});
  REQUIRE(ask_tcp(m.dns, {"www.example.test", qtype::A}).ok);
  const long rss_before = status_kb(pid, "VmRSS");
  const std::size_t fds_before = open_fds(pid);

  std::atomic<bool> stop{false};
  std::atomic<std::size_t> garbage_sent{0}, truncated_sent{0}, slow_closed{0}, flood_open{0}, flood_refused{0};
  std::atomic<std::size_t> tcp_valid_ok{0}, tcp_valid_failed{0};
  std::vector<std::thread> attackers;
  attackers.emplace_back([&] {  // malformed datagrams
    const int fd = udp_socket_from("127.0.0.66");
    if (fd < 0) return;
    const sockaddr_in to = address_of(m.dns);
    std::mt19937 rng(20261206);
    paced(stop, std::chrono::microseconds(1000000 / kGarbagePerSecond), [&](std::size_t i) {
      const Bytes b = garbage(rng, i);
      ::sendto(fd, b.data(), b.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
      ++garbage_sent;
      uint8_t sink[4096];
      while (::recv(fd, sink, sizeof sink, 0) > 0) {}  // answers (FORMERR) are read and dropped
    });
    ::close(fd);
  });
  attackers.emplace_back([&] {  // truncated TCP frames: a length, part of the message, gone
    paced(stop, std::chrono::milliseconds(10), [&](std::size_t i) {
      TcpConnection c;
      if (!c.connect(m.dns, std::chrono::seconds(2), "127.0.0.67")) return;
      Bytes q = build_query({"www.example.test", qtype::A});
      Bytes frame{0x01, 0x00};  // says 256 bytes
      frame.insert(frame.end(), q.begin(), q.begin() + static_cast<long>(std::min<std::size_t>(q.size(), 5 + i % 20)));
      c.send_raw(frame);
      ++truncated_sent;
    });
  });
  attackers.emplace_back([&] {  // slow clients: one byte every 300 ms, closed by message_timeout
    while (!stop.load()) {
      std::vector<TcpConnection> slow(8);
      for (auto& c : slow) c.connect(m.dns, std::chrono::seconds(2), "127.0.0.68");
      const Bytes frame = [] { Bytes q = build_query({"www.example.test", qtype::A}); Bytes f{0, static_cast<uint8_t>(q.size())}; f.insert(f.end(), q.begin(), q.end()); return f; }();
      for (std::size_t k = 0; k < frame.size() && !stop.load(); ++k) {
        for (auto& c : slow)
          if (c.is_open() && !c.send_raw(Bytes{frame[k]})) {
            c.close();
            ++slow_closed;
          }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
    }
  });
  attackers.emplace_back([&] {  // a connection flood, held open
    std::vector<TcpConnection> held;
    for (int i = 0; i < 400 && !stop.load(); ++i) {
      TcpConnection c;
      if (!c.connect(m.dns, std::chrono::seconds(2), "127.0.0.69")) continue;
      if (c.wait_closed(std::chrono::milliseconds(20)) == TcpConnection::Wait::closed) ++flood_refused;
      else { held.push_back(std::move(c)); ++flood_open; }
    }
    while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  });
  std::thread tcp_valid([&] {  // valid TCP: one kept connection and a new one per query
    TcpConnection kept;
    kept.connect(m.dns, std::chrono::seconds(5), "127.0.0.1");
    paced(stop, std::chrono::milliseconds(100), [&](std::size_t i) {
      QuerySpec q{"www.example.test", qtype::A};
      q.id = static_cast<uint16_t>(i);
      std::optional<Bytes> reply;
      if (i % 2 == 0) {
        // The server may close an idle kept connection; a client reconnects.
        if (!kept.is_open() || !kept.send_message(build_query(q))) {
          kept.close();
          kept.connect(m.dns, std::chrono::seconds(5), "127.0.0.1");
          kept.send_message(build_query(q));
        }
        reply = kept.read_message(std::chrono::seconds(5));
      } else {
        reply = tcp_exchange(m.dns, build_query(q), std::chrono::seconds(5));
      }
      const bool ok = reply && parse_message(*reply).ok && parse_message(*reply).id == q.id &&
                      Message::keys(parse_message(*reply).answer, qtype::A) ==
                          std::vector<std::string>{"www.example.test. A 192.0.2.80"};
      ++(ok ? tcp_valid_ok : tcp_valid_failed);
    });
  });

  std::atomic<bool> load_stop{false};
  ValidUdpResult udp;
  std::thread udp_valid([&] { udp = valid_udp_load(m.dns, load_stop); });
  std::this_thread::sleep_for(kAttack);  // the load and the attack run side by side for this long
  load_stop = true;
  udp_valid.join();
  stop = true;
  tcp_valid.join();
  for (auto& t : attackers) t.join();

  MESSAGE("garbage datagrams " << garbage_sent.load() << ", truncated frames " << truncated_sent.load()
          << ", slow clients closed " << slow_closed.load() << ", flood connections held " << flood_open.load()
          << " refused " << flood_refused.load() << ", valid TCP " << tcp_valid_ok.load() << " ok "
          << tcp_valid_failed.load() << " failed");
  CHECK(m.process.alive());
  CHECK(udp.sent >= kValidUdpPerSecond * 3);
  CHECK_MESSAGE(udp.unanswered.empty(), udp.unanswered.size() << " of " << udp.sent << " UDP queries unanswered");
  MESSAGE("valid UDP " << udp.answered << "/" << udp.sent << " answered (" << udp.resent << " resent once)");
  CHECK(tcp_valid_ok.load() >= 20);
  CHECK(tcp_valid_failed.load() == 0);
  CHECK(garbage_sent.load() >= kGarbagePerSecond * 3);
  CHECK(truncated_sent.load() > 100);
  // message_timeout closed the slow clients while the attack ran.
  CHECK(slow_closed.load() > 0);
  // The per-client cap held the flood to 16 connections; the rest were closed at accept.
  CHECK(flood_open.load() <= 16);
  CHECK(flood_refused.load() > 0);

  // Afterwards: connections are gone, memory close to where it was.
  CHECK_MESSAGE(wait_for([&] { return open_fds(pid) <= fds_before + 2; }, std::chrono::seconds(20)),
                "fds before " << fds_before << ", now " << open_fds(pid));
  const long rss_after = status_kb(pid, "VmRSS");
  MESSAGE("RSS " << rss_before << " kB before, " << rss_after << " kB after");
  CHECK(rss_after - rss_before < 64 * 1024);
  CHECK(m.a("www.example.test").addresses == std::vector<std::string>{"192.0.2.80"});
  const std::string metrics = m.metrics();
  CHECK(metrics.find("meridian_dns_tcp_refused_total{reason=\"max_per_client\"}") != std::string::npos);
  CHECK(m.process.stop() == 0);
}
