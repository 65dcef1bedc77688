// The authoritative answer logic (RFC 1034 4.3.2 with RFC 2308, 4592, 6891, 7871,
// 8482): one query packet in, one response packet out, written from the zone's
// precompiled wire data. Stateless apart from the snapshot it reads; no allocation.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cookies/server_cookie.hpp"
#include "dns/query.hpp"
#include "dns/writer.hpp"
#include "query/snapshot.hpp"
#include "util/coarse_clock.hpp"
#include "util/ip_address.hpp"

namespace meridian::query {

enum class Transport : uint8_t { udp = 0, tcp = 1 };

// The packet source; used when the query carries no Client Subnet option.
using ClientAddress = util::IpAddress;

// What happened, for metrics and logs.
struct AnswerInfo {
  uint16_t rcode = 0;
  uint16_t qtype = 0;
  const zone::Zone* zone = nullptr;
  bool truncated = false;
  bool dropped = false;
  int16_t service = -1;   // dynamic answer: the service and region chosen
  int16_t region = -1;
  bool failover = false;
  // What the COOKIE option said; `valid` exempts a client from rate limiting.
  cookies::CookieState cookie = cookies::CookieState::none;
  // The query is signed (TSIG): nothing was written; the caller answers it with
  // transfer::answer_signed_query, off the fast path.
  bool signed_request = false;
  // The wildcard's owner (lower-case wire, in the snapshot) when the question's name
  // was answered from one: RRL keys such answers on it, so that random names under
  // a wildcard share one bucket (as Knot and BIND do).
  std::string_view wildcard;
};

// The time dynamic TTLs count down from (to health changes). The clock is read
// at most once per AnswerClock, and only when an answer needs it: static answers
// never touch it (a cold read of the vDSO's clock page costs more than a lookup).
// A worker keeps one per batch; tests fix the time.
class AnswerClock {
 public:
  AnswerClock() = default;
  AnswerClock(std::chrono::steady_clock::time_point fixed) : now_(fixed), read_(true) {}  // NOLINT: implicit by design
  AnswerClock(std::chrono::steady_clock::time_point fixed, uint32_t unix_seconds)
      : now_(fixed), unix_seconds_(unix_seconds), read_(true), unix_read_(true) {}
  std::chrono::steady_clock::time_point now() const {
    if (!read_) {
      now_ = util::coarse_now();
      read_ = true;
    }
    return now_;
  }
  // Wall-clock seconds, for DNS cookie timestamps; read only when a query has a cookie.
  uint32_t unix_seconds() const {
    if (!unix_read_) {
      unix_seconds_ = util::coarse_unix_seconds();
      unix_read_ = true;
    }
    return unix_seconds_;
  }
  bool was_read() const { return read_; }

 private:
  mutable std::chrono::steady_clock::time_point now_{};
  mutable uint32_t unix_seconds_ = 0;
  mutable bool read_ = false;
  mutable bool unix_read_ = false;
};

// Answers one query into out (a TSIG-signed query is left to the caller, see
// AnswerInfo::signed_request) (capacity >= 65535 for TCP, >= the UDP limit for
// UDP); returns the response length, or 0 when nothing is to be sent. out may be
// the packet itself: the query is parsed whole before anything is written, and the
// header and question are then already in place.
std::size_t answer_query(const Snapshot& snapshot, const uint8_t* packet, std::size_t length,
                         const ClientAddress& source, Transport transport, const AnswerClock& clock,
                         uint8_t* out, std::size_t out_capacity, AnswerInfo* info = nullptr);

// A response with this rcode and no records: the header, the question and, for an
// EDNS query, the OPT (e.g. REFUSED to a transfer over dns.tcp.max_transfers).
// Returns 0 when the packet is not a query whose question can be read.
std::size_t reply_without_answer(const Snapshot& snapshot, const uint8_t* packet, std::size_t length, uint16_t rcode,
                                 uint8_t* out, std::size_t out_capacity);

}  // namespace meridian::query
