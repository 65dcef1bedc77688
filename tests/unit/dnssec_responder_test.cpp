// Signed answers from the responder: with DO, every RRset of a signed zone comes
// with RRSIGs that ldns verifies against the zone's DNSKEYs; NODATA and a
// referral without DS carry a compact-denial NSEC (RFC 9824); without DO the
// answer is byte for byte what it is for the zone unsigned; a UDP limit drops
// whole RRsets with their RRSIGs.
#include <doctest/doctest.h>

#include <ctime>
#include <map>

#include "dnssec/keys.hpp"
#include "unit/support/temp_dir.hpp"
#include "unit/support/zone_fixture.hpp"
#include "zone/zone_signatures.hpp"

// After the C++ headers: ldns's common.h may define bool for C.
#include <ldns/ldns.h>

using namespace meridian;
using test::Bytes;

namespace {

std::string signed_zone_text(const std::string& keys_folder, bool with_dnssec = true) {
  return "{\n"
         "  \"origin\": \"example.com.\",\n"
         "  \"ttl\": 300,\n"
         "  \"soa\": {\"mname\": \"ns1\", \"rname\": \"hostmaster\", \"serial\": 1, \"refresh\": 7200, \"retry\": 900, "
         "\"expire\": 1209600, \"minimum\": 60},\n" +
         (with_dnssec ? "  \"dnssec\": {\"keys\": \"" + keys_folder + "\", \"signature_validity\": \"14d\", \"refresh\": \"7d\"},\n"
                      : std::string()) +
         "  \"records\": {\n"
         "    \"@\": {\"NS\": [\"ns1\", \"ns2\"], \"MX\": \"10 mail\"},\n"
         "    \"ns1\": {\"A\": \"192.0.2.1\"},\n"
         "    \"ns2\": {\"A\": \"192.0.2.2\"},\n"
         "    \"mail\": {\"A\": \"192.0.2.25\"},\n"
         "    \"www\": {\"A\": [\"192.0.2.10\", \"192.0.2.11\"], \"TXT\": \"hello\"},\n"
         "    \"alias\": {\"CNAME\": \"www\"},\n"
         "    \"*.wild\": {\"A\": \"192.0.2.50\"},\n"
         "    \"secure\": {\"NS\": \"ns.secure\", \"DS\": \"12345 13 2 "
         "2BB183AF5F22588179A53B0A98631FAD1A292118AAAAAAAAAAAAAAAAAAAAAAAA\"},\n"
         "    \"ns.secure\": {\"A\": \"192.0.2.53\"},\n"
         "    \"insecure\": {\"NS\": \"ns.example.net.\"}\n"
         "  }\n"
         "}\n";
}

struct SignedFixture {
  test::UnitTempDir dir;
  test::Responder responder;
  std::shared_ptr<const zone::ZoneSignatures> signatures;
  ldns_rr_list* dnskeys = ldns_rr_list_new();

  explicit SignedFixture(bool zsk = false) {
    std::string error;
    REQUIRE(!dnssec::generate_key(dir.path(), *dns::name_from_text("example.com."), dnssec::kEcdsaP256Sha256, true, error).empty());
    if (zsk)
      REQUIRE(!dnssec::generate_key(dir.path(), *dns::name_from_text("example.com."), dnssec::kEcdsaP256Sha256, false, error).empty());
    responder.add_zone(signed_zone_text(dir.path()));
    const zone::Zone& z = *responder.zones().find_exact(*dns::name_from_text("example.com."));
    REQUIRE(z.signed_zone());
    signatures = zone::ZoneSignatures::sign(z, static_cast<uint32_t>(std::time(nullptr)), error);
    REQUIRE_MESSAGE(signatures, error);
    responder.snapshot().signatures.resize(z.index() + 1);
    responder.snapshot().signatures[z.index()] = signatures;
    for (const auto& k : z.dnssec().keys->keys) {
      ldns_rr* rr = nullptr;
      REQUIRE(ldns_rr_new_frm_str(&rr, ("example.com. 300 IN DNSKEY " + dnskey_text(k.dnskey_rdata)).c_str(), 0, nullptr,
                                  nullptr) == LDNS_STATUS_OK);
      ldns_rr_list_push_rr(dnskeys, rr);
    }
  }
  ~SignedFixture() { ldns_rr_list_deep_free(dnskeys); }

