// Everything the query path reads, built off the query path and published whole:
// a reload builds a new Snapshot and swaps the pointer (see SnapshotHolder).
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "cookies/cookie_policy.hpp"
#include "routing/routing_table.hpp"
#include "rrl/rrl.hpp"
#include "zone/zone.hpp"
#include "zone/answer_signatures.hpp"
#include "zone/zone_signatures.hpp"

namespace meridian::query {

struct ServerIdentity {
  bool chaos_version = true;     // answer version.bind / version.server
  std::string version;           // TXT text for version queries
  bool chaos_identity = true;    // answer id.server / hostname.bind
  std::string identity;          // TXT text for identity queries
  std::string nsid;              // NSID payload (RFC 5001); empty: not sent
};

// A TSIG key (RFC 8945) for zone transfers, as meridian.json names it.
struct TsigKey {
  std::string name;       // lower case, final dot: "xfr."
  std::string algorithm;  // "hmac-sha256", "hmac-sha384", "hmac-sha512"
  std::string secret;     // base64
};

struct Snapshot {
  std::shared_ptr<const zone::ZoneSet> zones;
  std::shared_ptr<const routing::RoutingTable> routing;  // dynamic names; null when no services
  ServerIdentity identity;
  uint16_t max_udp_payload = 1232;  // our EDNS buffer size: DNS flag day 2020 default
  // Compact NXDOMAIN NSECs (RFC 9824) a DNS thread may sign per second (0: none,
  // the precomputed NSEC chain answers); see query/compact_denial.hpp.
  uint32_t online_signatures_per_second = 1000;
  // The TCP idle timeout in 100 ms units, sent to clients that ask (RFC 7828).
  uint16_t tcp_keepalive = 100;
  // Sources allowed to ask `_explain.NAME TXT` (as net keys); empty: refused.
  std::vector<routing::ClientKey> explain_allow;
  uint64_t generation = 0;
  cookies::CookiePolicy cookies;  // off unless the configuration builds it
  std::shared_ptr<const rrl::Policy> rrl;  // response rate limiting; null: off
  std::vector<TsigKey> tsig_keys;  // read off the query path (transfers and signed queries)
  // DNSSEC: each signed zone's signatures, by Zone::index() (null: unsigned);
  // empty when no zone is signed.
  std::vector<std::shared_ptr<const zone::ZoneSignatures>> signatures;
  // The signatures of the dynamic answers `routing` can give (null: none).
  std::shared_ptr<const zone::AnswerSignatures> answer_signatures;
  const zone::ZoneSignatures* signatures_for(const zone::Zone& z) const {
    return z.index() < signatures.size() ? signatures[z.index()].get() : nullptr;
  }
};

}  // namespace meridian::query
