// Signed answers from the responder: with DO, every RRset of a signed zone comes
// with RRSIGs that ldns verifies against the zone's DNSKEYs; NODATA and a
// referral without DS carry a compact-denial NSEC (RFC 9824); without DO the
// answer is byte for byte what it is for the zone unsigned; a UDP limit drops
// whole RRsets with their RRSIGs.
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <map>

#include "dnssec/keys.hpp"
#include "query/compact_denial.hpp"
#include "unit/support/temp_dir.hpp"
#include "unit/support/zone_fixture.hpp"
#include "zone/zone_signatures.hpp"

// After the C++ headers: ldns's common.h may define bool for C.
#include <ldns/ldns.h>

using namespace meridian;
using test::Bytes;

namespace {

std::string signed_zone_text(const std::string& keys_folder, bool with_dnssec = true,
                             const std::string& denial = "compact") {
  return "{\n"
         "  \"origin\": \"example.com.\",\n"
         "  \"ttl\": 300,\n"
         "  \"soa\": {\"mname\": \"ns1\", \"rname\": \"hostmaster\", \"serial\": 1, \"refresh\": 7200, \"retry\": 900, "
         "\"expire\": 1209600, \"minimum\": 60},\n" +
         (with_dnssec ? "  \"dnssec\": {\"keys\": \"" + keys_folder + "\", \"signature_validity\": \"14d\", \"refresh\": \"7d\", " +
                            "\"denial\": \"" + denial + "\"},\n"
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
         "    \"insecure\": {\"NS\": \"ns.example.net.\"},\n"
         "    \"big\": {\"TXT\": [" + [] {
           std::string list;  // 10 strings of 100 bytes: 1,174-byte answer, over 1232 with an RRSIG
           for (char c = 'a'; c < 'a' + 10; ++c) list += std::string(list.empty() ? "" : ", ") + "\"" + std::string(100, c) + "\"";
           return list;
         }() + "]}\n"
         "  }\n"
         "}\n";
}

struct SignedFixture {
  test::UnitTempDir dir;
  test::Responder responder;
  std::shared_ptr<const zone::ZoneSignatures> signatures;
  ldns_rr_list* dnskeys = ldns_rr_list_new();

  explicit SignedFixture(bool zsk = false, const std::string& denial = "compact") {
    std::string error;
    REQUIRE(!dnssec::generate_key(dir.path(), *dns::name_from_text("example.com."), dnssec::kEcdsaP256Sha256, true, error).empty());
    if (zsk)
      REQUIRE(!dnssec::generate_key(dir.path(), *dns::name_from_text("example.com."), dnssec::kEcdsaP256Sha256, false, error).empty());
    responder.add_zone(signed_zone_text(dir.path(), true, denial));
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

TEST_CASE("dnssec responder: a signed answer over the UDP size is TC with no partial RRset; without DO it fits") {
  SignedFixture f;
  const test::Answer plain = f.ask("big.example.com.", 16, false, 1232);
  CHECK_FALSE(plain.msg.tc);
  CHECK(plain.msg.answer.size() == 10);
  const test::Answer with_do = f.ask("big.example.com.", 16, true, 1232);
  CHECK(with_do.msg.tc);
  CHECK(with_do.msg.answer.empty());  // neither the TXT RRset nor its RRSIG, not a part of either
  CHECK(with_do.wire.size() <= 1232);
  // Over TCP the whole RRset comes with its RRSIG.
  test::QuerySpec spec("big.example.com.", 16);
  spec.edns = test::Edns{};
  spec.edns->do_bit = true;
  const test::Answer large = f.responder.ask(test::make_query(spec), query::Transport::tcp);
  CHECK_FALSE(large.msg.tc);
  CHECK(large.msg.answer.size() == 11);
  CHECK(check_section(large.wire, LDNS_SECTION_ANSWER, f.dnskeys).verified == 1);
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

TEST_CASE("dnssec responder, denial nsec: NXDOMAIN and wildcard answers carry signed NSECs covering the name and the wildcard") {
  SignedFixture f(false, "nsec");
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

namespace {

// The authority section's NSECs: owner and next name (presentation), and per NSEC
// whether its bitmap has each of bitmap_probe's types.
std::vector<std::pair<std::string, std::string>> nsecs_of(const Bytes& wire, std::vector<uint16_t> bitmap_probe,
                                                          std::vector<std::vector<bool>>* has_types = nullptr) {
  ldns_pkt* pkt = nullptr;
  REQUIRE(ldns_wire2pkt(&pkt, wire.data(), wire.size()) == LDNS_STATUS_OK);
  std::vector<std::pair<std::string, std::string>> out;
  ldns_rr_list* auth = ldns_pkt_authority(pkt);
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(auth); ++i) {
    ldns_rr* rr = ldns_rr_list_rr(auth, i);
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NSEC) continue;
    char* owner = ldns_rdf2str(ldns_rr_owner(rr));
    char* next = ldns_rdf2str(ldns_rr_rdf(rr, 0));
    out.emplace_back(owner, next);
    std::free(owner);
    std::free(next);
    if (has_types) {
      std::vector<bool> has;
      for (uint16_t t : bitmap_probe) has.push_back(ldns_nsec_bitmap_covers_type(ldns_rr_rdf(rr, 1), static_cast<ldns_rr_type>(t)));
      has_types->push_back(has);
    }
  }
  ldns_pkt_free(pkt);
  return out;
}

}  // namespace

TEST_CASE("dnssec responder, compact denial: NXDOMAIN is NOERROR with the name's own NSEC (RRSIG NSEC NXNAME), cached") {
  SignedFixture f;
  const uint64_t signed_before = query::compact_denial_counters().signed_online.load();
  std::vector<Bytes> first;
  const std::vector<std::string> names = {"nothing.example.com.", "a.b.c.example.com.", "zzz.example.com.",
                                          "0.example.com."};
  for (const std::string& name : names) {
    CAPTURE(name);
    const test::Answer a = f.ask(name, 1, true);
    CHECK(a.msg.rcode == 0);
    CHECK(a.msg.answer.empty());
    const Checked auth = check_section(a.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
    CHECK(auth.unsigned_sets.empty());
    CHECK(auth.verified == 2);  // the SOA and the one NSEC
    std::vector<std::vector<bool>> has;
    const auto nsecs = nsecs_of(a.wire, {1, 46, 47, 128}, &has);
    REQUIRE(nsecs.size() == 1);
    CHECK(nsecs[0].first == name);
    CHECK(nsecs[0].second == "\\000." + name);
    CHECK(has[0] == std::vector<bool>{false, true, true, true});
    // Without DO the rcode stays NXDOMAIN (RFC 9824 3).
    CHECK(f.ask(name, 1, false).msg.rcode == 3);
    first.push_back(a.wire);
  }
  CHECK(query::compact_denial_counters().signed_online.load() - signed_before == names.size());
  // Asked again: the same signatures from this thread's cache (ECDSA would differ if signed anew).
  for (std::size_t i = 0; i < names.size(); ++i) CHECK(f.ask(names[i], 1, true).wire == first[i]);
  CHECK(query::compact_denial_counters().signed_online.load() - signed_before == names.size());
  // A NODATA is as before: the name's precomputed NSEC, no NXNAME.
  std::vector<std::vector<bool>> has;
  const auto nodata = nsecs_of(f.ask("www.example.com.", 28, true).wire, {1, 128}, &has);
  REQUIRE(nodata.size() == 1);
  CHECK(has[0] == std::vector<bool>{true, false});
  // NXNAME is not a type one may ask for (RFC 9824 3.5).
  CHECK(f.ask("nothing.example.com.", 128, true).msg.rcode == 1);
}

TEST_CASE("dnssec responder, compact denial: a wildcard answer proves the next closer name with a minimal NSEC") {
  SignedFixture f;
  for (const char* name : {"x.wild.example.com.", "a.b.wild.example.com.", "Z.wild.example.com."}) {
    CAPTURE(name);
    const test::Answer wild = f.ask(name, 1, true);
    CHECK(wild.msg.rcode == 0);
    CHECK(check_section(wild.wire, LDNS_SECTION_ANSWER, f.dnskeys).verified == 1);
    const Checked auth = check_section(wild.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
    CHECK(auth.verified == 1);
    CHECK(auth.unsigned_sets.empty());
    CHECK(nsec_covers(wild.wire, name));
    const auto nsecs = nsecs_of(wild.wire, {});
    REQUIRE(nsecs.size() == 1);
    // Not the precomputed gap (\000.A -> B): it names no existing neighbour.
    CHECK(nsecs[0].first.rfind("\\000.", 0) != 0);
    CHECK(nsecs[0].second.find("\\000.wild.example.com.") != std::string::npos);
    for (const char* existing : {"wild.example.com.", "www.example.com.", "*.wild.example.com."})
      CHECK_FALSE(nsec_covers(wild.wire, existing));
  }
  const test::Answer wild_nodata = f.ask("x.wild.example.com.", 28, true);
  const Checked nodata_auth = check_section(wild_nodata.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
  CHECK(nodata_auth.unsigned_sets.empty());
  CHECK(nodata_auth.verified == 3);  // SOA, the minimal NSEC, the wildcard's NSEC
  CHECK(nsec_covers(wild_nodata.wire, "x.wild.example.com."));
}

TEST_CASE("dnssec responder, compact denial: with no signing budget, NXDOMAIN from the precomputed chain") {
  SignedFixture f;
  f.responder.snapshot().online_signatures_per_second = 0;
  const uint64_t over_before = query::compact_denial_counters().over_budget.load();
  const test::Answer a = f.ask("never-asked.example.com.", 1, true);
  CHECK(a.msg.rcode == 3);
  const Checked auth = check_section(a.wire, LDNS_SECTION_AUTHORITY, f.dnskeys);
  CHECK(auth.unsigned_sets.empty());
  CHECK(nsec_covers(a.wire, "never-asked.example.com."));
  CHECK(nsec_covers(a.wire, "*.example.com."));
  CHECK(query::compact_denial_counters().over_budget.load() > over_before);
  // The wildcard proof falls back the same way.
  const test::Answer wild = f.ask("y.wild.example.com.", 1, true);
  CHECK(check_section(wild.wire, LDNS_SECTION_AUTHORITY, f.dnskeys).verified == 1);
  CHECK(nsec_covers(wild.wire, "y.wild.example.com."));
}

TEST_CASE("compact denial cache: signs within the budget per second, serves hits without it, forgets old windows") {
  SignedFixture f;
  const zone::Zone& z = *f.responder.zones().find_exact(*dns::name_from_text("example.com."));
  query::CompactDenialCache cache;
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::hours(1));
  const std::string bitmap = {0, 6, 0, 0, 0, 0, 0, 3};  // RRSIG NSEC
  const std::string rdata = *dns::name_from_text("q.example.com.") + bitmap;
  auto owner = [](char c) { return *dns::name_from_text(std::string(1, c) + ".example.com."); };
  query::SignedNsecView view;
  CHECK(cache.find_or_sign(z, *f.signatures, owner('a'), rdata, 2, t0, view));
  CHECK(view.rrsig_count == 1);
  CHECK(cache.find_or_sign(z, *f.signatures, owner('b'), rdata, 2, t0, view));
  CHECK_FALSE(cache.find_or_sign(z, *f.signatures, owner('c'), rdata, 2, t0, view));  // over budget
  CHECK(cache.find_or_sign(z, *f.signatures, owner('a'), rdata, 2, t0, view));        // a hit costs nothing
  CHECK_FALSE(cache.find_or_sign(z, *f.signatures, owner('c'), rdata, 2, t0 + std::chrono::milliseconds(400), view));
  CHECK(cache.find_or_sign(z, *f.signatures, owner('c'), rdata, 2, t0 + std::chrono::milliseconds(600), view));
  CHECK(cache.used_slots() == 3);
  // The RRSIG verifies (ldns) over `c NSEC q.example.com.`.
  ldns_rr* nsec = nullptr;
  REQUIRE(ldns_rr_new_frm_str(&nsec, "c.example.com. 60 IN NSEC q.example.com. RRSIG NSEC", 0, nullptr, nullptr) ==
          LDNS_STATUS_OK);
  ldns_rr_list* set = ldns_rr_list_new();
  ldns_rr_list_push_rr(set, nsec);
  const auto sig_length = static_cast<std::size_t>(view.rrsigs[0] << 8 | view.rrsigs[1]);
  std::string sig_wire = owner('c') + std::string{0, 46, 0, 1, 0, 0, 0, 60};  // RRSIG IN 60
  sig_wire.push_back(static_cast<char>(sig_length >> 8));
  sig_wire.push_back(static_cast<char>(sig_length & 0xFF));
  sig_wire.append(reinterpret_cast<const char*>(view.rrsigs + 2), sig_length);
  ldns_rr* sig = nullptr;
  std::size_t pos = 0;
  REQUIRE(ldns_wire2rr(&sig, reinterpret_cast<const uint8_t*>(sig_wire.data()), sig_wire.size(), &pos,
                       LDNS_SECTION_ANSWER) == LDNS_STATUS_OK);
  ldns_rr_list* good = ldns_rr_list_new();
  CHECK(ldns_verify_rrsig_keylist(set, sig, f.dnskeys, good) == LDNS_STATUS_OK);
  ldns_rr_list_free(good);
  ldns_rr_free(sig);
  ldns_rr_list_deep_free(set);
  // New signatures for the zone (a refresh): what was cached is not served with them.
  std::string error;
  const auto renewed = zone::ZoneSignatures::sign(z, static_cast<uint32_t>(std::time(nullptr)), error);
  REQUIRE(renewed);
  CHECK_FALSE(cache.find_or_sign(z, *renewed, owner('a'), rdata, 2, t0 + std::chrono::milliseconds(600), view));
  CHECK(cache.find_or_sign(z, *renewed, owner('a'), rdata, 2, t0 + std::chrono::seconds(2), view));
}

TEST_CASE("compact denial cache: thousands of names stay cached (set-associative), the least recently used goes") {
  SignedFixture f;
  const zone::Zone& z = *f.responder.zones().find_exact(*dns::name_from_text("example.com."));
  query::CompactDenialCache cache;
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::hours(1));
  const std::string bitmap = {0, 6, 0, 0, 0, 0, 0, 3};  // RRSIG NSEC
  auto owner = [](std::size_t i) { return *dns::name_from_text("n" + std::to_string(i) + ".example.com."); };
  auto rdata = [&](std::size_t i) { return std::string{1, 0} + owner(i) + bitmap; };  // \000.NAME
  constexpr uint32_t kRate = 1000000;  // no budget limit here
  // A fifth of the cache: 3.2 names per set of 16 on average.
  const std::size_t names = query::CompactDenialCache::kSlots / 5;
  query::SignedNsecView view;
  uint64_t signed_before = query::compact_denial_counters().signed_online.load();
  for (std::size_t i = 0; i < names; ++i) REQUIRE(cache.find_or_sign(z, *f.signatures, owner(i), rdata(i), kRate, t0, view));
  CHECK(query::compact_denial_counters().signed_online.load() - signed_before == names);
  CHECK(cache.used_slots() == names);
  // Asked again: hits (direct-mapped, 1 in 10 would have collided).
  signed_before = query::compact_denial_counters().signed_online.load();
  for (std::size_t i = 0; i < names; ++i) {
    REQUIRE(cache.find_or_sign(z, *f.signatures, owner(i), rdata(i), kRate, t0, view));
    CHECK(view.nsec == rdata(i));
  }
  CHECK(query::compact_denial_counters().signed_online.load() == signed_before);
  // One name more than a set has ways: the last takes the place of the least recently used.
  constexpr std::size_t kWays = query::CompactDenialCache::kWays;
  std::vector<std::size_t> same_set;
  const std::size_t set = query::CompactDenialCache::set_of(owner(100000), rdata(100000));
  for (std::size_t i = 100000; same_set.size() < kWays + 1; ++i)
    if (query::CompactDenialCache::set_of(owner(i), rdata(i)) == set) same_set.push_back(i);
  query::CompactDenialCache lru;
  auto ask = [&](std::size_t i) {
    const uint64_t before = query::compact_denial_counters().signed_online.load();
    REQUIRE(lru.find_or_sign(z, *f.signatures, owner(i), rdata(i), kRate, t0, view));
    CHECK(view.nsec == rdata(i));
    return query::compact_denial_counters().signed_online.load() == before;  // a hit
  };
  for (std::size_t k = 0; k < kWays; ++k) CHECK_FALSE(ask(same_set[k]));
  CHECK(ask(same_set[0]));            // used again: now the second is the oldest
  CHECK_FALSE(ask(same_set[kWays]));  // takes the second's place
  CHECK(lru.used_slots() == kWays);
  for (std::size_t k = 0; k <= kWays; ++k)
    if (k != 1) CHECK(ask(same_set[k]));
  CHECK_FALSE(ask(same_set[1]));
}

TEST_CASE("compact denial cache: an entry too long for a slot (a long name, a long bitmap) is still served") {
  SignedFixture f;
  const zone::Zone& z = *f.responder.zones().find_exact(*dns::name_from_text("example.com."));
  query::CompactDenialCache cache;
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::hours(1));
  std::string labels;
  for (int i = 0; i < 3; ++i) labels += std::string(60, char('a' + i)) + ".";
  const std::string owner = *dns::name_from_text(labels + "example.com.");  // 196 octets
  std::string bitmap = {0, 32};  // window 0, types up to 255
  bitmap.append(32, '\xff');
  const std::string rdata = std::string{1, 0} + owner + bitmap;
  query::SignedNsecView view;
  const uint64_t signed_before = query::compact_denial_counters().signed_online.load();
  REQUIRE(cache.find_or_sign(z, *f.signatures, owner, rdata, 10, t0, view));
  CHECK(view.nsec == rdata);
  CHECK(view.rrsig_count == 1);
  REQUIRE(cache.find_or_sign(z, *f.signatures, owner, rdata, 10, t0, view));
  CHECK(view.nsec == rdata);
  CHECK(query::compact_denial_counters().signed_online.load() - signed_before == 1);
  CHECK(cache.used_slots() == 0);  // in the spare slot, not a set's
}

TEST_CASE("dnssec responder: additional-section addresses of in-zone targets carry their RRSIGs; glue none") {
  SignedFixture f;
  const test::Answer mx = f.ask("example.com.", 15, true);
  REQUIRE(mx.msg.rcode == 0);
  const Checked additional = check_section(mx.wire, LDNS_SECTION_ADDITIONAL, f.dnskeys);
  CHECK(additional.verified == 1);  // mail.example.com A
  CHECK(additional.unsigned_sets.empty());
  CHECK(std::count(additional.types.begin(), additional.types.end(), 46) == 1);
  // Without DO the same addresses, no RRSIG.
  const test::Answer plain = f.ask("example.com.", 15, false);
  for (const auto& rr : plain.msg.additional) CHECK(rr.type != 46);
  CHECK(plain.msg.additional.size() == 1);
  // A referral's glue (below the cut) is not signed.
  const test::Answer referral = f.ask("host.secure.example.com.", 1, true);
  const Checked glue = check_section(referral.wire, LDNS_SECTION_ADDITIONAL, f.dnskeys);
  CHECK(glue.verified == 0);
  CHECK(glue.unsigned_sets.size() == 1);  // ns.secure's A
}