  static std::string dnskey_text(const std::string& rdata) {
    ldns_rdf* b64 = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_B64, rdata.size() - 4, rdata.data() + 4);
    char* text = ldns_rdf2str(b64);
    const auto flags = static_cast<unsigned>(static_cast<uint8_t>(rdata[0]) << 8 | static_cast<uint8_t>(rdata[1]));
    std::string out = std::to_string(flags) + " 3 " + std::to_string(static_cast<uint8_t>(rdata[3])) + " " + text;
    std::free(text);
    ldns_rdf_deep_free(b64);
    return out;
  }

  test::Answer ask(const std::string& name, uint16_t type, bool do_bit, uint16_t payload = 4096) {
    test::QuerySpec spec(name, type);
    spec.edns = test::Edns{};
    spec.edns->do_bit = do_bit;
    spec.edns->payload = payload;
    return responder.ask(test::make_query(spec));
  }
};

struct Checked {
  int verified = 0;                  // RRsets with a valid RRSIG
  std::vector<std::string> unsigned_sets;  // "owner/type" with no valid RRSIG
  std::vector<uint16_t> types;       // every RR type in the section, in order
};

// Groups a section by owner and type and verifies each group with its RRSIGs.
Checked check_section(const Bytes& wire, ldns_pkt_section section, ldns_rr_list* dnskeys) {
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_wire2pkt(&pkt, wire.data(), wire.size()) == LDNS_STATUS_OK);
  ldns_rr_list* rrs = ldns_pkt_get_section_clone(pkt, section);
  Checked out;
  std::map<std::pair<std::string, uint16_t>, ldns_rr_list*> groups;
  std::vector<ldns_rr*> sigs;
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(rrs); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(rrs, i);
    out.types.push_back(static_cast<uint16_t>(ldns_rr_get_type(rr)));
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_OPT) continue;
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG) {
      sigs.push_back(rr);
      continue;
    }
    char* owner = ldns_rdf2str(ldns_rr_owner(rr));
    auto& list = groups[{owner, static_cast<uint16_t>(ldns_rr_get_type(rr))}];
    std::free(owner);
    if (!list) list = ldns_rr_list_new();
    ldns_rr_list_push_rr(list, rr);
  }
  for (auto& [key, list] : groups) {
    bool ok = false;
    for (ldns_rr* sig : sigs) {
      if (ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig)) != key.second) continue;
      if (ldns_dname_compare(ldns_rr_owner(sig), ldns_rr_owner(ldns_rr_list_rr(list, 0))) != 0) continue;
      ldns_rr_list* good = ldns_rr_list_new();
      ok = ok || ldns_verify_rrsig_keylist(list, sig, dnskeys, good) == LDNS_STATUS_OK;
      ldns_rr_list_free(good);
    }
    if (ok) ++out.verified;
    else out.unsigned_sets.push_back(key.first + "/" + std::to_string(key.second));
    ldns_rr_list_free(list);
  }
  ldns_rr_list_deep_free(rrs);
  ldns_pkt_free(pkt);
  return out;
}

bool nsec_has_type(const Bytes& wire, uint16_t type) {
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_wire2pkt(&pkt, wire.data(), wire.size()) == LDNS_STATUS_OK);
  bool found = false;
  ldns_rr_list* auth = ldns_pkt_authority(pkt);
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(auth); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(auth, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC)
      found = found || ldns_nsec_bitmap_covers_type(ldns_rr_rdf(rr, 1), static_cast<ldns_rr_type>(type));
  }
  ldns_pkt_free(pkt);
  return found;
}

}  // namespace

