// Response rate limiting (dns.rrl) against the real binary: a paced flood from one
// loopback address is answered at about the configured rate, and of the limited
// responses every `slip`-th goes out truncated (TC=1) or, to a cookie client, as
// BADCOOKIE; another address is unaffected, an exempt address, TCP and a client that
// presents its valid server cookie always get answers; log_only answers everything
// and counts. dig checks the slipped reply, TCP and the cookie retry as a real client
// sees them. Rates are low (10/s) so that a loaded machine's timing jitter only moves
// counts within the margins; with RRL off every flood would be answered in full.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <thread>

#include "integration/harness/dig.hpp"
#include "integration/support_backends/meridian_fixture.hpp"
#include "integration/support_backends/prometheus_text.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

constexpr uint16_t kCookieOption = 10;
constexpr int kBadcookie = 23;
const std::string kClientCookie("\x11\x22\x33\x44\x55\x66\x77\x88", 8);

// A UDP socket bound to one loopback source address, sending and collecting replies.
class UdpSource {
 public:
  explicit UdpSource(const std::string& source) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    ::inet_pton(AF_INET, source.c_str(), &sa.sin_addr);
    bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  }
  ~UdpSource() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool bound() const { return bound_; }
  void send(const Endpoint& server, const Bytes& packet) const {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(server.port);
    ::inet_pton(AF_INET, server.host.c_str(), &to.sin_addr);
    ::sendto(fd_, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  }
  // Replies that arrive within `wait` (0: only those already there).
  std::vector<Bytes> receive(std::chrono::milliseconds wait) const {
    std::vector<Bytes> out;
    pollfd p{fd_, POLLIN, 0};
    while (::poll(&p, 1, static_cast<int>(wait.count())) > 0) {
      uint8_t buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.emplace_back(buf, buf + n);
      wait = std::chrono::milliseconds(0);
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool bound_ = false;
};

Bytes www_query(uint16_t id, const std::string& cookie = "") {
  QuerySpec q("www.example.test", qtype::A);
  q.id = id;
  if (!cookie.empty()) {
    q.edns = Edns{};
    q.edns->options.push_back({kCookieOption, cookie});
  }
  return build_query(q);
}

struct Flood {
  int sent = 0;
  int answered = 0;   // NOERROR with the answer
  int truncated = 0;  // TC=1, no answer
  int badcookie = 0;  // BADCOOKIE, no answer
  int other = 0;
  std::string server_cookie;  // from a BADCOOKIE reply: client cookie + server cookie
  int unanswered() const { return sent - answered - truncated - badcookie - other; }
  std::string text() const {
    return "sent " + std::to_string(sent) + ", answered " + std::to_string(answered) + ", TC " +
           std::to_string(truncated) + ", BADCOOKIE " + std::to_string(badcookie) + ", other " + std::to_string(other) +
           ", no reply " + std::to_string(unanswered());
  }
};

// Sends `count` queries from `source`, evenly paced over `over`, then waits for the
// stragglers (until a second of silence, at most 10 s); one reply per query ID counts.
Flood flood_of(const Endpoint& server, const std::string& source, int count, std::chrono::milliseconds over,
               const std::function<Bytes(uint16_t id)>& query) {
  UdpSource udp(source);
  REQUIRE(udp.bound());
  std::map<uint16_t, Bytes> replies;
  auto take = [&](std::vector<Bytes> got) {
    for (auto& r : got)
      if (r.size() >= 2) replies.emplace(static_cast<uint16_t>(r[0] << 8 | r[1]), std::move(r));
  };
  const auto start = Clock::now();
  for (int i = 0; i < count; ++i) {
    std::this_thread::sleep_until(start + over * i / count);  // pacing, bounded by `over`
    udp.send(server, query(static_cast<uint16_t>(i + 1)));
    take(udp.receive(std::chrono::milliseconds(0)));
  }
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (static_cast<int>(replies.size()) < count && Clock::now() < deadline) {
    std::vector<Bytes> got = udp.receive(std::chrono::milliseconds(1000));
    if (got.empty()) break;
    take(std::move(got));
  }
  Flood f;
  f.sent = count;
  for (const auto& [id, wire] : replies) {
    const Message m = parse_message(wire);
    if (!m.ok || m.id < 1 || m.id > count) ++f.other;
    else if (m.rcode == rcode::NOERROR && !m.tc && m.answer.size() == 1) ++f.answered;
    else if (m.tc && m.answer.empty() && m.rcode == rcode::NOERROR) ++f.truncated;
    else if (m.rcode == kBadcookie && m.answer.empty()) {
      ++f.badcookie;
      if (auto c = m.option(kCookieOption)) f.server_cookie = *c;
    } else ++f.other;
  }
  return f;
}

Flood flood(const Endpoint& server, const std::string& source, int count, std::chrono::milliseconds over,
            const std::string& cookie = "") {
  return flood_of(server, source, count, over, [&](uint16_t id) { return www_query(id, cookie); });
}

void start(Meridian& m, const json& rrl) {
  REQUIRE_MESSAGE(m.start(static_dns_config({{"rrl", rrl}}), {{"example.test.json", static_zone()}}), m.error);
}

double metric(const Meridian& m, const std::string& name) {
  return prom::parse(m.metrics()).value(name, {}).value_or(-1);
}

// Answers over TCP from source on one connection; how many of n came back answered.
int tcp_answered(const Endpoint& server, const std::string& source, int n) {
  TcpConnection c;
  if (!c.connect(server, std::chrono::seconds(15), source)) return -1;
  int answered = 0;
  for (int i = 0; i < n; ++i) {
    if (!c.send_message(www_query(static_cast<uint16_t>(1000 + i)))) break;
    const auto reply = c.read_message(std::chrono::seconds(15));
    if (!reply) break;
    const Message m = parse_message(*reply);
    answered += m.ok && m.rcode == rcode::NOERROR && !m.tc && m.answer.size() == 1;
  }
  return answered;
}

}  // namespace

TEST_CASE("a flood from one address is limited to the rate with the slip ratio; others, exempt, TCP and cookies pass") {
  Meridian m;
  start(m, {{"responses_per_second", 10}, {"window", 15}, {"slip", 2}, {"ipv4_prefix", 32},
            {"exempt", json::array({"127.0.0.4/32"})}});
  REQUIRE(m.wait_log("event=dns_rrl enabled=true responses_per_second=10"));

  // 200 queries in 2 s, 10 times the rate: about one second's worth is answered (BIND
  // keeps a prefix in debt while it floods), half of the rest slips as TC=1.
  const Flood f = flood(m.dns, "127.0.0.2", 200, std::chrono::milliseconds(2000));
  INFO(f.text());
  CHECK(f.answered >= 5);
  CHECK(f.answered <= 35);
  CHECK(f.other == 0);
  CHECK(f.badcookie == 0);
  const int limited = f.sent - f.answered;
  CHECK(f.truncated >= limited * 2 / 5);
  CHECK(f.truncated <= limited * 3 / 5 + 1);
  CHECK(f.unanswered() >= limited * 2 / 5);
  // The metrics count the same responses (each slipped reply arrived; loopback keeps them).
  CHECK(metric(m, "meridian_rrl_slipped_total") == doctest::Approx(f.truncated).epsilon(0.05));
  CHECK(metric(m, "meridian_rrl_dropped_total") >= f.unanswered() - 5);
  CHECK(metric(m, "meridian_rrl_dropped_total") <= f.unanswered());
  CHECK(metric(m, "meridian_rrl_log_only_total") == 0);
  CHECK(m.log_count("event=rrl_limit client=127.0.0.2/32 category=answer name=www.example.test.") >= 1);

  // Another address (ipv4_prefix 32) has its own bucket: within the rate, all answered.
  const Flood other = flood(m.dns, "127.0.0.3", 8, std::chrono::milliseconds(400));
  INFO(other.text());
  CHECK(other.answered == 8);
  // The exempt address is never limited, at any rate.
  const Flood exempt = flood(m.dns, "127.0.0.4", 100, std::chrono::milliseconds(1000));
  INFO(exempt.text());
  CHECK(exempt.answered == 100);
  // The flooding address is still in debt over UDP, but TCP is never limited.
  const Flood still = flood(m.dns, "127.0.0.2", 6, std::chrono::milliseconds(300));
  INFO(still.text());
  CHECK(still.answered == 0);
  CHECK(tcp_answered(m.dns, "127.0.0.2", 30) == 30);

  // A cookie client in debt: the slipped replies are BADCOOKIE with a server cookie...
  const Flood cookie = flood(m.dns, "127.0.0.2", 20, std::chrono::milliseconds(400), kClientCookie);
  INFO(cookie.text());
  CHECK(cookie.answered == 0);
  CHECK(cookie.truncated == 0);
  CHECK(cookie.badcookie >= 6);
  REQUIRE(cookie.server_cookie.size() == 24);
  CHECK(cookie.server_cookie.substr(0, 8) == kClientCookie);
  // ...and presenting it, the client is answered every time.
  const Flood valid = flood(m.dns, "127.0.0.2", 60, std::chrono::milliseconds(600), cookie.server_cookie);
  INFO(valid.text());
  CHECK(valid.answered == 60);

  const json status = m.status();
  CHECK(status["rrl"]["enabled"] == true);
  CHECK(status["rrl"]["responses_per_second"] == 10);
  CHECK(status["rrl"]["slip"] == 2);
  CHECK(status["rrl"]["exempt"] == json::array({"127.0.0.4/32"}));
  CHECK(status["rrl"]["slipped"].get<double>() == metric(m, "meridian_rrl_slipped_total"));
  CHECK(m.log_clean());
}

TEST_CASE("slip 1 as dig and kdig see it: TC=1 without an answer, then TCP; BADCOOKIE, then answered with the cookie") {
  Meridian m;
  start(m, {{"responses_per_second", 5}, {"window", 10}, {"slip", 1}, {"ipv4_prefix", 32}});
  const Flood f = flood(m.dns, "127.0.0.5", 60, std::chrono::milliseconds(1000));
  INFO(f.text());
  CHECK(f.answered >= 3);
  CHECK(f.answered <= 15);
  CHECK(f.truncated == f.sent - f.answered);  // slip 1: every limited response slips

  // Without a cookie and with +ignore, dig shows the truncated reply instead of retrying.
  const DigResult tc = dig(m.dns, {"-b", "127.0.0.5", "+nocookie", "+ignore", "+tries=1", "www.example.test", "A"});
  INFO(tc.output);
  CHECK(tc.status == "NOERROR");
  CHECK(tc.flag("tc"));
  CHECK(tc.answer.empty());
  // Without +ignore it retries over TCP, which is never limited.
  const DigResult over_tcp = dig(m.dns, {"-b", "127.0.0.5", "+nocookie", "www.example.test", "A"});
  INFO(over_tcp.output);
  CHECK(over_tcp.output.find("Truncated, retrying in TCP mode") != std::string::npos);
  CHECK(over_tcp.status == "NOERROR");
  CHECK(over_tcp.answer.size() == 1);
  // dig and kdig with a cookie get BADCOOKIE and a server cookie, retry with it, and are answered.
  const DigResult with_cookie = dig(m.dns, {"-b", "127.0.0.5", "+cookie", "www.example.test", "A"});
  INFO(with_cookie.output);
  CHECK(with_cookie.output.find("BADCOOKIE, retrying") != std::string::npos);
  CHECK(with_cookie.status == "NOERROR");
  CHECK(with_cookie.answer.size() == 1);
  const DigResult kd = kdig(m.dns, {"-b", "127.0.0.5", "+cookie", "www.example.test", "A"});
  INFO(kd.output);
  CHECK(kd.output.find("status: BADCOOKIE") != std::string::npos);
  CHECK(kd.status == "NOERROR");
  CHECK(kd.answer.size() == 1);
  CHECK(metric(m, "meridian_rrl_dropped_total") == 0);
  CHECK(metric(m, "meridian_rrl_slipped_total") >= f.truncated + 4);
  CHECK(m.log_clean());
}

TEST_CASE("log_only: every response is sent, and the ones over the rate are counted and logged; a reload turns RRL off") {
  Meridian m;
  start(m, {{"responses_per_second", 10}, {"window", 5}, {"ipv4_prefix", 32}, {"log_only", true}});
  const Flood f = flood(m.dns, "127.0.0.2", 100, std::chrono::milliseconds(1000));
  INFO(f.text());
  CHECK(f.answered == 100);
  const double counted = metric(m, "meridian_rrl_log_only_total");
  CHECK(counted >= 60);
  CHECK(counted <= 95);
  CHECK(metric(m, "meridian_rrl_dropped_total") == 0);
  CHECK(metric(m, "meridian_rrl_slipped_total") == 0);
  CHECK(m.log_count("event=rrl_limit client=127.0.0.2/32") >= 1);
  CHECK(m.log_count("log_only=true") >= 1);
  CHECK(m.status()["rrl"]["log_only"] == true);

  // A reload without dns.rrl turns it off: nothing more is counted.
  json config = json::parse(read_file(m.config_path));
  config["dns"].erase("rrl");
  write_atomic(m.config_path, config.dump(2) + "\n");
  REQUIRE(m.wait_log("event=dns_rrl enabled=false"));
  REQUIRE(wait_for([&] { return m.status()["rrl"]["enabled"] == false; }));
  const double before = metric(m, "meridian_rrl_log_only_total");
  const Flood after = flood(m.dns, "127.0.0.2", 60, std::chrono::milliseconds(600));
  INFO(after.text());
  CHECK(after.answered == 60);
  CHECK(metric(m, "meridian_rrl_log_only_total") == before);
  CHECK(m.log_clean());
}

TEST_CASE("names synthesised from a wildcard share the wildcard's bucket: a random-subdomain flood is limited") {
  Meridian m;
  const json zone = zone_json("example.test.", 1,
                              json{{"@", {{"NS", json::array({"ns1"})}}}, {"ns1", {{"A", "192.0.2.1"}}},
                                   {"www", {{"A", "192.0.2.80"}}}, {"*.wild", {{"A", "192.0.2.90"}}}});
  REQUIRE_MESSAGE(m.start(static_dns_config({{"rrl", {{"responses_per_second", 10}, {"slip", 0}, {"ipv4_prefix", 32}}}}),
                          {{"example.test.json", zone}}),
                  m.error);
  REQUIRE(m.wait_log("event=dns_rrl enabled=true responses_per_second=10"));
  // 200 different names under the wildcard in 2 s: keyed on each name, every one would
  // be answered (each bucket sees one response); keyed on the wildcard, about a
  // second's worth is.
  const auto random_name = [](uint16_t id) {
    QuerySpec q("r" + std::to_string(id * 7919u % 100003u) + ".wild.example.test", qtype::A);
    q.id = id;
    return build_query(q);
  };
  const Flood f = flood_of(m.dns, "127.0.0.6", 200, std::chrono::milliseconds(2000), random_name);
  INFO(f.text());
  CHECK(f.answered >= 5);
  CHECK(f.answered <= 35);
  CHECK(f.truncated == 0);  // slip 0: every limited response dropped
  CHECK(f.other == 0);
  CHECK(m.log_count("event=rrl_limit client=127.0.0.6/32 category=answer name=*.wild.example.test.") >= 1);
  // A name of its own is not the wildcard's: another bucket, answered.
  const Flood www = flood(m.dns, "127.0.0.6", 5, std::chrono::milliseconds(250));
  INFO(www.text());
  CHECK(www.answered == 5);
  CHECK(m.log_clean());
}
