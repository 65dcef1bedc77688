// Replaced snapshots are freed once no query thread can be using them: the
// BatchReader protocol of net::SnapshotHolder step by step, and the UDP workers,
// which block in recvmmsg between batches and must not keep the snapshot they
// last used alive on an idle server (for a 1M-name zone that is 200 MB).
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "net/dns_stats.hpp"
#include "net/snapshot_holder.hpp"
#include "net/udp_server.hpp"
#include "support/dns_message.hpp"
#include "util/host_port.hpp"

namespace meridian {

namespace {

using Clock = std::chrono::steady_clock;

std::shared_ptr<const query::Snapshot> snapshot() { return std::make_shared<query::Snapshot>(); }

// Waits (bounded) until the snapshot is gone.
bool freed_within(const std::weak_ptr<const query::Snapshot>& w, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  while (!w.expired() && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  return w.expired();
}

// One query to 127.0.0.1:port from a fresh socket; true when any reply came.
bool ask(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const test::Bytes q = test::build_query(test::QuerySpec("www.example.com"));
  bool replied = false;
  for (int attempt = 0; attempt < 5 && !replied; ++attempt) {
    ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 2000) == 1) {
      uint8_t buf[512];
      replied = ::recv(fd, buf, sizeof buf, 0) > 0;
    }
  }
  ::close(fd);
  return replied;
}

}  // namespace

TEST_SUITE("net.snapshot_release") {
  TEST_CASE("a batch reader parked at publish time keeps nothing: the replaced snapshot is freed at once") {
    net::SnapshotHolder holder;
    net::BatchReader reader(holder);
    auto a = snapshot();
    const std::weak_ptr<const query::Snapshot> weak_a = a;
    holder.publish(std::move(a));
    CHECK(reader.enter() == weak_a.lock().get());
    reader.park();
    holder.publish(snapshot());
    CHECK(weak_a.expired());
    CHECK(holder.retired_snapshots() == 0);
    CHECK(reader.enter() == holder.get().get());
    reader.park();
  }

  TEST_CASE("a snapshot in use by a batch stays until that batch ends; other readers do not hold it") {
    net::SnapshotHolder holder;
    net::BatchReader busy(holder), idle(holder);
    auto a = snapshot();
    const std::weak_ptr<const query::Snapshot> weak_a = a;
    holder.publish(std::move(a));
    const query::Snapshot* in_use = busy.enter();
    REQUIRE(in_use);
    CHECK(idle.enter() == in_use);
    idle.park();
    // Two publishes during the batch: both replaced snapshots wait for it.
    auto b = snapshot();
    const std::weak_ptr<const query::Snapshot> weak_b = b;
    holder.publish(std::move(b));
    holder.publish(snapshot());
    CHECK_FALSE(weak_a.expired());
    CHECK(holder.retired_snapshots() == 2);
    busy.park();
    CHECK(weak_a.expired());
    CHECK(weak_b.expired());
    CHECK(holder.retired_snapshots() == 0);
    // The next batch sees the current snapshot.
    CHECK(busy.enter() == holder.get().get());
    busy.park();
  }

  TEST_CASE("a batch that starts after a publish moves on, freeing what it used before") {
    net::SnapshotHolder holder;
    net::BatchReader reader(holder);
    auto a = snapshot();
    const std::weak_ptr<const query::Snapshot> weak_a = a;
    holder.publish(std::move(a));
    reader.enter();
    holder.publish(snapshot());  // during the batch: kept
    CHECK_FALSE(weak_a.expired());
    // The same reader's next enter (as after a lost park) refreshes and lets it go.
    CHECK(reader.enter() == holder.get().get());
    CHECK(weak_a.expired());
    reader.park();
  }

  TEST_CASE("a reader going away does not hold snapshots; before any publish it sees none") {
    net::SnapshotHolder holder;
    auto a = snapshot();
    const std::weak_ptr<const query::Snapshot> weak_a = a;
    {
      net::BatchReader reader(holder);
      CHECK(reader.enter() == nullptr);
      holder.publish(std::move(a));
      CHECK(reader.enter() == weak_a.lock().get());
      holder.publish(snapshot());
      CHECK_FALSE(weak_a.expired());
    }
    CHECK(weak_a.expired());
  }

  TEST_CASE("idle UDP workers let the replaced snapshot go after a publish, with no query after it") {
    net::SnapshotHolder holder;
    net::DnsStats stats;
    auto a = snapshot();
    const std::weak_ptr<const query::Snapshot> weak_a = a;
    holder.publish(std::move(a));
    net::UdpServer udp(holder, stats);
    const auto where = util::parse_host_port("127.0.0.1:0");
    REQUIRE(where);
    const util::HostPort bound = udp.bind(*where, 2);
    udp.start();
    // Answered from the first snapshot (several source ports: both workers likely get one).
    for (int i = 0; i < 4; ++i) REQUIRE(ask(bound.port));
    holder.publish(snapshot());
    // Nothing else arrives: the workers stay blocked in recvmmsg.
    CHECK(freed_within(weak_a, std::chrono::seconds(10)));
    CHECK(ask(bound.port));
    udp.stop();
  }
}

}  // namespace meridian
