// Parsing of an incoming DNS query: header, the one question, and the EDNS OPT
// record with the options meridian acts on (NSID, Client Subnet, COOKIE). No allocation.
#pragma once
#include <cstddef>
#include <cstdint>

#include "dns/name.hpp"

namespace meridian::dns {

// EDNS Client Subnet option (RFC 7871) as received.
struct ClientSubnet {
  uint16_t family = 0;          // 1 = IPv4, 2 = IPv6
  uint8_t source_prefix = 0;
  uint8_t scope_prefix = 0;
  uint8_t address[16] = {};     // zero-padded beyond the prefix
};

struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;           // the header's flags word as received
  uint8_t opcode = 0;
  NameBuffer qname;             // lower-cased
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  std::size_t question_end = 0; // offset just past the question in the packet

  bool has_edns = false;
  uint16_t edns_payload = 0;
  uint8_t edns_version = 0;
  bool edns_do = false;
  bool nsid_requested = false;
  bool keepalive_requested = false;  // edns-tcp-keepalive (RFC 7828), whatever its length
  bool has_ecs = false;
  bool has_tsig = false;        // the last additional record is a TSIG (RFC 8945)
  ClientSubnet ecs;
  // The first COOKIE option (RFC 7873 4): 0 when there is none, kMalformedCookie
  // when its length is not 8 or 16..40 (FORMERR, RFC 7873 5.2.2, if cookies are on),
  // else the length of `cookie`, copied since the reply may overwrite the packet.
  uint8_t cookie_length = 0;
  uint8_t cookie[40];
};

inline constexpr uint8_t kMalformedCookie = 0xFF;

enum class QueryStatus {
  ok,
  drop,      // not worth an answer: too short for a header, or a response (QR=1)
  formerr,   // malformed: answered FORMERR (with the question when it could be read)
  notimp,    // opcode other than QUERY
  // QUERY without a question but with a COOKIE option: a client asking for a
  // server cookie (RFC 7873 5.4); FORMERR where cookies are off.
  no_question,
};

// Parses packet into q. When the status is formerr/notimp, q.id/flags/opcode are
// valid and question_end is non-zero only if the question itself could be read.
QueryStatus parse_query(const uint8_t* packet, std::size_t len, Query& q);

}  // namespace meridian::dns
