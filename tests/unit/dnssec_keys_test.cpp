// lib/dnssec: BIND key files, RRSIGs made with ldns checked by our verifier and
// ours checked by ldns (ECDSA is randomised: each verifies the other's, no byte
// comparison), the key file rules.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "dns/name.hpp"
#include "dnssec/keys.hpp"
#include "dnssec/rrset_signer.hpp"
#include "unit/support/temp_dir.hpp"

// After the C++ headers: ldns's common.h may define bool for C.
#include <ldns/ldns.h>

using namespace meridian;

namespace {

const std::string kOrigin = *dns::name_from_text("example.com.");

std::string wire_name(const char* text) { return *dns::name_from_text(text); }

ldns_rr* ldns_record(const std::string& owner, uint16_t type, uint32_t ttl, std::string_view rdata) {
  std::string wire = owner;
  const uint8_t fixed[10] = {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type), 0, 1,
                             static_cast<uint8_t>(ttl >> 24), static_cast<uint8_t>(ttl >> 16),
                             static_cast<uint8_t>(ttl >> 8), static_cast<uint8_t>(ttl),
                             static_cast<uint8_t>(rdata.size() >> 8), static_cast<uint8_t>(rdata.size())};
  wire.append(reinterpret_cast<const char*>(fixed), sizeof fixed);
  wire.append(rdata);
  ldns_rr* rr = nullptr;
  std::size_t pos = 0;
  REQUIRE(ldns_wire2rr(&rr, reinterpret_cast<const uint8_t*>(wire.data()), wire.size(), &pos, LDNS_SECTION_ANSWER) ==
          LDNS_STATUS_OK);
  return rr;
}

// ldns's verdict on one of our RRSIGs, over the RRset as wire records.
ldns_status ldns_verdict(const dnssec::KeySet& keys, const dnssec::RRset& rrset, const std::string& rrsig) {
  ldns_rr_list* records = ldns_rr_list_new();
  for (std::string_view rd : rrset.rdata) ldns_rr_list_push_rr(records, ldns_record(std::string(rrset.owner), rrset.type, rrset.ttl, rd));
  ldns_rr* sig = ldns_record(std::string(rrset.owner), LDNS_RR_TYPE_RRSIG, rrset.ttl, rrsig);
  ldns_rr_list* dnskeys = ldns_rr_list_new();
  for (const auto& k : keys.keys) ldns_rr_list_push_rr(dnskeys, ldns_record(keys.origin, LDNS_RR_TYPE_DNSKEY, 3600, k.dnskey_rdata));
  ldns_rr_list* good = ldns_rr_list_new();
  const ldns_status status = ldns_verify_rrsig_keylist(records, sig, dnskeys, good);
  ldns_rr_list_free(good);
  ldns_rr_list_deep_free(dnskeys);
  ldns_rr_free(sig);
  ldns_rr_list_deep_free(records);
  return status;
}

dnssec::SignatureWindow window_now() {
  const auto now = static_cast<uint32_t>(std::time(nullptr));
  return {now - 3600, now + 14 * 86400};
}

}  // namespace

