// What every listener of one ForwardingTier shares: the io_context (one thread), the
// health table, the registry of open sessions (for graceful stop) and a fast PRNG.
// Everything here is touched from the io thread only.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "health/health_table.hpp"
#include "util/coarse_clock.hpp"

namespace meridian::forward {

class TierCore;

// A deadline on the operations of one socket, kept by the tier's one sweep instead of an
// asio timer per operation (arming and cancelling a timer per read costs more than the
// read's own bookkeeping). Setting it is a store; every kSweep the tier cancels the
// pending operations of the sockets whose deadline has passed: they complete with
// operation_aborted and expired() says it was the deadline. A deadline fires up to one
// sweep late. Lives on the io thread, no longer than its socket.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;
  Deadline(TierCore& core, boost::asio::ip::tcp::socket& socket);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void expires_at(Clock::time_point t) {
    at_ = t;
    expired_ = false;
  }
  void expires_after(Clock::duration d) { expires_at(util::coarse_now() + d); }  // precise enough for a 50 ms sweep
  void expires_never() { expires_at(Clock::time_point::max()); }
  // The sweep found it passed and cancelled the socket's pending operations.
  bool expired() const { return expired_; }

 private:
  friend class TierCore;
  TierCore& core_;
  boost::asio::ip::tcp::socket& socket_;
  Clock::time_point at_ = Clock::time_point::max();
  bool expired_ = false;
  Deadline* prev_ = nullptr;
  Deadline* next_ = nullptr;
};

class TierCore {
 public:
  TierCore(boost::asio::io_context& io, health::HealthTable& health) : io(io), health(health), sweep_timer_(io) {}

  // How often deadlines are checked (their precision).
  static constexpr std::chrono::milliseconds kSweep{50};

  // A session registers how to close it: force=false asks it to finish the request
  // in progress and close; force=true closes its sockets now.
  using Closer = std::function<void(bool force)>;
  uint64_t track(Closer c) {
    const uint64_t id = ++next_id_;
    sessions_.emplace(id, std::move(c));
    return id;
  }
  void untrack(uint64_t id) { sessions_.erase(id); }
  std::size_t sessions() const { return sessions_.size(); }
  void close_all(bool force) {
    auto copy = sessions_;  // closers may untrack
    for (auto& [id, c] : copy) c(force);
  }

  uint64_t random() {
    rng_ += 0x9e3779b97f4a7c15ull;
    uint64_t x = rng_;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
  }

  boost::asio::io_context& io;
  health::HealthTable& health;
  bool draining = false;

 private:
  friend class Deadline;
  void link(Deadline* d) {
    d->next_ = deadlines_;
    if (deadlines_) deadlines_->prev_ = d;
    deadlines_ = d;
    if (!sweeping_) arm_sweep();
  }
  void unlink(Deadline* d) {
    if (d->prev_) d->prev_->next_ = d->next_;
    else deadlines_ = d->next_;
    if (d->next_) d->next_->prev_ = d->prev_;
  }
  void arm_sweep() {
    sweeping_ = true;
    sweep_timer_.expires_after(kSweep);
    sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
      sweeping_ = false;
      if (ec) return;
      const auto now = Deadline::Clock::now();  // precise: never behind a (coarse) deadline stamp
      for (Deadline* d = deadlines_; d; d = d->next_) {
        if (d->at_ > now) continue;
        d->at_ = Deadline::Clock::time_point::max();
        d->expired_ = true;
        boost::system::error_code ignored;
        d->socket_.cancel(ignored);
      }
      if (deadlines_) arm_sweep();
    });
  }

  std::unordered_map<uint64_t, Closer> sessions_;
  uint64_t next_id_ = 0;
  uint64_t rng_ = 0x2545f4914f6cdd1dull;
  boost::asio::steady_timer sweep_timer_;
  Deadline* deadlines_ = nullptr;
  bool sweeping_ = false;
};

inline Deadline::Deadline(TierCore& core, boost::asio::ip::tcp::socket& socket) : core_(core), socket_(socket) {
  core_.link(this);
}
inline Deadline::~Deadline() { core_.unlink(this); }

// RAII registration of a session.
class Tracked {
 public:
  Tracked(TierCore& core, TierCore::Closer c) : core_(core), id_(core.track(std::move(c))) {}
  ~Tracked() { core_.untrack(id_); }
  Tracked(const Tracked&) = delete;
  Tracked& operator=(const Tracked&) = delete;

 private:
  TierCore& core_;
  uint64_t id_;
};

}  // namespace meridian::forward
