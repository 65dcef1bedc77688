// RRSIGs (RFC 4034 3) over an RRset's canonical wire form: made with ldns
// (ldns_sign_public, OpenSSL underneath), and checked with OpenSSL over a
// canonical form built here, so that a key pair that does not fit and a
// signature made wrong are both caught at load, before anything is served.
// Off the query path: the query path copies the results.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dnssec/keys.hpp"

namespace meridian::dnssec {

// One RRset: owner and rdata in wire form (rdata uncompressed).
struct RRset {
  std::string_view owner;
  uint16_t type = 0;
  uint32_t ttl = 0;  // the RRSIG's original TTL
  std::vector<std::string_view> rdata;
};

struct SignatureWindow {
  uint32_t inception = 0;   // seconds since the epoch (RFC 4034 3.1.5, serial arithmetic)
  uint32_t expiration = 0;
};

// The RRSIG rdata of every key that signs rrset.type (see KeySet::signs); empty
// with error set when ldns cannot sign.
std::vector<std::string> sign_rrset(const KeySet& keys, const RRset& rrset, SignatureWindow window, std::string& error);

// Whether rrsig_rdata is a valid signature of rrset by the key whose DNSKEY rdata
// is given (algorithms 13 and 15; the time window is not checked).
bool verify_rrsig(std::string_view dnskey_rdata, const RRset& rrset, std::string_view rrsig_rdata);

// The canonical form of rrset's records (RFC 4034 6.2, 6.3): owner and the
// embedded names of the RFC 4034 6.2 types lower-cased, records in canonical order,
// TTL = ttl.
std::string canonical_rrset(const RRset& rrset, uint32_t ttl);

}  // namespace meridian::dnssec
