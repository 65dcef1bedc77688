#include "dns/query.hpp"

#include <cstring>

namespace meridian::dns {

namespace {

// Skips one resource record (name, fixed fields, rdata); false when malformed.
bool skip_rr(const uint8_t* p, std::size_t len, std::size_t& pos, NameBuffer& scratch) {
  if (read_name(p, len, pos, scratch, false) != NameStatus::ok) return false;
  if (pos + 10 > len) return false;
  const std::size_t rdlen = read_u16(p + pos + 8);
  pos += 10;
  if (pos + rdlen > len) return false;
  pos += rdlen;
  return true;
}

// Validates an ECS option (RFC 7871 section 6 / 7.1.1).
bool parse_client_subnet(const uint8_t* opt, std::size_t len, ClientSubnet& ecs) {
  if (len < 4) return false;
  ecs.family = read_u16(opt);
  ecs.source_prefix = opt[2];
  ecs.scope_prefix = opt[3];
  unsigned max_prefix;
  if (ecs.family == 1) max_prefix = 32;
  else if (ecs.family == 2) max_prefix = 128;
  else return false;
  if (ecs.source_prefix > max_prefix || ecs.scope_prefix != 0) return false;
  const std::size_t addr_len = (ecs.source_prefix + 7u) / 8u;
  if (len - 4 != addr_len) return false;
  std::memset(ecs.address, 0, sizeof ecs.address);
  std::memcpy(ecs.address, opt + 4, addr_len);
  // Bits beyond the source prefix must be zero.
  if (ecs.source_prefix % 8 != 0) {
    const uint8_t mask = static_cast<uint8_t>(0xFF >> (ecs.source_prefix % 8));
    if (ecs.address[addr_len - 1] & mask) return false;
  }
  return true;
}

// Inlined into both callers, as it was into parse_query before the question-less form existed.
[[gnu::always_inline]] inline bool parse_opt(const uint8_t* p, std::size_t len, std::size_t& pos, Query& q) {
  // Owner must be the root name.
  if (pos >= len || p[pos] != 0) return false;
  ++pos;
  if (pos + 10 > len) return false;
  q.has_edns = true;
  q.edns_payload = read_u16(p + pos + 2);
  const uint32_t ttl = read_u32(p + pos + 4);
  q.edns_version = static_cast<uint8_t>(ttl >> 16);
  q.edns_do = (ttl & edns::kDoBit) != 0;
  const std::size_t rdlen = read_u16(p + pos + 8);
  pos += 10;
  if (pos + rdlen > len) return false;
  const std::size_t end = pos + rdlen;
  while (pos < end) {
    if (pos + 4 > end) return false;
    const uint16_t code = read_u16(p + pos);
    const std::size_t olen = read_u16(p + pos + 2);
    pos += 4;
    if (pos + olen > end) return false;
    if (code == edns::NSID) {
      q.nsid_requested = true;
    } else if (code == edns::TCP_KEEPALIVE) {
      q.keepalive_requested = true;
    } else if (code == edns::CLIENT_SUBNET) {
      if (q.has_ecs) return false;  // a second ECS option is malformed
      if (!parse_client_subnet(p + pos, olen, q.ecs)) return false;
      q.has_ecs = true;
    } else if (code == edns::COOKIE && q.cookie_length == 0) {
      // Only the first counts (as BIND); 8 bytes of client cookie, then 8 to 32 of server cookie.
      if (olen == 8 || (olen >= 16 && olen <= sizeof q.cookie)) {
        std::memcpy(q.cookie, p + pos, olen);
        q.cookie_length = static_cast<uint8_t>(olen);
      } else {
        q.cookie_length = kMalformedCookie;
      }
    }
    pos += olen;  // unknown options are ignored (RFC 6891 6.1.2)
  }
  return true;
}

// The sections after the question: answer and authority records skipped, the
// additional ones read for the OPT record; false when malformed.
[[gnu::always_inline]] inline bool parse_records(const uint8_t* packet, std::size_t len, std::size_t pos,
                                                unsigned skipped, unsigned additional, Query& q) {
  NameBuffer scratch;
  for (unsigned i = 0; i < skipped; ++i)
    if (!skip_rr(packet, len, pos, scratch)) return false;
  for (unsigned i = 0; i < additional; ++i) {
    const std::size_t rr_start = pos;
    // Peek at the type: OPT is parsed, anything else (e.g. TSIG) skipped.
    if (read_name(packet, len, pos, scratch, false) != NameStatus::ok || pos + 10 > len) return false;
    if (read_u16(packet + pos) == type::OPT) {
      if (q.has_edns) return false;  // more than one OPT (RFC 6891 6.1.1)
      pos = rr_start;
      if (!parse_opt(packet, len, pos, q)) return false;
    } else {
      // A TSIG record ends the message (RFC 8945 5.1): the answer is signed off the fast path.
      if (i + 1 == additional && read_u16(packet + pos) == type::TSIG) q.has_tsig = true;
      pos = rr_start;
      if (!skip_rr(packet, len, pos, scratch)) return false;
    }
  }
  return pos == len;  // else trailing garbage
}

// A QUERY with no question is meaningful only as a request for a server cookie.
QueryStatus parse_without_question(const uint8_t* packet, std::size_t len, Query& q) {
  const unsigned skipped = read_u16(packet + 6) + read_u16(packet + 8);
  if (!parse_records(packet, len, kHeaderSize, skipped, read_u16(packet + 10), q)) return QueryStatus::formerr;
  // question_end stays 0: the reply has no question either.
  const bool cookie = q.cookie_length != 0 && q.cookie_length != kMalformedCookie;
  return cookie ? QueryStatus::no_question : QueryStatus::formerr;
}

}  // namespace

QueryStatus parse_query(const uint8_t* packet, std::size_t len, Query& q) {
  if (len < kHeaderSize) return QueryStatus::drop;
  q.id = read_u16(packet);
  q.flags = read_u16(packet + 2);
  if (q.flags & flag::QR) return QueryStatus::drop;
  q.opcode = static_cast<uint8_t>((q.flags >> 11) & 0x0F);
  q.question_end = 0;
  q.has_edns = q.edns_do = q.nsid_requested = q.keepalive_requested = q.has_ecs = q.has_tsig = false;
  q.edns_payload = 0;
  q.edns_version = 0;
  q.cookie_length = 0;

  const uint16_t qdcount = read_u16(packet + 4);
  const uint16_t ancount = read_u16(packet + 6);
  const uint16_t nscount = read_u16(packet + 8);
  const uint16_t arcount = read_u16(packet + 10);
  if (qdcount != 1) [[unlikely]] {
    if (q.opcode != opcode::QUERY) return QueryStatus::notimp;
    return qdcount == 0 ? parse_without_question(packet, len, q) : QueryStatus::formerr;
  }

  // Another opcode is NOTIMP whatever follows (as with QDCOUNT != 1 above); its
  // question and OPT are still read when they can be, so the reply can echo them
  // and carry an OPT (RFC 6891 7).
  const QueryStatus malformed = q.opcode != opcode::QUERY ? QueryStatus::notimp : QueryStatus::formerr;
  std::size_t pos = kHeaderSize;
  if (read_name(packet, len, pos, q.qname, true) != NameStatus::ok) return malformed;
  // Nothing precedes the question a pointer could validly refer to; a pointer
  // here (into the header) is malformed, and answers echo the name verbatim.
  if (pos - kHeaderSize != q.qname.length) return malformed;
  if (pos + 4 > len) return malformed;
  q.qtype = read_u16(packet + pos);
  q.qclass = read_u16(packet + pos + 2);
  pos += 4;
  q.question_end = pos;

  if (!parse_records(packet, len, pos, ancount + nscount, arcount, q)) return malformed;
  return q.opcode != opcode::QUERY ? QueryStatus::notimp : QueryStatus::ok;
}

}  // namespace meridian::dns
