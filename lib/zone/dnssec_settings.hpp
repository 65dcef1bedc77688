// A zone file's "dnssec" object (README "DNSSEC"): where its keys are, which
// algorithm, how long signatures are valid and how long before their expiry
// they are made again. The keys themselves are read at load (dnssec/keys.hpp);
// the signatures are made by ZoneSignatures, off the query path.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "dnssec/keys.hpp"

namespace meridian::zone {

struct DnssecSettings {
  bool configured = false;
  std::string keys_folder;  // resolved against the zone file's folder
  uint8_t algorithm = dnssec::kEcdsaP256Sha256;
  std::chrono::seconds signature_validity{14 * 86400};
  std::chrono::seconds refresh{7 * 86400};
  // "denial": "compact" (RFC 9824: NXDOMAIN answered NOERROR with an NSEC owned by
  // the name, NXNAME in its bitmap) or "nsec" (RFC 4035 NXDOMAIN from the
  // precomputed chain alone). See lib/dnssec/README.md.
  bool compact_denial = true;  // signatures are made again this long before they expire
  std::shared_ptr<const dnssec::KeySet> keys;
};

}  // namespace meridian::zone
