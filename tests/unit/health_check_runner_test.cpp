// The check runner with a scripted probe, no sockets: rise/fall from initial up
// and down, hold-down, the reason refreshed on every result, the deadline the
// probe is given, stats, and a removed target's probe cancelled.
#include <doctest/doctest.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <boost/asio/post.hpp>

#include "health/checks/check_runner.hpp"

using namespace meridian;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using health::ProbeResult;

namespace {

const std::string kKey = "web/eu/192.0.2.1";

// Results the test hands out, and what the table said when each attempt began
// (an attempt begins only after the runner reported the result before it).
class Script {
 public:
  explicit Script(health::HealthTable& table) : table_(table) {}

  void push(ProbeResult r) {
    std::lock_guard lock(mutex_);
    results_.push_back(std::move(r));
    release();
  }

  void begin(boost::asio::any_io_executor executor, Clock::time_point deadline, health::Probe::Done done) {
    const Clock::duration left = deadline - Clock::now();
    std::lock_guard lock(mutex_);
    const auto entries = table_.entries();
    seen_.push_back(entries.at(kKey).by_source.at(health::Source::check));
    time_given_.push_back(left);
    executor_ = std::move(executor);
    pending_ = std::move(done);
    release();
    changed_.notify_all();
  }

  void cancel() {
    std::lock_guard lock(mutex_);
    pending_ = nullptr;
    ++cancels_;
    changed_.notify_all();
  }

  // Waits (up to 20 s) until `n` attempts have begun; the table's word at each.
  std::vector<health::Observation> wait_for_attempts(std::size_t n) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, Clock::now() + 20s, [&] { return seen_.size() >= n; });
    return seen_;
  }
  bool wait_for_cancel() {
    std::unique_lock lock(mutex_);
    return changed_.wait_until(lock, Clock::now() + 20s, [&] { return cancels_ > 0; });
  }
  std::vector<Clock::duration> time_given() {
    std::lock_guard lock(mutex_);
    return time_given_;
  }
  // Lets go of the runner's callback (it holds the monitor) once the runner has stopped.
  void drop() {
    std::lock_guard lock(mutex_);
    pending_ = nullptr;
  }

 private:
  void release() {
    if (!pending_ || results_.empty()) return;
    boost::asio::post(executor_, [done = std::move(pending_), r = results_.front()] { done(r); });
    pending_ = nullptr;
    results_.pop_front();
  }

  health::HealthTable& table_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<ProbeResult> results_;
  std::vector<health::Observation> seen_;
  std::vector<Clock::duration> time_given_;
  boost::asio::any_io_executor executor_;
  health::Probe::Done pending_;
  int cancels_ = 0;
};

class ScriptedProbe final : public health::Probe {
 public:
  ScriptedProbe(boost::asio::any_io_executor executor, Script& script) : executor_(std::move(executor)), script_(script) {}
  void start(const boost::asio::ip::tcp::endpoint&, Clock::time_point deadline, Done done) override {
    script_.begin(executor_, deadline, std::move(done));
  }
  void cancel() override { script_.cancel(); }

 private:
  boost::asio::any_io_executor executor_;
  Script& script_;
};

struct Bench {
  health::HealthTable table;
  Script script{table};
  health::CheckRunner runner{table, [this](boost::asio::any_io_executor executor, const health::CheckConfig&) {
                               return std::make_unique<ScriptedProbe>(std::move(executor), script);
                             }};
  explicit Bench(const health::CheckConfig& config) {
    runner.apply({{kKey, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("192.0.2.1"), 80), config}});
  }
  ~Bench() {
    runner.stop();
    script.drop();
  }
};

health::CheckConfig fast_check(unsigned rise, unsigned fall, bool initial_up) {
  health::CheckConfig c;
  c.interval = 1ms;
  c.timeout = 5s;  // only passed on to the probe as its deadline
  c.jitter = 0;
  c.rise = rise;
  c.fall = fall;
  c.initial_up = initial_up;
  return c;
}

ProbeResult ok(const std::string& reason = "connected") { return {true, reason}; }
ProbeResult fail(const std::string& reason = "connect: Connection refused") { return {false, reason}; }

