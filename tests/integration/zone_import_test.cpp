// Zone import round trip: an RFC 1035 master file (tests/data/dns/import.test.zone)
// -> `meridian zone import` -> JSON zone served by meridian -> every RRset of the
// master file (parsed here with ldns) is asked for and compared: rdata and TTL.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "integration/harness/dig.hpp"
#include "integration/harness/dns_client.hpp"
#include "integration/harness/process.hpp"

// After the standard headers: ldns's headers define bool/false macros.
#include <ldns/ldns.h>

using namespace meridian::test;

namespace {

const char* const kOrigin = "import.test.";

struct ExpectedRRset {
  std::string owner;  // lower-case, absolute
  uint16_t type = 0;
  std::set<uint32_t> ttls;
  std::vector<std::string> rdata;  // sorted, ldns presentation
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string rdf_str(const ldns_rdf* rdf) {
  char* s = ldns_rdf2str(rdf);
  std::string out = s ? s : "";
  free(s);
  return out;
}

std::string rdata_text(const ldns_rr* rr) {
  std::string out;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    if (i) out += ' ';
    out += rdf_str(ldns_rr_rdf(rr, i));
  }
  return out;
}

// The master file as ldns reads it, grouped into RRsets.
std::vector<ExpectedRRset> parse_master(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  REQUIRE_MESSAGE(f, "cannot open " << path);
  ldns_rdf* origin = ldns_dname_new_frm_str(kOrigin);
  ldns_zone* zone = nullptr;
  int line = 0;
  const ldns_status st = ldns_zone_new_frm_fp_l(&zone, f, origin, 3600, LDNS_RR_CLASS_IN, &line);
  std::fclose(f);
  ldns_rdf_deep_free(origin);
  REQUIRE_MESSAGE(st == LDNS_STATUS_OK, "ldns: " << ldns_get_errorstr_by_id(st) << " at line " << line);
  std::vector<const ldns_rr*> all;
  all.push_back(ldns_zone_soa(zone));
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(ldns_zone_rrs(zone)); ++i)
    all.push_back(ldns_rr_list_rr(ldns_zone_rrs(zone), i));
  std::map<std::pair<std::string, uint16_t>, ExpectedRRset> sets;
  std::vector<std::pair<std::string, uint16_t>> order;
  for (const ldns_rr* rr : all) {
    const std::string owner = lower(rdf_str(ldns_rr_owner(rr)));
    const uint16_t type = static_cast<uint16_t>(ldns_rr_get_type(rr));
    auto key = std::make_pair(owner, type);
    auto [it, inserted] = sets.try_emplace(key);
    if (inserted) order.push_back(key);
    it->second.owner = owner;
    it->second.type = type;
    it->second.ttls.insert(ldns_rr_ttl(rr));
    it->second.rdata.push_back(rdata_text(rr));
  }
  ldns_zone_deep_free(zone);
  std::vector<ExpectedRRset> out;
  for (const auto& k : order) {
    auto s = sets[k];
    std::sort(s.rdata.begin(), s.rdata.end());
    out.push_back(s);
  }
  return out;
}

std::string type_str(uint16_t type) {
  char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
  std::string out = s ? s : "?";
  free(s);
  return out;
}

}  // namespace

