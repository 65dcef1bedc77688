// Circuit breaker, retry budget, backoff, token bucket, outlier detection (injected clock).
#include <doctest/doctest.h>

#include "forward/resilience/backoff.hpp"
#include "forward/resilience/circuit_breaker.hpp"
#include "forward/resilience/outlier.hpp"
#include "forward/resilience/rate_limiter.hpp"
#include "forward/resilience/retry_budget.hpp"

using namespace meridian::forward;
using std::chrono::milliseconds;

namespace {
Time t0() { return Time{} + std::chrono::hours(1000); }
}  // namespace

TEST_CASE("circuit breaker walks closed -> open -> half_open -> closed, and back to open on a failed probe") {
  CircuitSettings s;
  s.window = milliseconds(10000);
  s.min_requests = 10;
  s.failure_rate = 0.5;
  s.open_timeout = milliseconds(5000);
  s.half_open_probes = 2;
  CircuitBreaker cb(s);
  Time now = t0();
  // below min_requests nothing opens
  for (int i = 0; i < 9; ++i) {
    REQUIRE(cb.available(now));
    cb.on_dispatch(now);
    cb.on_failure(now);
  }
  CHECK(cb.state() == CircuitState::closed);
  // the 10th result: 10 failures out of 10
  cb.on_dispatch(now);
  cb.on_failure(now);
  CHECK(cb.state() == CircuitState::open);
  CHECK(cb.opened() == 1);
  CHECK_FALSE(cb.available(now + milliseconds(4999)));
  now += milliseconds(5000);
  CHECK(cb.available(now));
  cb.on_dispatch(now);
  CHECK(cb.state() == CircuitState::half_open);
  cb.on_dispatch(now);
  CHECK_FALSE(cb.available(now));  // two probes in flight
  cb.on_success(now);
  CHECK(cb.state() == CircuitState::half_open);
  cb.on_success(now);
  CHECK(cb.state() == CircuitState::closed);
  CHECK(cb.transitions() == 3);

  // open again, then a failed probe reopens it
  for (int i = 0; i < 10; ++i) cb.on_failure(now);
  CHECK(cb.state() == CircuitState::open);
  now += milliseconds(5000);
  cb.on_dispatch(now);
  CHECK(cb.state() == CircuitState::half_open);
  cb.on_failure(now);
  CHECK(cb.state() == CircuitState::open);
  CHECK_FALSE(cb.available(now + milliseconds(1)));
  CHECK(cb.opened() == 3);
}

TEST_CASE("circuit breaker: failure rate below the threshold and old failures keep it closed") {
  CircuitSettings s;
  s.min_requests = 10;
  s.failure_rate = 0.5;
  s.window = milliseconds(10000);
  CircuitBreaker cb(s);
  Time now = t0();
  for (int i = 0; i < 20; ++i) {
    if (i % 3 == 0) cb.on_failure(now);
    else cb.on_success(now);
  }
  CHECK(cb.state() == CircuitState::closed);
  // failures slide out of the window
  CircuitBreaker old(s);
  for (int i = 0; i < 9; ++i) old.on_failure(now);
  now += milliseconds(11000);
  old.on_failure(now);
  CHECK(old.state() == CircuitState::closed);
  // disabled: never opens
  s.enabled = false;
  CircuitBreaker off(s);
  for (int i = 0; i < 100; ++i) off.on_failure(now);
  CHECK(off.available(now));
}

TEST_CASE("retry budget allows ratio of requests plus a floor, over a sliding window") {
  RetryBudget b(0.2, milliseconds(10000), 3);
  Time now = t0();
  for (int i = 0; i < 100; ++i) b.on_request(now);
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += b.try_retry(now) ? 1 : 0;
  CHECK(allowed == 23);
  CHECK(b.denied() == 77);
  // after the window, the old requests and retries are forgotten
  now += milliseconds(11000);
  allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += b.try_retry(now) ? 1 : 0;
  CHECK(allowed == 3);
}

