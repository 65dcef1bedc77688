#include "dnssec/rrset_signer.hpp"

#include <ldns/ldns.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <algorithm>
#include <memory>

#include "dns/constants.hpp"
#include "dns/name.hpp"

namespace meridian::dnssec {

namespace {

void put_u16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}
void put_u32(std::string& out, uint32_t v) {
  put_u16(out, static_cast<uint16_t>(v >> 16));
  put_u16(out, static_cast<uint16_t>(v & 0xFFFF));
}

void lower_name_at(std::string& rdata, std::size_t at, std::size_t* end = nullptr) {
  std::size_t i = at;
  while (i < rdata.size()) {
    const auto len = static_cast<uint8_t>(rdata[i]);
    if (len == 0 || len > 63) break;
    for (std::size_t j = i + 1; j <= i + len && j < rdata.size(); ++j)
      rdata[j] = static_cast<char>(dns::to_lower(static_cast<uint8_t>(rdata[j])));
    i += 1u + len;
  }
  if (end) *end = i + 1;
}

// RFC 4034 6.2 (3), as RFC 6840 5.1 leaves it: the embedded names that are lower-cased.
std::string canonical_rdata(uint16_t type, std::string_view wire) {
  std::string rdata(wire);
  std::size_t end = 0;
  switch (type) {
    case 2: case 3: case 4: case 5: case 7: case 8: case 9: case 12: case 39:  // NS .. PTR, DNAME
      lower_name_at(rdata, 0);
      break;
    case 6: case 14: case 17:  // SOA, MINFO, RP: two names
      lower_name_at(rdata, 0, &end);
      lower_name_at(rdata, end);
      break;
    case 15: case 18: case 21: case 36:  // MX, AFSDB, RT, KX
      lower_name_at(rdata, 2);
      break;
    case 33:  // SRV
      lower_name_at(rdata, 6);
      break;
    default:
      break;
  }
  return rdata;
}

struct RrListDeleter {
  void operator()(ldns_rr_list* list) const { ldns_rr_list_deep_free(list); }
};
struct KeyListDeleter {
  void operator()(ldns_key_list* list) const {
    ldns_key_list_set_key_count(list, 0);  // the keys belong to the KeySet
    ldns_key_list_free(list);
  }
};
struct BufferDeleter {
  void operator()(ldns_buffer* b) const { ldns_buffer_free(b); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

PkeyPtr public_key(uint8_t algorithm, const uint8_t* key, std::size_t length) {
  if (algorithm == kEd25519) {
    if (length != 32) return nullptr;
    return PkeyPtr(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key, length));
  }
  if (algorithm != kEcdsaP256Sha256 || length != 64) return nullptr;
  unsigned char point[65];
  point[0] = 4;  // uncompressed: x, y
  std::copy(key, key + 64, point + 1);
  OSSL_PARAM_BLD* build = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point);
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(build);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* pkey = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) == 1) EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(build);
  return PkeyPtr(pkey);
}

// ECDSA signatures are r || s in DNSSEC (RFC 6605 4), DER for OpenSSL.
std::string ecdsa_der(const uint8_t* raw, std::size_t length) {
  if (length != 64) return {};
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int n = i2d_ECDSA_SIG(sig, &der);
  std::string out;
  if (n > 0) out.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

}  // namespace

std::string canonical_rrset(const RRset& rrset, uint32_t ttl) {
  std::vector<std::string> records;
  records.reserve(rrset.rdata.size());
  for (std::string_view rd : rrset.rdata) records.push_back(canonical_rdata(rrset.type, rd));
  std::sort(records.begin(), records.end());
  records.erase(std::unique(records.begin(), records.end()), records.end());
  const std::string owner = dns::fold_wire_name(rrset.owner);
  std::string out;
  for (const std::string& rd : records) {
    out += owner;
    put_u16(out, rrset.type);
    put_u16(out, 1);  // IN
    put_u32(out, ttl);
    put_u16(out, static_cast<uint16_t>(rd.size()));
    out += rd;
  }
  return out;
}

