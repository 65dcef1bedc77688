// The backend's pool of idle keep-alive connections: newest reused first, capped, and the
// ones idle past pool_idle closed when a connection comes back.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "forward/core/backend.hpp"

using namespace meridian::forward;
using std::chrono::milliseconds;

namespace {
Time t0() { return Time{} + std::chrono::hours(1000); }

std::unique_ptr<tcp::socket> open_socket(boost::asio::io_context& io) {
  auto s = std::make_unique<tcp::socket>(io);
  s->open(tcp::v4());
  return s;
}
}  // namespace

TEST_CASE("pooled backend connections: newest first, capped at pool_size, stale ones closed on put") {
  boost::asio::io_context io;
  Backend b;
  const milliseconds max_idle(30000);

  auto first = open_socket(io);
  const tcp::socket* first_raw = first.get();
  b.put_idle(std::move(first), t0(), 4, max_idle);
  auto second = open_socket(io);
  const tcp::socket* second_raw = second.get();
  b.put_idle(std::move(second), t0() + milliseconds(10), 4, max_idle);
  CHECK(b.idle.size() == 2);

  // Reused newest first (its TCP window and TLS session are warmest).
  auto taken = b.take_idle(t0() + milliseconds(20), max_idle);
  CHECK(taken.get() == second_raw);
  b.put_idle(std::move(taken), t0() + milliseconds(20), 4, max_idle);

  // At the cap a returned connection is closed (dropped), not kept.
  for (int i = 0; i < 4; ++i) b.put_idle(open_socket(io), t0() + milliseconds(30), 4, max_idle);
  CHECK(b.idle.size() == 4);
  CHECK(b.idle.front().stream.get() == first_raw);

  // Past max_idle the oldest are closed when a connection comes back, so a burst's leftovers
  // do not stay open below the newer ones until the pool drains to them.
  b.put_idle(open_socket(io), t0() + milliseconds(30025), 4, max_idle);
  CHECK(b.idle.size() == 3);  // first and second (put at 0 and 20 ms) are gone, then the new one kept
  for (const auto& i : b.idle) CHECK(i.stream.get() != first_raw);

  // take_idle skips what has expired.
  CHECK(b.take_idle(t0() + milliseconds(90000), max_idle) == nullptr);
  CHECK(b.idle.empty());
}
