// DNSSEC keys as BIND writes them (K<zone>+<alg>+<tag>.key and .private, the
// files dnssec-keygen and ldns-keygen make): reading a zone's keys from a folder,
// making new ones, and the DS records for the parent. Algorithms 13
// (ECDSAP256SHA256) and 15 (ED25519). A private key is read once at load, never
// logged, and refused when its file is readable by everyone.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct ldns_struct_key;

namespace meridian::dnssec {

inline constexpr uint8_t kEcdsaP256Sha256 = 13;
inline constexpr uint8_t kEd25519 = 15;
inline constexpr uint16_t kZoneKeyFlag = 0x0100;
inline constexpr uint16_t kSepFlag = 0x0001;  // a KSK (or CSK) by convention

// "ECDSAP256SHA256" / "ED25519" (any case) or "13" / "15"; nullopt otherwise.
std::optional<uint8_t> algorithm_from_name(std::string_view name);
const char* algorithm_name(uint8_t algorithm);

struct KeyDeleter {
  void operator()(ldns_struct_key* key) const;
};

struct SigningKey {
  std::string file;          // the .key file (the .private beside it); for messages and /status
  uint8_t algorithm = 0;
  uint16_t flags = 0;
  uint16_t tag = 0;
  std::string dnskey_rdata;  // wire form: flags, protocol, algorithm, public key
  std::unique_ptr<ldns_struct_key, KeyDeleter> key;
  bool ksk() const { return flags & kSepFlag; }
};

// One zone's keys. With both SEP and non-SEP keys, the SEP keys (KSKs) sign the
// DNSKEY RRset and the others (ZSKs) everything else; with SEP keys alone each
// is a CSK and signs everything. Signing goes through sign_mutex (ldns keys carry
// the signature window), always off the query path.
struct KeySet {
  std::string origin;  // lower-case wire form
  std::vector<SigningKey> keys;
  mutable std::mutex sign_mutex;

  bool has_zsk() const;
  // Whether key i signs RRsets of this type.
  bool signs(std::size_t i, uint16_t type) const;
};

// Reads every K<zone>+<alg>+<tag>.key with its .private in `folder` whose
// algorithm is `algorithm`. Empty keys and error set when none is usable; a
// private key file readable by everyone, a .key without its .private, a .private
// that does not parse or does not match the .key are errors.
std::shared_ptr<KeySet> read_keys(const std::string& folder, std::string_view origin_wire, uint8_t algorithm,
                                  std::string& error);

// Writes a new key pair into folder (the .private with mode 0600); returns the
// files' common path without extension ("dir/Kexample.com.+013+12345"), or empty
// with error set.
std::string generate_key(const std::string& folder, std::string_view origin_wire, uint8_t algorithm, bool ksk,
                         std::string& error);

// DS records (SHA-256) of the SEP keys, one presentation line each.
std::vector<std::string> ds_records(const KeySet& keys, uint32_t ttl);

}  // namespace meridian::dnssec
