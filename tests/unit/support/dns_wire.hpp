// Test helpers for the DNS core: building query packets byte by byte (so that
// malformed ones can be made on purpose) and decoding response packets by hand,
// independently of meridian's own writer. Header-only: tests/CMakeLists.txt only
// compiles tests/unit/*.cpp.
#pragma once
#include <doctest/doctest.h>
// stdbool.h first: without __bool_true_false_are_defined, ldns/common.h
// #defines bool, true and false, which breaks the C++ standard headers.
#include <stdbool.h>
#include <ldns/ldns.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "zone/rdata_codec.hpp"

namespace meridian::test {

using Bytes = std::vector<uint8_t>;

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

// A well-formed query: header, one question and (optionally) an OPT record.
struct QuerySpec {
  std::string name = "www.example.com.";
  uint16_t qtype = dns::type::A;
  uint16_t qclass = dns::klass::IN;
  uint16_t id = 0x1234;
  uint16_t flags = dns::flag::RD;
  bool edns = false;
  uint16_t payload = 1232;
  uint32_t edns_ttl = 0;
  Bytes options = {};
};

inline Bytes question(std::string_view name, uint16_t qtype, uint16_t qclass = dns::klass::IN) {
  Bytes b;
  put_name(b, name);
  put16(b, qtype);
  put16(b, qclass);
  return b;
}

inline Bytes make_query(const QuerySpec& s) {
  Bytes b = header(s.id, s.flags, 1, 0, 0, s.edns ? 1 : 0);
  const Bytes q = question(s.name, s.qtype, s.qclass);
  b.insert(b.end(), q.begin(), q.end());
  if (s.edns) {
    const Bytes o = opt_rr(s.payload, s.edns_ttl, s.options);
    b.insert(b.end(), o.begin(), o.end());
  }
  return b;
}
inline Bytes make_query(std::string_view name, uint16_t qtype, bool edns = false) {
  QuerySpec s;
  s.name = std::string(name);
  s.qtype = qtype;
  s.edns = edns;
  return make_query(s);
}

// ---- response decoding ----------------------------------------------------------

struct ParsedRR {
  std::string owner;   // presentation form, case as found in the packet
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  std::string rdata;   // uncompressed rdata (names in NS/CNAME/PTR/MX/SOA expanded)
  std::string text;    // rdata in presentation form (through ldns)
  std::size_t offset = 0;  // where the RR starts in the packet
};

struct ParsedMessage {
  bool ok = false;
  std::string error;
  std::size_t size = 0;
  uint16_t id = 0;
  uint16_t flags = 0;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  std::string qname;   // presentation form, case as sent
  std::string qname_wire;  // raw bytes of the question name as it appears
  uint16_t qtype = 0, qclass = 0;
  std::vector<ParsedRR> answer, authority, additional;  // additional without OPT
  unsigned opt_count = 0;
  uint16_t opt_payload = 0;
  uint32_t opt_ttl = 0;
  std::string opt_rdata;

  bool has_opt() const { return opt_count > 0; }
  uint16_t rcode() const { return flags & 0x0F; }
  uint16_t full_rcode() const { return static_cast<uint16_t>((has_opt() ? (opt_ttl >> 24) << 4 : 0) | rcode()); }
  unsigned opcode() const { return (flags >> 11) & 0x0F; }
  bool qr() const { return flags & dns::flag::QR; }
  bool aa() const { return flags & dns::flag::AA; }
  bool tc() const { return flags & dns::flag::TC; }
  bool rd() const { return flags & dns::flag::RD; }
  bool ra() const { return flags & dns::flag::RA; }
  bool cd() const { return flags & dns::flag::CD; }
  bool opt_do() const { return opt_ttl & dns::edns::kDoBit; }
  unsigned opt_version() const { return (opt_ttl >> 16) & 0xFF; }

