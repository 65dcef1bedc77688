// `meridian zone import` writes what the JSON loader reads, for every RR type ldns
// knows: a master file with one record of each type goes through the importer and
// the loader, and every RRset's wire rdata must equal ldns's parse of the original.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <unistd.h>
#include <vector>

#include "config/json_source.hpp"
#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "zone/json_zone.hpp"
#include "zone/master_import.hpp"
#include "zone/rdata_codec.hpp"

// After the standard headers: ldns's headers define bool/false macros.
#include <ldns/ldns.h>

using namespace meridian;

namespace {

const char* const kOrigin = "example.com.";

// Sample presentation rdata for every type ldns 1.8.3 knows. Types ldns cannot
// read in presentation form are given in RFC 3597 generic form. Keep this in
// step with ldns: the test fails for a type ldns knows and the table lacks.
const std::map<std::string, std::string> kSamples = {
    {"A", "192.0.2.1"},
    {"NS", "ns1.example.com."},
    {"MD", "md.example.com."},
    {"MF", "mf.example.com."},
    {"CNAME", "target.example.com."},
    {"SOA", "ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300"},
    {"MB", "mb.example.com."},
    {"MG", "mg.example.com."},
    {"MR", "mr.example.com."},
    {"NULL", "\\# 3 abcdef"},
    {"WKS", "192.0.2.1 tcp smtp http"},
    {"PTR", "ptr.example.com."},
    {"HINFO", "\"cpu\" \"os\""},
    {"MINFO", "rmail.example.com. email.example.com."},
    {"MX", "10 mail.example.com."},
    {"TXT", "\"text\" \"more\""},
    {"RP", "mbox.example.com. txt.example.com."},
    {"AFSDB", "1 afs.example.com."},
    {"X25", "\"311061700956\""},
    {"ISDN", "\"150862028003217\" \"004\""},
    {"RT", "10 rt.example.com."},
    {"NSAP", "0x47000580005a0000000001e133ffffff00016100"},
    {"NSAP-PTR", "nsap.example.com."},
    {"SIG", "A 5 3 86400 20300101000000 20200101000000 12345 example.com. AAAAAAAA"},
    {"KEY", "256 3 13 AAAAAAAA"},
    {"PX", "10 map822.example.com. mapx400.example.com."},
    {"GPOS", "-32.6882 116.8652 10.0"},
    {"AAAA", "2001:db8::1"},
    {"LOC", "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"},
    {"NXT", "\\# 19 046e657874076578616d706c6503636f6d0040"},  // ldns prints it in a form it cannot read
    {"EID", "abcd"},
    {"NIMLOC", "abcd"},
    {"SRV", "0 5 5060 sip.example.com."},
    {"ATMA", "39246f00e7c9c0312000100100001234567800"},
    {"NAPTR", "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example.com!\" ."},
    {"KX", "10 kx.example.com."},
    {"CERT", "1 0 0 AAAAAAAA"},
    {"A6", "\\# 17 0020010db8000000000000000000000001"},
    {"DNAME", "target.example.org."},
    {"SINK", "\\# 1 01"},  // ldns reads only a first byte of SINK rdata
    {"OPT", "\\# 4 000a0000"},
    {"APL", "1:192.0.2.0/24 !2:2001:db8::/32"},
    {"DS", "12345 13 2 e2d3c916f6deeac73294e8268fb5885044a833fc5459588f4a9184cfc41a5766"},
    {"SSHFP", "1 1 dd465c09cfa51fb45020cc83316fff21b9ec74ac"},
    {"IPSECKEY", "10 1 2 192.0.2.38 AQNRU3mG7TVTO2BkR47usntb102uFJtugbo6BSGvgqt4AQ=="},
    {"RRSIG", "A 13 3 3600 20300101000000 20200101000000 12345 example.com. AAAAAAAA"},
    {"NSEC", "next.example.com. A RRSIG NSEC"},
    {"DNSKEY", "257 3 13 AAAAAAAA"},
    {"DHCID", "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="},
    {"NSEC3", "1 0 10 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG"},
    {"NSEC3PARAM", "1 0 10 aabbccdd"},
    {"TLSA", "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"},
    {"SMIMEA", "3 1 1 0c72ac70b745ac19998811b131d662c9ac69dbdbe7cb23e5b514b56664c5d3d6"},
    {"HIP", "2 200100107B1A74DF365639CC39F1D578 AwEAAbdxyhNuSutc5EMzxTs9LBPCIkOFH8cIvM4p9+LrV4e19WzK00+CI6zBCQTdtWsuxKbWIy87UOoJTwkUs7lBu+Upr1gsNrut79ryra+bSRGQb1slImA8YVJyuIDsj7kwzG7jnERNqnWxZ48AWkskmdHaVDP4BcelrTI3rMXdXF5D rvs.example.com."},
    {"TALINK", "prev.example.com. next.example.com."},
    {"CDS", "12345 13 2 e2d3c916f6deeac73294e8268fb5885044a833fc5459588f4a9184cfc41a5766"},
    {"CDNSKEY", "257 3 13 AAAAAAAA"},
    {"OPENPGPKEY", "AAAAAAAA"},
    {"CSYNC", "66 3 A NS AAAA"},
    {"ZONEMD", "2018031500 1 1 c68090d90a7aed716bc459f9340e3d7c1370d4d24b7e2fc3a1ddc0b9a87153b9a9713b3c9ae5cc27777f98b8e730044c"},
    {"SVCB", "1 svc.example.com. alpn=h2 port=8443"},
    {"HTTPS", "1 . alpn=h2,h3"},
    {"SPF", "\"v=spf1 -all\""},
    {"NID", "10 0014:4fff:ff20:ee64"},
    {"L32", "10 10.1.2.0"},
    {"L64", "10 2001:0db8:1140:1000"},
    {"LP", "10 l64.example.com."},
    {"EUI48", "00-00-5e-00-53-2a"},
    {"EUI64", "00-00-5e-ef-10-00-00-2a"},
    {"TKEY", ""},  // a meta type ldns cannot read from a master file at all
    {"TSIG", ""},
    {"URI", "10 1 \"https://example.com/\""},
    {"CAA", "0 issue \"letsencrypt.org\""},
    {"DLV", "12345 13 2 e2d3c916f6deeac73294e8268fb5885044a833fc5459588f4a9184cfc41a5766"},
};

// Every type in ldns's descriptor table (type 0 is its placeholder).
std::vector<std::pair<uint16_t, std::string>> ldns_types() {
  std::vector<std::pair<uint16_t, std::string>> out;
  for (unsigned t = 1; t <= 0xFFFF; ++t) {
    const ldns_rr_descriptor* d = ldns_rr_descript(static_cast<uint16_t>(t));
    if (d && d->_type == t && d->_name) out.emplace_back(static_cast<uint16_t>(t), d->_name);
  }
  return out;
}

// A temporary file removed when the test ends.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/meridian-import-XXXXXX";
    const int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

struct LdnsRecord {
  std::string owner;  // lower-case wire
  uint16_t type;
  std::string wire;   // rdata
};

// The master file as ldns reads it.
std::vector<LdnsRecord> ldns_records(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE(f);
  ldns_rdf* origin = ldns_dname_new_frm_str(kOrigin);
  ldns_zone* zone = nullptr;
  int line = 0;
  const ldns_status st = ldns_zone_new_frm_fp_l(&zone, f, origin, 3600, LDNS_RR_CLASS_IN, &line);
  std::fclose(f);
  ldns_rdf_deep_free(origin);
  REQUIRE_MESSAGE(st == LDNS_STATUS_OK, ldns_get_errorstr_by_id(st) << " at line " << line);
  std::vector<const ldns_rr*> all{ldns_zone_soa(zone)};
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(zone)); ++i)
    all.push_back(ldns_rr_list_rr(ldns_zone_rrs(zone), i));
  std::vector<LdnsRecord> out;
  for (const ldns_rr* rr : all) {
    const ldns_rdf* owner = ldns_rr_owner(rr);
    LdnsRecord r{dns::fold_wire_name({reinterpret_cast<const char*>(ldns_rdf_data(owner)), ldns_rdf_size(owner)}),
                 static_cast<uint16_t>(ldns_rr_get_type(rr)), {}};
    for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i)
      r.wire.append(reinterpret_cast<const char*>(ldns_rdf_data(ldns_rr_rdf(rr, i))), ldns_rdf_size(ldns_rr_rdf(rr, i)));
    out.push_back(std::move(r));
  }
  ldns_zone_deep_free(zone);
  return out;
}

