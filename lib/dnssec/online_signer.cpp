#include "dnssec/online_signer.hpp"

#include <ldns/ldns.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include <cstring>

#include "dns/constants.hpp"
#include "dns/name.hpp"

namespace meridian::dnssec {

namespace {

void write_u16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v & 0xFF);
}
void write_u32(uint8_t* p, uint32_t v) {
  write_u16(p, static_cast<uint16_t>(v >> 16));
  write_u16(p + 2, static_cast<uint16_t>(v & 0xFFFF));
}

// The signature of data with key, in DNSSEC's form (r || s for ECDSA, RFC 6605 4);
// 64 bytes for both algorithms, or 0.
std::size_t sign_data(uint8_t algorithm, EVP_PKEY* key, const uint8_t* data, std::size_t length, uint8_t* out) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return 0;
  std::size_t produced = 0;
  const EVP_MD* digest = algorithm == kEcdsaP256Sha256 ? EVP_sha256() : nullptr;
  uint8_t der[80];
  std::size_t der_length = sizeof der;
  if (EVP_DigestSignInit(ctx, nullptr, digest, nullptr, key) == 1 &&
      EVP_DigestSign(ctx, der, &der_length, data, length) == 1) {
    if (algorithm == kEd25519) {
      if (der_length == 64) {
        std::memcpy(out, der, 64);
        produced = 64;
      }
    } else {
      const unsigned char* at = der;
      if (ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &at, static_cast<long>(der_length))) {
        const BIGNUM* r = nullptr;
        const BIGNUM* s = nullptr;
        ECDSA_SIG_get0(sig, &r, &s);
        if (BN_bn2binpad(r, out, 32) == 32 && BN_bn2binpad(s, out + 32, 32) == 32) produced = 64;
        ECDSA_SIG_free(sig);
      }
    }
  }
  EVP_MD_CTX_free(ctx);
  return produced;
}

}  // namespace

unsigned sign_one_record(const KeySet& keys, std::string_view owner, uint16_t type, uint32_t ttl, std::string_view rdata,
                         SignatureWindow window, uint8_t* out, std::size_t capacity, std::size_t* written) {
  *written = 0;
  const std::string_view signer = keys.origin;
  if (owner.size() > 255 || signer.size() > 255 || rdata.size() > 0xFFFF) return 0;
  unsigned labels = dns::wire_name_labels(owner);
  // A leading "*" label is not counted (RFC 4034 3.1.3); the caller never signs one.
  if (owner.size() > 2 && owner[0] == 1 && owner[1] == '*') return 0;
  // The signed data: the RRSIG rdata without its signature, then the record in
  // canonical form (RFC 4034 3.1.8.1).
  uint8_t data[18 + 255 + 255 + 10 + 1024];
  const std::size_t record_length = owner.size() + 10 + rdata.size();
  if (18 + signer.size() + record_length > sizeof data) return 0;
  unsigned count = 0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < keys.keys.size(); ++i) {
    if (!keys.signs(i, type)) continue;
    const SigningKey& key = keys.keys[i];
    EVP_PKEY* pkey = ldns_key_evp_key(key.key.get());
    if (!pkey) return 0;
    uint8_t* p = data;
    write_u16(p, type);
    p[2] = key.algorithm;
    p[3] = static_cast<uint8_t>(labels);
    write_u32(p + 4, ttl);
    write_u32(p + 8, window.expiration);
    write_u32(p + 12, window.inception);
    write_u16(p + 16, key.tag);
    std::memcpy(p + 18, signer.data(), signer.size());
    const std::size_t prefix = 18 + signer.size();
    p += prefix;
    std::memcpy(p, owner.data(), owner.size());
    p += owner.size();
    write_u16(p, type);
    write_u16(p + 2, dns::klass::IN);
    write_u32(p + 4, ttl);
    write_u16(p + 8, static_cast<uint16_t>(rdata.size()));
    std::memcpy(p + 10, rdata.data(), rdata.size());
    const std::size_t rrsig_length = prefix + 64;
    if (at + 2 + rrsig_length > capacity) return 0;
    uint8_t signature[64];
    if (sign_data(key.algorithm, pkey, data, prefix + record_length, signature) != 64) return 0;
    write_u16(out + at, static_cast<uint16_t>(rrsig_length));
    std::memcpy(out + at + 2, data, prefix);
    std::memcpy(out + at + 2 + prefix, signature, 64);
    at += 2 + rrsig_length;
    ++count;
  }
  *written = at;
  return count;
}

}  // namespace meridian::dnssec
