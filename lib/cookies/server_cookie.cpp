#include "cookies/server_cookie.hpp"

#include <cstring>

#include "cookies/siphash.hpp"

namespace meridian::cookies {

namespace {

// The MAC of RFC 9018 4.4 over client cookie | version | reserved | timestamp |
// client address, written as the reference implementation writes its output.
void server_hash(const Secret& secret, const uint8_t* client_cookie, const uint8_t* version_to_timestamp,
                 const util::IpAddress& client, uint8_t* out) {
  uint8_t input[kClientCookieSize + 8 + 16];
  std::memcpy(input, client_cookie, kClientCookieSize);
  std::memcpy(input + kClientCookieSize, version_to_timestamp, 8);
  std::memcpy(input + kClientCookieSize + 8, client.bytes(), client.size());
  const uint64_t hash = siphash24(secret.bytes, input, kClientCookieSize + 8 + client.size());
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(hash >> (8 * i));
}

// Compares in constant time: how many leading bytes of a guess match must not show.
bool same_hash(const uint8_t* a, const uint8_t* b) {
  uint8_t differ = 0;
  for (int i = 0; i < 8; ++i) differ |= static_cast<uint8_t>(a[i] ^ b[i]);
  return differ == 0;
}

}  // namespace

void make_server_cookie(const Secret& secret, const uint8_t* client_cookie, const util::IpAddress& client, uint32_t now,
                        uint8_t* out) {
  out[0] = kVersion;
  out[1] = out[2] = out[3] = 0;
  out[4] = static_cast<uint8_t>(now >> 24);
  out[5] = static_cast<uint8_t>(now >> 16);
  out[6] = static_cast<uint8_t>(now >> 8);
  out[7] = static_cast<uint8_t>(now);
  server_hash(secret, client_cookie, out, client, out + 8);
}

Verdict check_server_cookie(const Secrets& secrets, const uint8_t* client_cookie, const uint8_t* server_cookie,
                            std::size_t length, const util::IpAddress& client, uint32_t now) {
  if (length != kServerCookieSize || server_cookie[0] != kVersion) return Verdict::invalid;
  const uint32_t stamp = static_cast<uint32_t>(server_cookie[4]) << 24 | static_cast<uint32_t>(server_cookie[5]) << 16 |
                         static_cast<uint32_t>(server_cookie[6]) << 8 | server_cookie[7];
  // Serial number arithmetic (RFC 1982), as RFC 9018 4.3 asks: the wrap in 2106 is harmless.
  const int32_t age = static_cast<int32_t>(now - stamp);
  if (age > kLifetimeSeconds || age < -kFutureSkewSeconds) return Verdict::invalid;
  // The reserved bytes are hashed as received (RFC 9018 4.2): another implementation may set them.
  uint8_t expected[8];
  server_hash(secrets.current, client_cookie, server_cookie, client, expected);
  if (same_hash(expected, server_cookie + 8)) return age > kRenewAfterSeconds ? Verdict::valid_renew : Verdict::valid;
  if (!secrets.has_previous) return Verdict::invalid;
  server_hash(secrets.previous, client_cookie, server_cookie, client, expected);
  return same_hash(expected, server_cookie + 8) ? Verdict::valid_renew : Verdict::invalid;
}

CookieState answer_cookie(const Secrets& secrets, uint8_t* option, uint8_t& length, const util::IpAddress& client,
                          uint32_t now) {
  CookieState state = CookieState::client_only;
  if (length > kClientCookieSize) {
    const Verdict v = check_server_cookie(secrets, option, option + kClientCookieSize, length - kClientCookieSize,
                                          client, now);
    if (v == Verdict::valid) return CookieState::valid;  // echoed as it came
    state = v == Verdict::valid_renew ? CookieState::valid : CookieState::invalid;
  }
  make_server_cookie(secrets.current, option, client, now, option + kClientCookieSize);
  length = static_cast<uint8_t>(kReplyOptionSize);
  return state;
}

}  // namespace meridian::cookies