TEST_CASE("zone import round trip: every RRset of the master file is served as written") {
  TempDir dir;
  const std::string master = source_path("tests/data/dns/import.test.zone");
  const std::string json_path = dir.file("zones/import.test.json");
  dir.write("zones/.keep", "");
  const CommandResult imp = run_command({meridian_binary(), "zone", "import", master, "--origin", kOrigin, "-o", json_path});
  INFO(imp.out << imp.err);
  REQUIRE(imp.exit_code == 0);
  const std::string json_text = read_file(json_path);
  INFO(json_text);
  const auto json = nlohmann::json::parse(json_text);
  CHECK(json["origin"] == kOrigin);

  // Standard output gives the same JSON.
  const CommandResult to_stdout = run_command({meridian_binary(), "zone", "import", master, "--origin", "import.test"});
  CHECK(to_stdout.exit_code == 0);
  CHECK(nlohmann::json::parse(to_stdout.out) == json);

  const std::string config = dir.write("meridian.json", server_config("zones/"));
  ServerProcess server;
  REQUIRE_MESSAGE(server.start(config), server.error());

  const auto expected = parse_master(master);
  REQUIRE(expected.size() >= 25);

  // Cuts in the master file: owners with NS below the apex.
  std::set<std::string> cuts;
  for (const auto& e : expected)
    if (e.type == qtype::NS && e.owner != kOrigin) cuts.insert(e.owner);
  auto below_cut = [&](const std::string& owner) -> std::string {
    for (const auto& c : cuts)
      if (owner.size() > c.size() && owner.compare(owner.size() - c.size(), c.size(), c) == 0 &&
          owner[owner.size() - c.size() - 1] == '.')
        return c;
    return "";
  };

  unsigned compared = 0;
  for (const auto& e : expected) {
    CAPTURE(e.owner);
    CAPTURE(type_str(e.type));
    CHECK_MESSAGE(e.ttls.size() == 1, "the fixture keeps one TTL per RRset");
    const uint32_t ttl = *e.ttls.begin();
    QuerySpec q(e.owner, e.type);
    q.edns = Edns{};
    const Message m = ask_tcp(server.v4(), q);
    REQUIRE_MESSAGE(m.ok, m.error);
    INFO(m.describe());

    std::vector<Record> got;
    if (cuts.count(e.owner) && e.type == qtype::NS) {
      // The NS RRset at a cut comes back as a referral.
      CHECK_FALSE(m.aa);
      got = m.authority;
    } else if (const std::string cut = below_cut(e.owner); !cut.empty()) {
      // Glue below a cut: a referral with the glue in the additional section.
      CHECK_FALSE(m.aa);
      for (const auto& r : m.additional)
        if (r.owner_lower() == e.owner && r.type == e.type) got.push_back(r);
    } else {
      CHECK(m.aa);
      CHECK(m.rcode == rcode::NOERROR);
      got = m.answer;
    }
    std::vector<std::string> rdata;
    for (const auto& r : got) {
      if (r.owner_lower() != e.owner || r.type != e.type) continue;
      rdata.push_back(r.rdata);
      CHECK(r.ttl == ttl);
    }
    std::sort(rdata.begin(), rdata.end());
    CHECK(rdata == e.rdata);
    ++compared;
  }
  CHECK(compared == expected.size());

  // A few spelled out, so the comparison above cannot pass vacuously.
  SUBCASE("spot checks with dig") {
    const DigResult txt = dig(server.v4(), {"+tcp", "txt.import.test", "TXT"});
    INFO(txt.output);
    CHECK(DigResult::keys(txt.answer) ==
          std::vector<std::string>{"txt.import.test. TXT \"hello world\" \"say \\\"hi\\\"\" \"semi;colon\" \"tab\\009x\" \"back\\\\slash\"",
                                   "txt.import.test. TXT \"second record\""});
    const DigResult ns2 = dig(server.v4(), {"ns2.import.test", "AAAA"});
    REQUIRE(ns2.answer.size() == 1);
    CHECK(ns2.answer[0].ttl == 300);
    const DigResult soa = dig(server.v4(), {"import.test", "SOA"});
    REQUIRE(soa.answer.size() == 1);
    CHECK(soa.answer[0].ttl == 3600);
    CHECK(soa.answer[0].rdata == "ns1.import.test. hostmaster.import.test. 2026010101 7200 900 1209600 300");
    const DigResult wild = dig(server.v4(), {"anything.wild.import.test", "A"});
    REQUIRE(wild.answer.size() == 1);
    CHECK(wild.answer[0].key() == "anything.wild.import.test. A 192.0.2.80");
    CHECK(wild.answer[0].ttl == 120);
    const DigResult short_ttl = dig(server.v4(), {"short.deep.import.test", "A"});
    REQUIRE(short_ttl.answer.size() == 1);
    CHECK(short_ttl.answer[0].ttl == 42);
    const DigResult mixed = dig(server.v4(), {"mixed.deep.import.test", "A"});
    REQUIRE(mixed.answer.size() == 1);
    CHECK(mixed.answer[0].rdata == "192.0.2.43");
  }
  CHECK(server.stop() == 0);
}

TEST_CASE("zone import: a broken master file is an error with its line") {
  TempDir dir;
  const std::string bad = dir.write("bad.zone",
                                    "$ORIGIN bad.test.\n"
                                    "@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"
                                    "@ 3600 IN NS ns1\n"
                                    "ns1 3600 IN A 999.1.2.3\n");
  const CommandResult r = run_command({meridian_binary(), "zone", "import", bad, "--origin", "bad.test."});
  INFO(r.out << r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code != -1);
  CHECK(r.err.find(bad + ":4:") != std::string::npos);

  const std::string outside = dir.write("outside.zone",
                                        "$ORIGIN other.test.\n"
                                        "@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"
                                        "@ 3600 IN NS ns1\n");
  const CommandResult o = run_command({meridian_binary(), "zone", "import", outside, "--origin", "bad.test."});
  INFO(o.out << o.err);
  CHECK(o.exit_code != 0);
  CHECK(o.exit_code != -1);

  // An error in an $INCLUDEd file names that file and its line.
  dir.write("included.zone", "ok 3600 IN A 192.0.2.1\nbad 3600 IN AAAA 2001:db8::g\n");
  const std::string including = dir.write("including.zone",
                                          "$ORIGIN bad.test.\n"
                                          "@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"
                                          "$INCLUDE included.zone\n");
  const CommandResult inc = run_command({meridian_binary(), "zone", "import", including, "--origin", "bad.test."});
  INFO(inc.out << inc.err);
  CHECK(inc.exit_code == 1);
  CHECK(inc.err.find("included.zone:2:1: cannot parse master file: ") != std::string::npos);
  CHECK(inc.err.find(including + ":3:1: reading stopped: the included file has errors") != std::string::npos);

  const CommandResult missing = run_command({meridian_binary(), "zone", "import", dir.file("nope.zone"), "--origin", "x."});
  CHECK(missing.exit_code != 0);
  CHECK(missing.exit_code != -1);
}
