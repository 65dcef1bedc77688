#include "cookies/siphash.hpp"

#include <bit>
#include <cstring>

namespace meridian::cookies {

namespace {

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);  // one load; SipHash reads its words little-endian
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

inline uint64_t rotl(uint64_t x, int b) { return x << b | x >> (64 - b); }

struct State {
  uint64_t v0, v1, v2, v3;

  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
  void compress(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

}  // namespace

uint64_t siphash24(const uint8_t key[16], const uint8_t* data, std::size_t length) {
  const uint64_t k0 = load_le64(key);
  const uint64_t k1 = load_le64(key + 8);
  State s{k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL, k0 ^ 0x6c7967656e657261ULL,
          k1 ^ 0x7465646279746573ULL};
  const std::size_t whole = length - length % 8;
  for (std::size_t i = 0; i < whole; i += 8) s.compress(load_le64(data + i));
  // The last block: the remaining bytes, and the length's low byte on top.
  uint64_t last = static_cast<uint64_t>(length & 0xFF) << 56;
  for (std::size_t i = 0; i < length % 8; ++i) last |= static_cast<uint64_t>(data[whole + i]) << (8 * i);
  s.compress(last);
  s.v2 ^= 0xFF;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

}  // namespace meridian::cookies