std::vector<std::string> sign_rrset(const KeySet& keys, const RRset& rrset, SignatureWindow window, std::string& error) {
  std::unique_ptr<ldns_rr_list, RrListDeleter> list(ldns_rr_list_new());
  for (std::string_view rd : rrset.rdata) {
    std::string wire(rrset.owner);
    put_u16(wire, rrset.type);
    put_u16(wire, 1);
    put_u32(wire, rrset.ttl);
    put_u16(wire, static_cast<uint16_t>(rd.size()));
    wire += rd;
    ldns_rr* rr = nullptr;
    std::size_t pos = 0;
    if (ldns_wire2rr(&rr, reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), &pos, LDNS_SECTION_ANSWER) !=
        LDNS_STATUS_OK) {
      error = "ldns cannot read a record of type " + std::to_string(rrset.type);
      return {};
    }
    ldns_rr_list_push_rr(list.get(), rr);
  }
  std::unique_ptr<ldns_key_list, KeyListDeleter> signers(ldns_key_list_new());
  std::lock_guard lock(keys.sign_mutex);
  for (std::size_t i = 0; i < keys.keys.size(); ++i) {
    if (!keys.signs(i, rrset.type)) continue;
    ldns_key* key = keys.keys[i].key.get();
    ldns_key_set_inception(key, window.inception);
    ldns_key_set_expiration(key, window.expiration);
    ldns_key_list_push_key(signers.get(), key);
  }
  std::unique_ptr<ldns_rr_list, RrListDeleter> signatures(ldns_sign_public(list.get(), signers.get()));
  if (!signatures || ldns_rr_list_rr_count(signatures.get()) != ldns_key_list_key_count(signers.get())) {
    error = "ldns could not sign an RRset of type " + std::to_string(rrset.type);
    return {};
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(signatures.get()); ++i) {
    std::unique_ptr<ldns_buffer, BufferDeleter> buffer(ldns_buffer_new(512));
    if (ldns_rr_rdata2buffer_wire(buffer.get(), ldns_rr_list_rr(signatures.get(), i)) != LDNS_STATUS_OK) {
      error = "ldns could not write an RRSIG";
      return {};
    }
    out.emplace_back(reinterpret_cast<const char*>(ldns_buffer_begin(buffer.get())), ldns_buffer_position(buffer.get()));
  }
  return out;
}

bool verify_rrsig(std::string_view dnskey_rdata, const RRset& rrset, std::string_view rrsig_rdata) {
  if (dnskey_rdata.size() < 5 || rrsig_rdata.size() < 19) return false;
  const auto* sig = reinterpret_cast<const uint8_t*>(rrsig_rdata.data());
  const uint8_t algorithm = sig[2];
  if (dns::read_u16(sig) != rrset.type || algorithm != static_cast<uint8_t>(dnskey_rdata[3])) return false;
  const std::size_t signer_length = dns::wire_name_length(sig + 18, rrsig_rdata.size() - 18);
  if (signer_length == 0) return false;
  const std::size_t signed_prefix = 18 + signer_length;
  std::string data(rrsig_rdata.substr(0, signed_prefix));
  // The signer name is lower case in the signed data (RFC 4034 3.1.8.1, 6.2).
  for (std::size_t i = 18; i < data.size(); ++i) data[i] = static_cast<char>(dns::to_lower(static_cast<uint8_t>(data[i])));
  data += canonical_rrset(rrset, dns::read_u32(sig + 4));
  const PkeyPtr key = public_key(algorithm, reinterpret_cast<const uint8_t*>(dnskey_rdata.data()) + 4,
                                 dnskey_rdata.size() - 4);
  if (!key) return false;
  std::string signature(rrsig_rdata.substr(signed_prefix));
  if (algorithm == kEcdsaP256Sha256) signature = ecdsa_der(reinterpret_cast<const uint8_t*>(signature.data()), signature.size());
  if (signature.empty()) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  const EVP_MD* digest = algorithm == kEcdsaP256Sha256 ? EVP_sha256() : nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, digest, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

}  // namespace meridian::dnssec
