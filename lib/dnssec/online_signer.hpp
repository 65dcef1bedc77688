// RRSIGs made on a DNS thread, for the few records that cannot be signed ahead:
// RFC 9824 compact NSECs owned by a name that does not exist (see
// query/compact_denial.hpp, which bounds how often this runs). OpenSSL directly,
// with the keys' EVP_PKEY shared read-only: no mutex (rrset_signer's ldns path
// holds KeySet::sign_mutex, and a background signing run may hold it for seconds).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dnssec/keys.hpp"
#include "dnssec/rrset_signer.hpp"

namespace meridian::dnssec {

// Upper bound of one RRSIG rdata: 18 fixed bytes, a signer name, a 64-byte signature.
inline constexpr std::size_t kMaxRrsigRdata = 18 + 255 + 64;

// Signs the one-record RRset (owner, type, ttl, rdata) with every key that signs
// `type`, writing each RRSIG rdata as [2-byte length][rdata] into out. owner must
// be lower-case wire form and rdata canonical (as an NSEC's is). Returns the
// number of RRSIGs (0: a key failed, or out is too small) and sets *written.
unsigned sign_one_record(const KeySet& keys, std::string_view owner, uint16_t type, uint32_t ttl, std::string_view rdata,
                         SignatureWindow window, uint8_t* out, std::size_t capacity, std::size_t* written);

}  // namespace meridian::dnssec
