// Raw HTTP/2 frames for tests that must send what no well-behaved client sends (rapid
// reset, PING floods): frame headers by hand and header blocks from HPACK's static table
// and literals without indexing (RFC 7541), so no HPACK library is needed. Header-only.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fwdtest::h2frames {

inline constexpr std::string_view kPreface{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"};

enum Type : uint8_t { DATA = 0, HEADERS = 1, RST_STREAM = 3, SETTINGS = 4, PING = 6, GOAWAY = 7, WINDOW_UPDATE = 8 };
enum Flag : uint8_t { END_STREAM = 1, ACK = 1, END_HEADERS = 4 };

inline void put32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

inline std::string frame(uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  std::string out;
  const auto n = static_cast<uint32_t>(payload.size());
  out.push_back(static_cast<char>((n >> 16) & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  put32(out, stream & 0x7fffffffu);
  out += payload;
  return out;
}

// A header block for "GET <path>" to <authority> over http: :method GET (static 2),
// :scheme http (6), :path as a literal of name 4, :authority as a literal of name 1.
// Values must be under 127 bytes (one-byte lengths, no Huffman).
inline std::string get_block(std::string_view authority, std::string_view path = "/") {
  std::string b;
  b.push_back(static_cast<char>(0x82));
  b.push_back(static_cast<char>(0x86));
  b.push_back(0x04);  // literal without indexing, name index 4 (:path)
  b.push_back(static_cast<char>(path.size()));
  b += path;
  b.push_back(0x01);  // literal without indexing, name index 1 (:authority)
  b.push_back(static_cast<char>(authority.size()));
  b += authority;
  return b;
}

// An HPACK integer with an n-bit prefix (RFC 7541 5.1) after the `first` bits.
inline void hpack_int(std::string& out, uint8_t first, int prefix_bits, std::size_t v) {
  const std::size_t max = (1u << prefix_bits) - 1;
  if (v < max) {
    out.push_back(static_cast<char>(first | v));
    return;
  }
  out.push_back(static_cast<char>(first | max));
  v -= max;
  while (v >= 128) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
// A field as a literal without indexing with a new name (any lengths, no Huffman).
inline std::string literal(std::string_view name, std::string_view value) {
  std::string b;
  b.push_back(0x00);
  hpack_int(b, 0, 7, name.size());
  b += name;
  hpack_int(b, 0, 7, value.size());
  b += value;
  return b;
}
inline std::string data(uint32_t stream, std::string_view payload, bool end_stream) {
  return frame(DATA, end_stream ? END_STREAM : 0, stream, payload);
}

inline std::string settings() { return frame(SETTINGS, 0, 0, ""); }
inline std::string settings_ack() { return frame(SETTINGS, ACK, 0, ""); }
inline std::string headers(uint32_t stream, std::string_view block, bool end_stream = true) {
  return frame(HEADERS, static_cast<uint8_t>(END_HEADERS | (end_stream ? END_STREAM : 0)), stream, block);
}
inline std::string rst_stream(uint32_t stream, uint32_t error = 8 /* CANCEL */) {
  std::string p;
  put32(p, error);
  return frame(RST_STREAM, 0, stream, p);
}
inline std::string ping(uint64_t opaque) {
  std::string p;
  put32(p, static_cast<uint32_t>(opaque >> 32));
  put32(p, static_cast<uint32_t>(opaque));
  return frame(PING, 0, 0, p);
}

struct Frame {
  uint8_t type = 0, flags = 0;
  uint32_t stream = 0;
  std::string payload;
};

// Splits bytes into whole frames (from `used`, which it advances); a partial frame stays.
inline std::vector<Frame> parse(const std::string& bytes, std::size_t& used) {
  std::vector<Frame> out;
  while (bytes.size() - used >= 9) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + used);
    const std::size_t n = (std::size_t(p[0]) << 16) | (std::size_t(p[1]) << 8) | p[2];
    if (bytes.size() - used < 9 + n) break;
    Frame f;
    f.type = p[3];
    f.flags = p[4];
    f.stream = ((uint32_t(p[5]) << 24) | (uint32_t(p[6]) << 16) | (uint32_t(p[7]) << 8) | p[8]) & 0x7fffffffu;
    f.payload.assign(bytes.data() + used + 9, n);
    out.push_back(std::move(f));
    used += 9 + n;
  }
  return out;
}

inline uint32_t read32(std::string_view bytes, std::size_t at) {
  if (bytes.size() < at + 4) return ~0u;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
// The error code of a GOAWAY frame (after last-stream-id), and of a RST_STREAM frame.
inline uint32_t goaway_error(const Frame& f) { return read32(f.payload, 4); }
inline uint32_t rst_error(const Frame& f) { return read32(f.payload, 0); }

inline constexpr uint32_t kEnhanceYourCalm = 0xb;

}  // namespace fwdtest::h2frames