TEST_CASE("dnssec: keygen writes BIND files that read back; our RRSIGs verify with ldns and with our verifier") {
  for (const uint8_t algorithm : {dnssec::kEcdsaP256Sha256, dnssec::kEd25519}) {
    CAPTURE(static_cast<int>(algorithm));
    test::UnitTempDir dir;
    std::string error;
    const std::string base = dnssec::generate_key(dir.path(), kOrigin, algorithm, true, error);
    REQUIRE_MESSAGE(!base.empty(), error);
    CHECK(std::filesystem::path(base).filename().string().rfind("Kexample.com.+0" + std::to_string(algorithm) + "+", 0) == 0);
    struct stat st {};
    REQUIRE(::stat((base + ".private").c_str(), &st) == 0);
    CHECK((st.st_mode & 077) == 0);
    const auto keys = dnssec::read_keys(dir.path(), kOrigin, algorithm, error);
    REQUIRE_MESSAGE(keys, error);
    REQUIRE(keys->keys.size() == 1);
    CHECK(keys->keys[0].flags == 257);
    CHECK(std::filesystem::path(base).filename().string().ends_with("+" + std::string(5 - std::to_string(keys->keys[0].tag).size(), '0') +
                                                                    std::to_string(keys->keys[0].tag)));

    // Mixed case in the owner and in an embedded name: both are lower-cased in the signed form.
    const std::string owner = wire_name("Mail.Example.COM.");
    std::string mx1("\x00\x0a", 2), mx2("\x00\x14", 2);
    mx1 += wire_name("MX1.example.com.");
    mx2 += wire_name("mx2.example.net.");
    const dnssec::RRset rrset{owner, LDNS_RR_TYPE_MX, 300, {mx2, mx1}};
    const auto sigs = dnssec::sign_rrset(*keys, rrset, window_now(), error);
    REQUIRE_MESSAGE(sigs.size() == 1, error);
    CHECK(dnssec::verify_rrsig(keys->keys[0].dnskey_rdata, rrset, sigs[0]));
    CHECK(ldns_verdict(*keys, rrset, sigs[0]) == LDNS_STATUS_OK);
    // A changed RRset fails both.
    const dnssec::RRset other{owner, LDNS_RR_TYPE_MX, 300, {mx1}};
    CHECK_FALSE(dnssec::verify_rrsig(keys->keys[0].dnskey_rdata, other, sigs[0]));
    CHECK(ldns_verdict(*keys, other, sigs[0]) != LDNS_STATUS_OK);

    // A wildcard's RRSIG counts the labels without the "*" (RFC 4034 3.1.3).
    const std::string wild = wire_name("*.example.com.");
    const std::string address("\xc0\x00\x02\x07", 4);
    const dnssec::RRset wild_set{wild, LDNS_RR_TYPE_A, 60, {address}};
    const auto wild_sigs = dnssec::sign_rrset(*keys, wild_set, window_now(), error);
    REQUIRE(wild_sigs.size() == 1);
    CHECK(static_cast<uint8_t>(wild_sigs[0][3]) == 2);
    CHECK(dnssec::verify_rrsig(keys->keys[0].dnskey_rdata, wild_set, wild_sigs[0]));
  }
}

TEST_CASE("dnssec: signatures ldns makes itself verify with our verifier") {
  for (const auto algorithm : {LDNS_SIGN_ECDSAP256SHA256, LDNS_SIGN_ED25519}) {
    ldns_key* key = ldns_key_new_frm_algorithm(algorithm, 256);
    REQUIRE(key);
    ldns_key_set_flags(key, 257);
    ldns_key_set_pubkey_owner(key, ldns_dname_new_frm_data(static_cast<uint16_t>(kOrigin.size()), kOrigin.data()));
    ldns_rr* dnskey = ldns_key2rr(key);
    ldns_key_set_keytag(key, ldns_calc_keytag(dnskey));
    ldns_rr_list* rrset = ldns_rr_list_new();
    ldns_rr* rr = nullptr;
    REQUIRE(ldns_rr_new_frm_str(&rr, "WWW.example.com. 120 IN CNAME Target.Example.com.", 0, nullptr, nullptr) == LDNS_STATUS_OK);
    ldns_rr_list_push_rr(rrset, rr);
    ldns_key_list* list = ldns_key_list_new();
    ldns_key_list_push_key(list, key);
    ldns_rr_list* sigs = ldns_sign_public(rrset, list);
    REQUIRE(ldns_rr_list_rr_count(sigs) == 1);
    ldns_buffer* buffer = ldns_buffer_new(512);
    auto rdata_of = [&](const ldns_rr* r) {
      ldns_buffer_clear(buffer);
      REQUIRE(ldns_rr_rdata2buffer_wire(buffer, r) == LDNS_STATUS_OK);
      return std::string(reinterpret_cast<const char*>(ldns_buffer_begin(buffer)), ldns_buffer_position(buffer));
    };
    const std::string sig = rdata_of(ldns_rr_list_rr(sigs, 0));
    const std::string key_rdata = rdata_of(dnskey);
    const std::string target = rdata_of(rr);
    const std::string owner = wire_name("WWW.example.com.");
    CHECK(dnssec::verify_rrsig(key_rdata, {owner, LDNS_RR_TYPE_CNAME, 120, {target}}, sig));
    std::string flipped = sig;
    flipped.back() = static_cast<char>(flipped.back() ^ 1);
    CHECK_FALSE(dnssec::verify_rrsig(key_rdata, {owner, LDNS_RR_TYPE_CNAME, 120, {target}}, flipped));
    ldns_buffer_free(buffer);
    ldns_rr_list_deep_free(sigs);
    ldns_key_list_free(list);  // frees the key too
    ldns_rr_free(dnskey);
    ldns_rr_list_deep_free(rrset);
  }
}

