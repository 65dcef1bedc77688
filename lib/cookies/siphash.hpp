// SipHash-2-4 (Aumasson and Bernstein, 2012) with a 128-bit key: the MAC of RFC 9018
// server cookies. Hand-written because no Debian library offers it without an
// allocation per call (OpenSSL's EVP_MAC allocates a context); tested against the
// reference implementation's vectors.
#pragma once
#include <cstddef>
#include <cstdint>

namespace meridian::cookies {

// The 64-bit result; its bytes in little-endian order are the 8-byte output the
// reference implementation writes (and RFC 9018 puts in the cookie).
uint64_t siphash24(const uint8_t key[16], const uint8_t* data, std::size_t length);

}  // namespace meridian::cookies
