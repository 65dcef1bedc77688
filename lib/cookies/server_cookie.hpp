// DNS Cookies (RFC 7873) with the interoperable server cookie of RFC 9018:
// version 1, three reserved bytes, a 32-bit timestamp, and SipHash-2-4 over the
// client cookie, those eight bytes and the client address, keyed with a 128-bit
// secret. Every server holding the secret makes and accepts the same cookies, so
// the nodes of an anycast set agree. No allocation, no clock read: the caller
// passes the time.
#pragma once
#include <cstddef>
#include <cstdint>

#include "util/ip_address.hpp"

namespace meridian::cookies {

inline constexpr std::size_t kClientCookieSize = 8;
inline constexpr std::size_t kServerCookieSize = 16;  // what we make (RFC 9018 4.1)
inline constexpr std::size_t kReplyOptionSize = kClientCookieSize + kServerCookieSize;
inline constexpr std::size_t kMaxOptionSize = 40;     // client cookie and a 32-byte server cookie
inline constexpr uint8_t kVersion = 1;
// RFC 9018 4.3: a cookie lives an hour, may come from up to five minutes in the
// future (clocks of an anycast set differ), and is replaced once half an hour old.
inline constexpr int32_t kLifetimeSeconds = 3600;
inline constexpr int32_t kFutureSkewSeconds = 300;
inline constexpr int32_t kRenewAfterSeconds = 1800;

struct Secret {
  uint8_t bytes[16] = {};
  friend bool operator==(const Secret&, const Secret&) = default;
};

// New cookies are made with `current`; one made with `previous` (the secret before
// a rotation) is still accepted, and answered with a new one.
struct Secrets {
  Secret current;
  Secret previous;
  bool has_previous = false;
  friend bool operator==(const Secrets&, const Secrets&) = default;
};

// What a query's COOKIE option said. `valid` is what rate limiting asks about: the
// client proved it receives our replies at its address.
enum class CookieState : uint8_t {
  none,         // no COOKIE option, or cookies are off
  client_only,  // a client cookie alone
  valid,        // a server cookie we made for this client, within its lifetime
  invalid,      // a server cookie we did not make, for another address, or expired
};

enum class Verdict : uint8_t { invalid, valid, valid_renew };

// Writes the 16-byte server cookie for this client and client cookie at `now`
// (Unix seconds).
void make_server_cookie(const Secret& secret, const uint8_t* client_cookie, const util::IpAddress& client, uint32_t now,
                        uint8_t* out);

// Checks a received server cookie (any length; only our 16-byte form can pass).
// valid_renew: valid, but older than half an hour or made with the previous secret.
Verdict check_server_cookie(const Secrets& secrets, const uint8_t* client_cookie, const uint8_t* server_cookie,
                            std::size_t length, const util::IpAddress& client, uint32_t now);

// The server's side of one COOKIE option. `option` holds the option data as
// received (`length` 8, or 16 to 40) and is rewritten into the reply's: the client
// cookie and a valid server cookie (the one received when it needs no renewal).
CookieState answer_cookie(const Secrets& secrets, uint8_t* option, uint8_t& length, const util::IpAddress& client,
                          uint32_t now);

}  // namespace meridian::cookies