  // Records of a type in a section.
  static std::vector<const ParsedRR*> of_type(const std::vector<ParsedRR>& section, uint16_t type) {
    std::vector<const ParsedRR*> out;
    for (const auto& rr : section)
      if (rr.type == type) out.push_back(&rr);
    return out;
  }
  // EDNS option payload by code; found=false when absent.
  std::string opt_option(uint16_t code, bool* found = nullptr) const {
    std::size_t i = 0;
    while (i + 4 <= opt_rdata.size()) {
      const uint16_t c = dns::read_u16(reinterpret_cast<const uint8_t*>(opt_rdata.data()) + i);
      const uint16_t l = dns::read_u16(reinterpret_cast<const uint8_t*>(opt_rdata.data()) + i + 2);
      if (c == code) {
        if (found) *found = true;
        return opt_rdata.substr(i + 4, l);
      }
      i += 4u + l;
    }
    if (found) *found = false;
    return {};
  }
};

namespace detail {

// Reads a (possibly compressed) name; every pointer must go strictly backwards.
inline bool read_name(const uint8_t* p, std::size_t len, std::size_t& pos, std::string& out) {
  dns::NameBuffer nb;
  if (dns::read_name(p, len, pos, nb, false) != dns::NameStatus::ok) return false;
  out.assign(reinterpret_cast<const char*>(nb.data), nb.length);
  return true;
}

// Expands the compressed names in rdata of the RFC 1035 types.
inline bool expand_rdata(const uint8_t* p, std::size_t len, std::size_t start, std::size_t rdlen, uint16_t type,
                         std::string& out) {
  std::size_t pos = start;
  const std::size_t end = start + rdlen;
  auto name = [&]() {
    std::string n;
    if (!read_name(p, end, pos, n)) return false;
    out += n;
    return true;
  };
  auto fixed = [&](std::size_t n) {
    if (pos + n > end) return false;
    out.append(reinterpret_cast<const char*>(p + pos), n);
    pos += n;
    return true;
  };
  (void)len;
  switch (type) {
    case dns::type::NS: case dns::type::CNAME: case dns::type::PTR:
      if (!name()) return false;
      break;
    case dns::type::MX:
      if (!fixed(2) || !name()) return false;
      break;
    case dns::type::SOA:
      if (!name() || !name() || !fixed(20)) return false;
      break;
    default:
      return fixed(rdlen);
  }
  return pos == end;
}

}  // namespace detail

// Decodes a whole message; ok=false (with error) on anything malformed, including
// bytes after the last record.
inline ParsedMessage parse_message(const uint8_t* p, std::size_t len) {
  ParsedMessage m;
  m.size = len;
  auto fail = [&](std::string why) {
    m.ok = false;
    m.error = std::move(why);
    return m;
  };
  if (len < dns::kHeaderSize) return fail("short header");
  m.id = dns::read_u16(p);
  m.flags = dns::read_u16(p + 2);
  m.qdcount = dns::read_u16(p + 4);
  m.ancount = dns::read_u16(p + 6);
  m.nscount = dns::read_u16(p + 8);
  m.arcount = dns::read_u16(p + 10);
  std::size_t pos = dns::kHeaderSize;
  if (m.qdcount > 1) return fail("more than one question");
  if (m.qdcount == 1) {
    const std::size_t start = pos;
    std::string wire;
    if (!detail::read_name(p, len, pos, wire)) return fail("bad question name");
    m.qname_wire.assign(reinterpret_cast<const char*>(p + start), pos - start);
    m.qname = dns::name_to_text(wire);
    if (pos + 4 > len) return fail("short question");
    m.qtype = dns::read_u16(p + pos);
    m.qclass = dns::read_u16(p + pos + 2);
    pos += 4;
  }
  const uint16_t counts[3] = {m.ancount, m.nscount, m.arcount};
  std::vector<ParsedRR>* sections[3] = {&m.answer, &m.authority, &m.additional};
  for (int s = 0; s < 3; ++s) {
    for (unsigned i = 0; i < counts[s]; ++i) {
      ParsedRR rr;
      rr.offset = pos;
      std::string owner;
      if (!detail::read_name(p, len, pos, owner)) return fail("bad owner name");
      if (pos + 10 > len) return fail("short RR");
      rr.type = dns::read_u16(p + pos);
      rr.klass = dns::read_u16(p + pos + 2);
      rr.ttl = dns::read_u32(p + pos + 4);
      const std::size_t rdlen = dns::read_u16(p + pos + 8);
      pos += 10;
      if (pos + rdlen > len) return fail("short rdata");
      if (rr.type == dns::type::OPT) {
        if (s != 2) return fail("OPT outside the additional section");
        if (owner.size() != 1) return fail("OPT owner not root");
        ++m.opt_count;
        m.opt_payload = rr.klass;
        m.opt_ttl = rr.ttl;
        m.opt_rdata.assign(reinterpret_cast<const char*>(p + pos), rdlen);
        pos += rdlen;
        continue;
      }
      rr.owner = dns::name_to_text(owner);
      if (!detail::expand_rdata(p, len, pos, rdlen, rr.type, rr.rdata)) return fail("bad rdata");
      rr.text = zone::rdata_to_text(rr.type, rr.rdata);
      pos += rdlen;
      sections[s]->push_back(std::move(rr));
    }
  }
  if (pos != len) return fail("trailing bytes after the last record");
  m.ok = true;
  return m;
}
inline ParsedMessage parse_message(const Bytes& b) { return parse_message(b.data(), b.size()); }

// Independent check: ldns accepts the packet as a DNS message.
inline bool ldns_parses(const uint8_t* p, std::size_t len) {
  ldns_pkt* pkt = nullptr;
  const ldns_status st = ldns_wire2pkt(&pkt, p, len);
  if (pkt) ldns_pkt_free(pkt);
  return st == LDNS_STATUS_OK;
}
inline bool ldns_parses(const Bytes& b) { return ldns_parses(b.data(), b.size()); }

inline std::string hex(const uint8_t* p, std::size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    if (i) s += ' ';
    s += d[p[i] >> 4];
    s += d[p[i] & 15];
  }
  return s;
}
inline std::string hex(std::string_view s) { return hex(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
inline std::string hex(const Bytes& b) { return hex(b.data(), b.size()); }

}  // namespace meridian::test
