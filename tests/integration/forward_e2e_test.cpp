// End to end, with the real meridian binary: a failover service over two regions,
// each behind its own L7 forwarder with two real HTTP backends (threads of this test),
// checked by active HTTP checks. A client that follows DNS (it caches each answer for
// its TTL, like a stub behind a resolver) sends a steady load to the L7 listener of
// the region DNS gives it. All backends of the first region are killed: DNS must stop
// handing that region out within the detection time, the client moves to the second
// region, and the errors it saw meanwhile are counted. The backends come back: the
// region returns to the answers and serves again without errors.
//
// The measured figures (detection time, errors during the outage, return time) are
// printed with MESSAGE; run `build/.../tests/forward_e2e_test -s` to see them.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "forward_support/backends.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
namespace mb = meridian::test::backends;

constexpr const char* kEuWest = "127.0.0.11";
constexpr const char* kUsEast = "127.0.0.21";

// The active check: down after fall × interval (+ timeout), up after rise × interval.
// The timeout is far above a loopback round trip even under ASan on a loaded machine.
constexpr milliseconds kInterval{400}, kTimeout{350};
constexpr int kFall = 3, kRise = 2;
// Slack on top of the detection time: ASan+UBSan on a shared, loaded 2-core machine.
constexpr milliseconds kSlack{10000};
// The client's request pace: 100 requests per second, one connection per region.
constexpr milliseconds kPace{10};
// A bound on what the load thread records (about 10 minutes at the pace above).
constexpr std::size_t kMaxSamples = 60000;

json region_json(const std::string& endpoint, const std::vector<fwdtest::HttpBackend*>& backends) {
  json list = json::array();
  for (auto* b : backends) list.push_back({{"address", b->address()}, {"weight", 1}});
  return {{"endpoints", json::array({endpoint})},
          {"backends", list},
          {"check", "web-http"},
          {"forward", {{"l7", {{"listen", endpoint + std::string(":0")}}}}}};
}


struct Sample {
  Clock::time_point at;  // when the answer came
  std::string region;    // the endpoint DNS gave (kEuWest / kUsEast)
  unsigned status;       // 0: no HTTP answer
};

// The client: resolves app.example.test over UDP, keeps the answer for its TTL, and
// sends one GET every kPace to the L7 listener of the answered endpoint.
class DnsFollowingClient {
 public:
  DnsFollowingClient(const mb::Meridian& server, std::map<std::string, uint16_t> ports)
      : server_(server), ports_(std::move(ports)), thread_([this] { run(); }) {}
  ~DnsFollowingClient() { stop(); }
  void stop() {
    running_ = false;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Sample> samples() const {
    std::lock_guard l(mutex_);
    return samples_;
  }
  // Answers since t, optionally only those from one region / only OK ones.
  std::size_t count(Clock::time_point since, const std::string& region = "", int ok = -1) const {
    std::lock_guard l(mutex_);
    return static_cast<std::size_t>(std::count_if(samples_.begin(), samples_.end(), [&](const Sample& s) {
      return s.at >= since && (region.empty() || s.region == region) &&
             (ok < 0 || (s.status == 200) == (ok == 1));
    }));
  }

  // "region status=count ..." of everything so far, for failure messages.
  std::string summary() const {
    std::map<std::string, std::size_t> n;
    {
      std::lock_guard l(mutex_);
      for (const Sample& s : samples_) ++n[s.region + " " + std::to_string(s.status)];
    }
    std::string out = "client answers:";
    for (const auto& [k, v] : n) out += " [" + k + "]=" + std::to_string(v);
    return out;
  }

 private:
  void run() {
    std::map<std::string, std::unique_ptr<fwdtest::Client>> clients;
    std::string region;
    Clock::time_point expires{};
    auto next = Clock::now();
    while (running_) {
      const auto now = Clock::now();
      if (region.empty() || now >= expires) {
        const mb::Meridian::Answer a = server_.a("app.example.test");
        if (a.addresses.size() == 1 && ports_.count(a.addresses.front())) {
          region = a.addresses.front();
          expires = now + std::chrono::seconds(std::max<uint32_t>(a.ttl, 1));
        }
      }
      if (!region.empty()) {
        auto& c = clients[region];
        if (!c) c = std::make_unique<fwdtest::Client>(ports_.at(region), "", region);
        const unsigned status = c->get("/").result_int();
        std::lock_guard l(mutex_);
        if (samples_.size() < kMaxSamples) samples_.push_back({Clock::now(), region, status});
      }
      next += kPace;  // pacing the load, not waiting for a condition
      const auto wake = std::max(next, Clock::now());
      next = wake;
      std::this_thread::sleep_until(wake);
    }
  }

  const mb::Meridian& server_;
  const std::map<std::string, uint16_t> ports_;
  std::atomic<bool> running_{true};
  mutable std::mutex mutex_;
  std::vector<Sample> samples_;
  std::thread thread_;
};

long long ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration_cast<milliseconds>(b - a).count();
}

// "web/eu-west/backend/HOST:PORT" -> "state (source)" from /status.
std::string health_of(const mb::Meridian& m, const std::string& key) {
  const json st = m.status();
  if (!st.contains("health") || !st["health"].contains(key)) return "?";
  const json& h = st["health"][key];
  return h.value("state", "?") + " (" + h.value("source", "?") + ")";
}

}  // namespace

