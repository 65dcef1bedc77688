// DNS protocol numbers used across meridian (RFC 1035, 2671/6891, 7871, 5001, 8482, 7873).
#pragma once
#include <cstdint>

namespace meridian::dns {

inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::size_t kMaxNameLength = 255;   // wire form, including root label
inline constexpr std::size_t kMaxLabelLength = 63;
inline constexpr std::size_t kMaxLabels = 128;
inline constexpr std::size_t kMaxUdpPlainPayload = 512;
inline constexpr std::size_t kMaxMessage = 65535;

namespace type {
inline constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, HINFO = 13, MX = 15,
                          TXT = 16, AAAA = 28, SRV = 33, NAPTR = 35, DNAME = 39, OPT = 41,
                          DS = 43, RRSIG = 46, NSEC = 47, DNSKEY = 48, TSIG = 250, IXFR = 251, AXFR = 252,
                          MAILB = 253, MAILA = 254, ANY = 255;
}
namespace klass {
inline constexpr uint16_t IN = 1, CH = 3, HS = 4, NONE = 254, ANY = 255;
}
namespace rcode {
inline constexpr uint16_t NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4,
                          REFUSED = 5, YXDOMAIN = 6, BADVERS = 16, BADCOOKIE = 23;
}
namespace opcode {
inline constexpr uint8_t QUERY = 0;
}
namespace edns {
inline constexpr uint16_t NSID = 3, CLIENT_SUBNET = 8, COOKIE = 10, TCP_KEEPALIVE = 11;
inline constexpr uint16_t kDefaultPayload = 1232;
inline constexpr uint32_t kDoBit = 0x8000;
}

// Header flag bits in the 16-bit flags word.
namespace flag {
inline constexpr uint16_t QR = 0x8000, AA = 0x0400, TC = 0x0200, RD = 0x0100, RA = 0x0080,
                          AD = 0x0020, CD = 0x0010;
}

inline uint16_t read_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t read_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}
inline void write_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void write_u32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace meridian::dns
