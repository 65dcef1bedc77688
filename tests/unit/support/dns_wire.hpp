// Test helpers for the DNS core: building packets byte by byte, so that
// malformed ones can be made on purpose. Well-formed queries and the decoding of
// responses come from the shared support/dns_message.hpp.
#pragma once
#include <doctest/doctest.h>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "support/dns_message.hpp"

namespace meridian::test {

// Wire form of an absolute presentation name ("www.example.com."); fails the test
// when the text is not a valid name.
inline std::string wire_name(std::string_view text) {
  auto w = dns::name_from_text(text);
  REQUIRE_MESSAGE(w.has_value(), "bad test name: " << std::string(text));
  return *w;
}

inline void put8(Bytes& b, unsigned v) { b.push_back(static_cast<uint8_t>(v)); }
inline void put16(Bytes& b, unsigned v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xFFFF);
}
inline void put_raw(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
inline void put_raw(Bytes& b, std::initializer_list<uint8_t> s) { b.insert(b.end(), s.begin(), s.end()); }
inline void put_name(Bytes& b, std::string_view text) { put_raw(b, wire_name(text)); }

inline Bytes header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an = 0, uint16_t ns = 0, uint16_t ar = 0) {
  Bytes b;
  put16(b, id);
  put16(b, flags);
  put16(b, qd);
  put16(b, an);
  put16(b, ns);
  put16(b, ar);
  return b;
}

// Flags word with the given opcode (and optionally other bits).
inline uint16_t opcode_flags(unsigned opcode, uint16_t other = 0) {
  return static_cast<uint16_t>((opcode & 0x0F) << 11 | other);
}

// One EDNS option (code, length, data).
inline Bytes edns_option(uint16_t code, std::string_view data) {
  Bytes b;
  put16(b, code);
  put16(b, static_cast<uint16_t>(data.size()));
  put_raw(b, data);
  return b;
}
inline Bytes edns_option(uint16_t code, const Bytes& data) {
  return edns_option(code, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

// An ECS option (RFC 7871) exactly as given: no truncation or masking applied.
inline Bytes ecs_option(uint16_t family, uint8_t source, uint8_t scope, std::initializer_list<uint8_t> address) {
  Bytes data;
  put16(data, family);
  put8(data, source);
  put8(data, scope);
  put_raw(data, address);
  return edns_option(dns::edns::CLIENT_SUBNET, data);
}

// An OPT RR with root owner. ttl_flags is the whole TTL field (ext-rcode, version, DO).
inline Bytes opt_rr(uint16_t payload = 1232, uint32_t ttl_flags = 0, const Bytes& options = {}) {
  Bytes b;
  put8(b, 0);
  put16(b, dns::type::OPT);
  put16(b, payload);
  put32(b, ttl_flags);
  put16(b, static_cast<uint16_t>(options.size()));
  b.insert(b.end(), options.begin(), options.end());
  return b;
}
inline uint32_t edns_ttl(uint8_t ext_rcode, uint8_t version, bool do_bit) {
  return static_cast<uint32_t>(ext_rcode) << 24 | static_cast<uint32_t>(version) << 16 | (do_bit ? 0x8000u : 0u);
}

inline Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline Bytes question(std::string_view name, uint16_t qtype, uint16_t qclass = dns::klass::IN) {
  Bytes b;
  put_name(b, name);
  put16(b, qtype);
  put16(b, qclass);
  return b;
}

// A query as a stub resolver sends it (RD set; an OPT with the defaults when
// edns), through the shared builder.
inline Bytes make_query(QuerySpec s, bool edns = false) {
  s.rd = true;
  if (edns) s.edns = Edns{};
  return build_query(s);
}
inline Bytes make_query(std::string_view name, uint16_t qtype, bool edns = false) {
  return make_query(QuerySpec{std::string(name), qtype}, edns);
}

}  // namespace meridian::test