TEST_CASE("end to end: a region's backends die under L7 load, DNS drops it within the detection time, then it returns") {
  fwdtest::HttpBackend eu1("eu1"), eu2("eu2"), us1("us1"), us2("us2");
  const json checks = {{"web-http",
                        {{"type", "http"},
                         {"path", "/healthz"},
                         {"expect", json::array({200})},
                         {"interval", std::to_string(kInterval.count()) + "ms"},
                         {"timeout", std::to_string(kTimeout.count()) + "ms"},
                         {"rise", kRise},
                         {"fall", kFall},
                         {"jitter", 0}}}};
  const json services = {{"web",
                          {{"policy", "failover"},
                           {"ttl", 1},
                           {"failover_ttl", 1},
                           {"answers", 1},
                           {"order", json::array({"eu-west", "us-east"})},
                           {"regions",
                            {{"eu-west", region_json(kEuWest, {&eu1, &eu2})},
                             {"us-east", region_json(kUsEast, {&us1, &us2})}}}}}};
  mb::Meridian m;
  REQUIRE_MESSAGE(m.start(mb::base_config(checks, services),
                          {{"example.test.json", mb::standard_zone()}}),
                  m.error);
  const auto ports = fwdtest::l7_ports(m.log());
  REQUIRE_MESSAGE(ports.count(kEuWest) == 1, m.log());
  REQUIRE_MESSAGE(ports.count(kUsEast) == 1, m.log());
  REQUIRE(m.wait_answer("app.example.test", kEuWest));

  DnsFollowingClient client(m, ports);
  const auto started = Clock::now();
  REQUIRE_MESSAGE(mb::wait_for([&] { return client.count(started, kEuWest, 1) >= 100; }),
                  client.summary() << "\n" << m.log());
  CHECK(client.count(started, "", 0) == 0);  // no errors while everything is up

  // --- outage: every backend of eu-west dies
  const auto killed = Clock::now();
  eu1.stop_listening();
  eu2.stop_listening();
  const bool dropped = mb::wait_for([&] { return m.one("app.example.test") == kUsEast; }, mb::kHealthDeadline,
                                    milliseconds(10));
  const auto detected = Clock::now();
  REQUIRE_MESSAGE(dropped, m.log());
  const std::string eu1_key = "web/eu-west/backend/" + eu1.address(), eu2_key = "web/eu-west/backend/" + eu2.address();
  const std::string how = eu1_key + ": " + health_of(m, eu1_key) + ", " + eu2_key + ": " + health_of(m, eu2_key);
  const milliseconds detection_bound = kInterval * kFall + kTimeout + kSlack;
  CHECK_MESSAGE(detected - killed <= detection_bound, "detection took " << ms_between(killed, detected) << " ms");

  // the client's cached answer expires (TTL 1 s) and it moves to us-east; from then on: no errors
  REQUIRE(mb::wait_for([&] { return client.count(detected, kUsEast, 1) >= 1; }));
  const auto moved = Clock::now();
  REQUIRE(mb::wait_for([&] { return client.count(moved, kUsEast, 1) >= 100; }));
  CHECK(client.count(moved, "", 0) == 0);
  const auto outage_end = Clock::now();

  // --- recovery: the backends come back on the same ports
  REQUIRE(eu1.start_listening());
  REQUIRE(eu2.start_listening());
  const auto restored = Clock::now();
  const bool returned = mb::wait_for([&] { return m.one("app.example.test") == kEuWest; }, mb::kHealthDeadline,
                                     milliseconds(10));
  const auto back = Clock::now();
  REQUIRE_MESSAGE(returned, "eu-west did not return: " << health_of(m, eu1_key) << ", " << health_of(m, eu2_key)
                                                       << "\n" << m.log());
  // rise × interval, the tier's one-second passive refresh, slack
  const milliseconds return_bound = kInterval * kRise + kTimeout + milliseconds(1000) + kSlack;
  CHECK_MESSAGE(back - restored <= return_bound, "return took " << ms_between(restored, back) << " ms");
  REQUIRE(mb::wait_for([&] { return client.count(back, kEuWest, 1) >= 100; }));
  CHECK(client.count(back, "", 0) == 0);
  client.stop();

  // --- the figures
  std::size_t sent = 0, errors = 0, before_dns = 0, after_dns = 0;
  std::map<unsigned, std::size_t> by_status;
  for (const Sample& s : client.samples()) {
    if (s.at < killed || s.at >= outage_end) continue;
    ++sent;
    if (s.status == 200) continue;
    ++errors;
    ++by_status[s.status];
    ++(s.at < detected ? before_dns : after_dns);
  }
  std::ostringstream codes;
  for (const auto& [code, n] : by_status) codes << " " << (code ? std::to_string(code) : "no-answer") << "=" << n;
  MESSAGE("eu-west backends killed: DNS stopped answering eu-west after " << ms_between(killed, detected)
          << " ms (bound " << detection_bound.count() << " ms; checks " << kInterval.count() << "ms x fall " << kFall
          << "); health then: " << how);
  MESSAGE("L7 client (100 req/s, follows DNS, TTL 1 s) during the outage: " << errors << " errors of " << sent
          << " requests (" << before_dns << " before DNS moved, " << after_dns
          << " while its cached answer lived); by status:" << codes.str());
  MESSAGE("backends back: eu-west returned to DNS after " << ms_between(restored, back) << " ms (bound "
          << return_bound.count() << " ms; rise " << kRise << ")");
  CHECK(m.log_clean());
}