std::string owner_label(const std::string& type_name) {
  std::string out = "rr-";
  for (const char c : type_name) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct Imported {
  nlohmann::ordered_json json;
  config::Diagnostics diagnostics;
};

Imported import_text(const std::string& master) {
  const TempFile file(master);
  Imported out;
  out.json = zone::import_master_file(file.path, kOrigin, out.diagnostics);
  return out;
}

const std::string kHead =
    "$ORIGIN example.com.\n$TTL 3600\n"
    "@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"
    "@ IN NS ns1\n"
    "ns1 IN A 192.0.2.1\n";

}  // namespace

TEST_SUITE("zone.import") {
  TEST_CASE("the sample table covers every type ldns knows") {
    const auto types = ldns_types();
    CHECK(types.size() >= 70);
    for (const auto& [type, name] : types) {
      CAPTURE(name);
      CHECK_MESSAGE(kSamples.count(name) == 1, "ldns knows " << name << " (" << type << "); add a sample");
    }
  }

  TEST_CASE("every storable type round-trips: master file -> import -> loader, same wire as ldns") {
    std::string master = kHead;
    std::set<std::string> written;
    for (const auto& [type, name] : ldns_types()) {
      const auto sample = kSamples.find(name);
      if (sample == kSamples.end() || type == dns::type::SOA || !zone::storable_type(type)) continue;
      master += owner_label(name) + " IN " + name + " " + sample->second + "\n";
      written.insert(name);
    }
    // Empty rdata, and a type ldns does not know.
    master += "empty-null IN NULL \\# 0\n";
    master += "generic IN TYPE65534 \\# 2 abcd\n";
    master += "generic-empty IN TYPE65533 \\# 0\n";
    const TempFile file(master);
    INFO(master);

    config::Diagnostics import_diags;
    const nlohmann::ordered_json json = zone::import_master_file(file.path, kOrigin, import_diags);
    INFO("import: " << import_diags.to_string());
    REQUIRE(import_diags.empty());
    CHECK(import_diags.warnings().empty());
    const std::string text = json.dump(2);
    INFO(text);
    CHECK(json["records"]["empty-null"]["NULL"] == "\\# 0");
    CHECK(json["records"]["generic"]["TYPE65534"] == "\\# 2 abcd");
    CHECK(json["records"]["generic-empty"]["TYPE65533"] == "\\# 0");
    CHECK(json["records"]["rr-nxt"]["NXT"] == "\\# 19 046e657874076578616d706c6503636f6d0040");

    config::Diagnostics load_diags;
    const auto zone = zone::load_json_zone_text(text, "imported.json", load_diags).zone;
    INFO("load: " << load_diags.to_string());
    REQUIRE(zone);
    CHECK(load_diags.warnings().empty());

    unsigned compared = 0;
    std::set<std::string> seen;
    for (const LdnsRecord& r : ldns_records(file.path)) {
      CAPTURE(dns::name_to_text(r.owner));
      CAPTURE(zone::rr_type_name(r.type));
      const zone::NodeHead* node = zone->find(r.owner);
      REQUIRE(node);
      REQUIRE(node->find(r.type));
      const zone::RRsetView rrset = node->find_rrset(r.type);
      REQUIRE(rrset.rdata.size() == 1);
      CHECK(rrset.rdata.front().wire == r.wire);
      seen.insert(zone::rr_type_name(r.type));
      ++compared;
    }
    for (const auto& name : written) CHECK_MESSAGE(seen.count(name) == 1, name << " was not compared");
    CHECK(compared == written.size() + 6);  // + the SOA, apex NS, ns1 A and 3 generic records
  }

  TEST_CASE("generic rdata of a known type keeps its names: compression and additional targets") {
    const Imported mx = import_text(kHead + "@ IN MX \\# 19 000a036e7331076578616d706c6503636f6d00\n");
    REQUIRE(mx.diagnostics.empty());
    CHECK(mx.json["records"]["@"]["MX"] == "10 ns1.example.com.");
    config::Diagnostics diags;
    const auto zone = zone::load_json_zone_text(R"({"origin": "example.com.",
      "soa": {"mname": "ns1", "rname": "h", "serial": 1, "refresh": 1, "retry": 1, "expire": 1, "minimum": 1},
      "records": {"@": {"NS": "ns1", "MX": "\\# 19 000a036e7331076578616d706c6503636f6d00"}, "ns1": {"A": "192.0.2.1"}}})",
                                                "generic.json", diags)
                          .zone;
    INFO(diags.to_string());
    REQUIRE(zone);
    const zone::RecordView rd = zone->apex().find_rrset(dns::type::MX).rdata.front();
    CHECK(rd.compressible_count == 1);
    REQUIRE(rd.target_head);
    CHECK(rd.target_head == zone->find(dns::fold_wire_name(*dns::name_from_text("ns1.example.com."))));
  }

  TEST_CASE("signatures and NSEC are left out with one warning per type; meta types are errors") {
    const Imported signed_zone = import_text(kHead + "www IN A 192.0.2.2\n"
                                             "www IN RRSIG " + kSamples.at("RRSIG") + "\n"
                                             "ns1 IN RRSIG " + kSamples.at("RRSIG") + "\n"
                                             "www IN NSEC " + kSamples.at("NSEC") + "\n");
    INFO(signed_zone.diagnostics.to_string());
    CHECK(signed_zone.diagnostics.empty());
    REQUIRE(signed_zone.diagnostics.warnings().size() == 2);
    CHECK(signed_zone.diagnostics.warnings()[0].message ==
          "2 RRSIG records (the first at www.example.com.) left out: meridian does not serve DNSSEC signatures or denial records");
    CHECK(signed_zone.diagnostics.warnings()[1].message ==
          "1 NSEC record (the first at www.example.com.) left out: meridian does not serve DNSSEC signatures or denial records");
    CHECK_FALSE(signed_zone.json["records"]["www"].contains("RRSIG"));
    CHECK(signed_zone.json["records"]["www"]["A"] == "192.0.2.2");

    const Imported opt = import_text(kHead + "www IN OPT " + kSamples.at("OPT") + "\n");
    REQUIRE(opt.diagnostics.size() == 1);
    CHECK(opt.diagnostics.items()[0].message == "record www.example.com. OPT: type OPT cannot be stored in a zone");
  }

  TEST_CASE("rdata the loader would refuse is an import error naming the record") {
    const Imported bad = import_text(kHead + "www IN A \\# 0\n");
    REQUIRE(bad.diagnostics.size() == 1);
    CHECK(bad.diagnostics.items()[0].message.rfind("record www.example.com. A: bad A data \"\\# 0\"", 0) == 0);
  }
}