TEST_CASE("dnssec: key file rules: world-readable private key, mismatched pair, KSK+ZSK roles, DS") {
  test::UnitTempDir dir;
  std::string error;
  const std::string ksk = dnssec::generate_key(dir.path(), kOrigin, dnssec::kEcdsaP256Sha256, true, error);
  const std::string zsk = dnssec::generate_key(dir.path(), kOrigin, dnssec::kEcdsaP256Sha256, false, error);
  REQUIRE(!ksk.empty());
  REQUIRE(!zsk.empty());
  auto keys = dnssec::read_keys(dir.path(), kOrigin, dnssec::kEcdsaP256Sha256, error);
  REQUIRE_MESSAGE(keys, error);
  REQUIRE(keys->keys.size() == 2);
  CHECK(keys->has_zsk());
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(keys->signs(i, LDNS_RR_TYPE_DNSKEY) == keys->keys[i].ksk());
    CHECK(keys->signs(i, LDNS_RR_TYPE_A) == !keys->keys[i].ksk());
  }
  const auto ds = dnssec::ds_records(*keys, 3600);
  REQUIRE(ds.size() == 1);
  const uint16_t ksk_tag = keys->keys[0].ksk() ? keys->keys[0].tag : keys->keys[1].tag;
  CHECK(ds[0].find("IN\tDS\t" + std::to_string(ksk_tag) + " 13 2 ") != std::string::npos);
  // No algorithm 15 keys here.
  CHECK_FALSE(dnssec::read_keys(dir.path(), kOrigin, dnssec::kEd25519, error));
  CHECK(error.find("no ED25519 key") != std::string::npos);

  std::string secret;
  {
    std::ifstream in(ksk + ".private");
    secret.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string private_key_line = secret.substr(secret.find("PrivateKey:"));
  ::chmod((ksk + ".private").c_str(), 0644);
  CHECK_FALSE(dnssec::read_keys(dir.path(), kOrigin, dnssec::kEcdsaP256Sha256, error));
  CHECK(error.find("readable by everyone") != std::string::npos);
  CHECK(error.find(private_key_line.substr(12, 20)) == std::string::npos);
  ::chmod((ksk + ".private").c_str(), 0600);

  // The ZSK's private key under the KSK's name: caught before anything is signed.
  std::filesystem::copy_file(zsk + ".private", ksk + ".private", std::filesystem::copy_options::overwrite_existing);
  CHECK_FALSE(dnssec::read_keys(dir.path(), kOrigin, dnssec::kEcdsaP256Sha256, error));
  CHECK(error.find("does not match") != std::string::npos);
  std::filesystem::remove(ksk + ".private");
  CHECK_FALSE(dnssec::read_keys(dir.path(), kOrigin, dnssec::kEcdsaP256Sha256, error));
  CHECK(error.find("missing") != std::string::npos);
}