TEST_CASE("dnssec responder: with DO, positive answers, DNSKEY, CNAME, wildcard and DS carry RRSIGs ldns verifies") {
  for (const bool zsk : {false, true}) {
    CAPTURE(zsk);
    SignedFixture f(zsk);
    struct Case {
      const char* name;
      uint16_t type;
      int rrsets;
    };
    for (const Case c : {Case{"www.example.com.", 1, 1}, Case{"www.example.com.", 16, 1}, Case{"example.com.", 48, 1},
                         Case{"example.com.", 6, 1}, Case{"example.com.", 15, 1}, Case{"example.com.", 2, 1},
                         Case{"alias.example.com.", 1, 2}, Case{"Any.Wild.example.com.", 1, 1},
                         Case{"secure.example.com.", 43, 1}}) {
      CAPTURE(c.name);
      CAPTURE(c.type);
      const test::Answer a = f.ask(c.name, c.type, true);
      CHECK(a.msg.rcode == 0);
      const Checked answer = check_section(a.wire, LDNS_SECTION_ANSWER, f.dnskeys);
      CHECK(answer.verified == c.rrsets);
      CHECK(answer.unsigned_sets.empty());
    }
  }
}

TEST_CASE("dnssec responder: NODATA and an insecure referral carry a compact NSEC; a secure referral its DS") {
  SignedFixture f;
  // NODATA: SOA and NSEC (next = \0.www, bitmap A TXT RRSIG NSEC), both signed.
  const test::Answer nodata = f.ask("www.example.com.", 28, true);
  CHECK(nodata.msg.rcode == 0);
  CHECK(nodata.msg.answer.empty());
  const Checked auth = check_section(nodata.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
  CHECK(auth.verified == 2);
  CHECK(auth.unsigned_sets.empty());
  CHECK(nsec_has_type(nodata.wire, 1));
  CHECK(nsec_has_type(nodata.wire, 16));
  CHECK_FALSE(nsec_has_type(nodata.wire, 28));

  const test::Answer insecure = f.ask("host.insecure.example.com.", 1, true);
  const Checked insecure_auth = check_section(insecure.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
  CHECK(insecure_auth.verified == 1);  // the NSEC; NS at a cut is never signed
  CHECK(insecure_auth.unsigned_sets.size() == 1);
  CHECK(nsec_has_type(insecure.wire, 2));
  CHECK_FALSE(nsec_has_type(insecure.wire, 43));

  const test::Answer secure = f.ask("host.secure.example.com.", 1, true);
  const Checked secure_auth = check_section(secure.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
  CHECK(secure_auth.verified == 1);  // the DS
  CHECK(std::count(secure_auth.types.begin(), secure_auth.types.end(), 43) == 1);
  CHECK(std::count(secure_auth.types.begin(), secure_auth.types.end(), 47) == 0);
}

TEST_CASE("dnssec responder: without DO the answer is the unsigned zone's, byte for byte") {
  SignedFixture f;
  test::UnitTempDir other;
  // The same zone unsigned, with the same DNSKEY RRset (so only signatures could differ).
  for (const auto& [name, type] : std::vector<std::pair<std::string, uint16_t>>{
           {"www.example.com.", 1}, {"www.example.com.", 28}, {"nothing.example.com.", 1}, {"alias.example.com.", 1},
           {"host.secure.example.com.", 1}}) {
    CAPTURE(name);
    const test::Answer plain = f.ask(name, type, false);
    query::Snapshot unsigned_snapshot = f.responder.snapshot();
    unsigned_snapshot.signatures.clear();
    std::vector<uint8_t> out(65535);
    const Bytes packet = [&] {
      test::QuerySpec spec(name, type);
      spec.edns = test::Edns{};
      spec.edns->payload = 4096;
      return test::make_query(spec);
    }();
    const std::size_t n = query::answer_query(unsigned_snapshot, packet.data(), packet.size(), test::Responder::source(),
                                              query::Transport::udp, std::chrono::steady_clock::now(), out.data(), out.size());
    CHECK(Bytes(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n)) == plain.wire);
    for (const auto& rr : plain.msg.answer) CHECK(rr.type != 46);
    for (const auto& rr : plain.msg.authority) CHECK(rr.type != 46);
  }
}

TEST_CASE("dnssec responder: a UDP limit drops whole RRsets with their RRSIGs and sets TC") {
  SignedFixture f(true);
  // The DNSKEY RRset (2 keys) with its RRSIG does not fit 512 bytes once the MX's RRSIG ... use a small limit.
  const test::Answer full = f.ask("example.com.", 48, true, 4096);
  REQUIRE(full.msg.answer.size() == 3);  // 2 DNSKEY + 1 RRSIG (KSK)
  const test::Answer small = f.ask("example.com.", 48, true, 512);
  const std::size_t needed = full.wire.size();
  if (needed > 512) {
    CHECK(small.msg.tc);
    CHECK(small.msg.answer.empty());
  }
  // NODATA whose NSEC does not fit: TC, no half proof.
  const test::Answer nodata = f.ask("www.example.com.", 28, true, 512);
  const Checked auth = check_section(nodata.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
  CHECK(auth.unsigned_sets.empty());
  if (!nodata.msg.tc) CHECK(auth.verified == 2);
}

namespace {

// Whether some NSEC in the authority section covers `name` (owner < name < next).
bool nsec_covers(const Bytes& wire, const char* name) {
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_wire2pkt(&pkt, wire.data(), wire.size()) == LDNS_STATUS_OK);
  ldns_rdf* dname = ldns_dname_new_frm_str(name);
  bool covered = false;
  ldns_rr_list* auth = ldns_pkt_authority(pkt);
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(auth); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(auth, i);
    if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NSEC && ldns_nsec_covers_name(rr, dname)) covered = true;
  }
  ldns_rdf_deep_free(dname);
  ldns_pkt_free(pkt);
  return covered;
}

}  // namespace