TEST_SUITE("zone.rdata") {
  TEST_CASE("generic rdata: accepted for every type where it makes whole records") {
    const std::string origin = *dns::name_from_text("example.com."), owner = *dns::name_from_text("x.example.com.");
    auto parse = [&](uint16_t type, const char* text) { return zone::parse_rdata(type, text, owner, origin); };
    // empty: valid for NULL, APL and types ldns does not know
    for (const uint16_t type : {uint16_t{10}, uint16_t{42}, uint16_t{65534}}) {
      CAPTURE(type);
      const auto p = parse(type, "\\# 0");
      CHECK(p.error == "");
      CHECK(p.rdata.wire.empty());
    }
    // the same bytes as the presentation form
    CHECK(parse(dns::type::A, "\\# 4 c0000201").rdata.wire == parse(dns::type::A, "192.0.2.1").rdata.wire);
    CHECK(parse(dns::type::TXT, "\\# 3 02 6869").rdata.wire == parse(dns::type::TXT, "\"hi\"").rdata.wire);
    CHECK(parse(10, "\\# 2 abcd").rdata.wire == "\xab\xcd");
    // an empty type bitmap is whole (CSYNC serial 66, flags 3, no types)
    CHECK(parse(62, "\\# 6 000000420003").error == "");
    // too short or too long for the type: refused (Knot refuses these too)
    CHECK(parse(dns::type::A, "\\# 0").error == "bad A data \"\\# 0\": too short for type A");
    CHECK(parse(dns::type::SOA, "\\# 0").error.find("too short") != std::string::npos);
    CHECK(parse(dns::type::MX, "\\# 2 000a").error.find("too short") != std::string::npos);
    CHECK(parse(dns::type::A, "\\# 5 c000020101").error ==
          "bad A data \"\\# 5 c000020101\": 5 bytes do not make one record of type A");
    CHECK(parse(dns::type::A, "\\# 3 c00002").error != "");
    CHECK(parse(10, "\\# 3 abcd").error.rfind("bad NULL data", 0) == 0);
  }
}
