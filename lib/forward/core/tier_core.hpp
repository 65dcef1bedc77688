// What every listener of one ForwardingTier shares: the io_context (one thread), the
// health table, the registry of open sessions (for graceful stop) and a fast PRNG.
// Everything here is touched from the io thread only.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>

#include <boost/asio/io_context.hpp>

#include "health/health_table.hpp"

namespace meridian::forward {

class TierCore {
 public:
  TierCore(boost::asio::io_context& io, health::HealthTable& health) : io(io), health(health) {}

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
  std::unordered_map<uint64_t, Closer> sessions_;
  uint64_t next_id_ = 0;
  uint64_t rng_ = 0x2545f4914f6cdd1dull;
};

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