// Pushes `results` at once and returns the check's state after each.
std::vector<health::State> states_after(Bench& b, const std::vector<ProbeResult>& results) {
  for (const auto& r : results) b.script.push(r);
  const auto seen = b.script.wait_for_attempts(results.size() + 1);
  REQUIRE(seen.size() == results.size() + 1);
  std::vector<health::State> out;
  for (std::size_t i = 1; i < seen.size(); ++i) {
    CHECK(seen[i].reason == results[i - 1].reason);  // refreshed on every result
    out.push_back(seen[i].state);
  }
  return out;
}

constexpr auto up = health::State::up;
constexpr auto down = health::State::down;

}  // namespace

TEST_CASE("check runner: initial up goes down after fall failures in a row, back up after rise successes") {
  Bench b(fast_check(2, 3, true));
  const auto first = b.script.wait_for_attempts(1);
  REQUIRE(first.size() == 1);
  CHECK(first[0].state == up);
  CHECK(first[0].reason == "initial state (up): waiting for the first check");

  const auto states = states_after(b, {fail(), fail(), ok(), fail(), fail(), fail("timeout after 5000ms"), ok(), fail(),
                                       ok("HTTP status 200"), ok(), fail()});
  CHECK(states == std::vector{up, up, up, up, up, down, down, down, down, up, up});

  const auto stats = b.runner.stats().at(kKey);
  CHECK(stats.has_result);
  CHECK(stats.runs == 11);
  CHECK(stats.failures == 7);
  CHECK(b.runner.all_have_results());

  // Each attempt is given the check's timeout as its deadline.
  for (const auto left : b.script.time_given()) {
    CHECK(left <= 5s);
    CHECK(left > 4s);
  }
}

TEST_CASE("check runner: initial down needs rise successes; rise 1 and fall 1 follow every result") {
  {
    Bench b(fast_check(3, 2, false));
    const auto first = b.script.wait_for_attempts(1);
    REQUIRE(first.size() == 1);
    CHECK(first[0].state == down);
    CHECK(first[0].reason == "initial state (down): waiting for the first check");
    CHECK(states_after(b, {ok(), ok(), fail(), ok(), ok(), ok(), fail()}) ==
          std::vector{down, down, down, down, down, up, up});
  }
  {
    Bench b(fast_check(1, 1, true));
    CHECK(states_after(b, {fail(), ok(), ok(), fail(), ok()}) == std::vector{down, up, up, down, up});
  }
}

TEST_CASE("check runner: hold_down keeps a new state until it has passed, then the next result decides") {
  health::CheckConfig c = fast_check(1, 1, true);
  c.hold_down = 1000ms;
  Bench b(c);
  b.script.wait_for_attempts(1);

  const auto pushed = Clock::now();
  CHECK(states_after(b, {fail()}) == std::vector{down});
  const auto went_down = Clock::now();  // the runner's flip happened between `pushed` and this

  for (const auto& r : {ok(), ok()}) b.script.push(r);
  const auto seen = b.script.wait_for_attempts(4);
  REQUIRE(seen.size() == 4);
  if (Clock::now() - pushed < c.hold_down) {
    CHECK(seen[2].state == down);  // held: rise is met but the flip was too recent
    CHECK(seen[3].state == down);
  } else {
    MESSAGE("machine too slow to see the hold-down from inside it; only its end is checked");
  }

  // Once hold_down has passed since the flip, the next success brings it up.
  std::this_thread::sleep_until(went_down + c.hold_down + 50ms);
  b.script.push(ok());
  const auto after = b.script.wait_for_attempts(5);
  REQUIRE(after.size() == 5);
  CHECK(after[4].state == up);
}

TEST_CASE("check runner: a removed target's attempt is cancelled and its state forgotten") {
  Bench b(fast_check(2, 3, true));
  REQUIRE(b.script.wait_for_attempts(1).size() == 1);  // an attempt in flight, never answered
  b.runner.apply({});
  CHECK(b.script.wait_for_cancel());
  CHECK(b.table.entries().count(kKey) == 0);
}
