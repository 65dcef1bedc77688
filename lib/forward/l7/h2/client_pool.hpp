// A backend's HTTP/2 sessions ("protocol": "h2"): streams are multiplexed over a few
// pooled connections. A stream goes on the first session with room under the backend's
// SETTINGS_MAX_CONCURRENT_STREAMS (a session still connecting: as the last one said);
// when all are full, a new session is opened, up to
// max_sessions; past that, the least loaded session takes it (nghttp2 holds the stream
// until the backend allows it). Sessions that died, or were made for other TLS settings,
// leave the pool. On the tier's io thread only.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include <boost/asio/ip/tcp.hpp>

#include "forward/core/tier_core.hpp"
#include "forward/l7/h2/client_session.hpp"

namespace meridian::forward::l7::h2 {

class ClientPool {
 public:
  ClientPool(TierCore& core, boost::asio::ip::tcp::endpoint endpoint) : core_(core), endpoint_(endpoint) {}
  ~ClientPool();  // retires its sessions: their streams in flight finish first
  ClientPool(const ClientPool&) = delete;
  ClientPool& operator=(const ClientPool&) = delete;

  // A session with a slot reserved for one stream (ClientSession::submit takes it): it
  // may still be connecting.
  std::shared_ptr<ClientSession> acquire(const std::shared_ptr<const tls::ClientTls>& tls, uint32_t max_sessions,
                                         Ms connect_timeout, Ms idle_timeout);
  // Sessions open or connecting, and sessions ever opened.
  std::size_t sessions() const;
  uint64_t opened() const { return opened_; }

 private:
  TierCore& core_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::vector<std::shared_ptr<ClientSession>> sessions_;
  uint64_t opened_ = 0;
  // What a session still connecting is assumed to allow: the backend's last
  // SETTINGS_MAX_CONCURRENT_STREAMS, 100 before any (RFC 9113 6.5.2's recommended floor).
  std::size_t capacity_hint_ = 100;
};

}  // namespace meridian::forward::l7::h2