TEST_CASE("backoff with full jitter stays within [0, min(cap, base * 2^n)]") {
  CHECK(backoff_ceiling(0, milliseconds(25), milliseconds(1000)) == milliseconds(25));
  CHECK(backoff_ceiling(3, milliseconds(25), milliseconds(1000)) == milliseconds(200));
  CHECK(backoff_ceiling(10, milliseconds(25), milliseconds(1000)) == milliseconds(1000));
  CHECK(backoff_ceiling(63, milliseconds(25), milliseconds(1000)) == milliseconds(1000));
  uint64_t r = 1;
  for (unsigned attempt = 0; attempt < 8; ++attempt) {
    const auto ceiling = backoff_ceiling(attempt, milliseconds(25), milliseconds(1000));
    milliseconds lo = ceiling, hi{0};
    for (int i = 0; i < 2000; ++i) {
      r = r * 6364136223846793005ull + 1442695040888963407ull;
      const auto d = full_jitter(attempt, milliseconds(25), milliseconds(1000), r >> 11);
      CHECK(d >= milliseconds(0));
      CHECK(d <= ceiling);
      lo = std::min(lo, d);
      hi = std::max(hi, d);
    }
    CHECK(lo <= ceiling / 10);  // jitter covers the range
    CHECK(hi >= ceiling * 9 / 10);
  }
  CHECK(full_jitter(5, milliseconds(0), milliseconds(0), 12345) == milliseconds(0));
}

TEST_CASE("token bucket: burst, refill rate and wait") {
  Time now = t0();
  TokenBucket b(10, 5, now);
  for (int i = 0; i < 5; ++i) CHECK(b.take(now));
  CHECK_FALSE(b.take(now));
  CHECK(b.wait(now) == milliseconds(100));
  CHECK_FALSE(b.take(now + milliseconds(50)));
  CHECK(b.take(now + milliseconds(100)));
  CHECK_FALSE(b.take(now + milliseconds(100)));
  now += milliseconds(10000);
  CHECK(b.full(now));
  int n = 0;
  while (b.take(now)) ++n;
  CHECK(n == 5);  // never more than the burst
}

TEST_CASE("rate limiter keeps one bucket per client, gives Retry-After, bounds its memory") {
  Time now = t0();
  RateLimiter r(1, 2, 3);
  unsigned ra = 0;
  CHECK(r.allow("a", now, ra));
  CHECK(r.allow("a", now, ra));
  CHECK_FALSE(r.allow("a", now, ra));
  CHECK(ra == 1);
  CHECK(r.allow("b", now, ra));  // another client is not affected
  RateLimiter slow(0.1, 1, 10);
  CHECK(slow.allow("x", now, ra));
  CHECK_FALSE(slow.allow("x", now, ra));
  CHECK(ra == 10);
  // capacity: a, b, c fill it; d is refused until buckets refill and are forgotten
  CHECK(r.allow("c", now, ra));
  CHECK_FALSE(r.allow("d", now, ra));
  CHECK(r.clients() == 3);
  CHECK(r.allow("d", now + milliseconds(5000), ra));
  CHECK(r.clients() == 1);
}

TEST_CASE("outlier detection ejects after consecutive failures, doubles the time, respects the cap") {
  OutlierSettings s;
  s.consecutive_failures = 3;
  s.base_ejection = milliseconds(1000);
  s.max_ejection = milliseconds(3000);
  s.max_ejection_percent = 50;
  OutlierDetector d(s);
  OutlierState b;
  Time now = t0();
  CHECK_FALSE(d.on_failure(b, 0, 2, now).became_failing);
  CHECK_FALSE(d.on_failure(b, 0, 2, now).ejected);
  auto v = d.on_failure(b, 0, 2, now);
  CHECK(v.became_failing);
  CHECK(v.ejected);
  CHECK(b.ejected(now + milliseconds(999)));
  CHECK_FALSE(b.ejected(now + milliseconds(1000)));
  now += milliseconds(1000);
  for (int i = 0; i < 3; ++i) v = d.on_failure(b, 0, 2, now);
  CHECK(v.ejected);
  CHECK(b.ejected(now + milliseconds(1999)));  // 2 s the second time
  now += milliseconds(2000);
  for (int i = 0; i < 3; ++i) v = d.on_failure(b, 0, 2, now);
  CHECK(b.ejected(now + milliseconds(2999)));  // capped at 3 s
  CHECK_FALSE(b.ejected(now + milliseconds(3000)));
  // a success clears the failing mark
  CHECK(d.on_success(b, now + milliseconds(3001)));
  CHECK_FALSE(d.on_success(b, now + milliseconds(3002)));

  // share cap: with 1 of 2 already ejected at 50 %, the second fails but is not ejected
  OutlierState c;
  for (int i = 0; i < 2; ++i) d.on_failure(c, 1, 2, now);
  v = d.on_failure(c, 1, 2, now);
  CHECK(v.became_failing);
  CHECK_FALSE(v.ejected);
  CHECK(c.failing);
  // off
  OutlierDetector off(OutlierSettings{0, milliseconds(1), milliseconds(1), 100});
  OutlierState e;
  for (int i = 0; i < 100; ++i) CHECK_FALSE(off.on_failure(e, 0, 1, now).ejected);
}