TEST_CASE("dnssec responder: NXDOMAIN and wildcard answers carry signed NSECs covering the name and the wildcard") {
  SignedFixture f;
  for (const char* name : {"nothing.example.com.", "a.b.c.example.com.", "zzz.example.com.", "0.example.com."}) {
    CAPTURE(name);
    const test::Answer a = f.ask(name, 1, true);
    CHECK(a.msg.rcode == 3);
    const Checked auth = check_section(a.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
    CHECK(auth.unsigned_sets.empty());
    CHECK(auth.verified >= 2);  // SOA and at least one NSEC
    CHECK(nsec_covers(a.wire, name));
    CHECK(nsec_covers(a.wire, "*.example.com."));
  }
  // A wildcard answer: the RRSIG says the wildcard (labels 3), an NSEC covers the name itself.
  const test::Answer wild = f.ask("x.wild.example.com.", 1, true);
  CHECK(wild.msg.rcode == 0);
  CHECK(check_section(wild.wire, LDNS_SECTION_ANSWER, f.dnskeys).verified == 1);
  const Checked wild_auth = check_section(wild.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
  CHECK(wild_auth.verified == 1);
  CHECK(nsec_covers(wild.wire, "x.wild.example.com."));
  // Wildcard NODATA: the name is covered and the wildcard's own NSEC lacks the type.
  const test::Answer wild_nodata = f.ask("x.wild.example.com.", 28, true);
  const Checked nodata_auth = check_section(wild_nodata.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
  CHECK(nodata_auth.unsigned_sets.empty());
  CHECK(nodata_auth.verified == 3);  // SOA, covering NSEC, the wildcard's NSEC
  CHECK(nsec_covers(wild_nodata.wire, "x.wild.example.com."));
}
