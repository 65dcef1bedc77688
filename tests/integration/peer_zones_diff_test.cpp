// Zones from PowerDNS's and Knot's own test suites (tests/data/peer-zones), each
// imported with `meridian zone import` and served by meridian, and served as is
// by knotd; every name in the zone is asked about with the types it has and the
// common ones, a name below it and (for wildcards) a name the wildcard covers,
// and the rcode, AA/TC flags and all three sections are compared.
// Skipped with a message when knotd is not installed.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>
#include <sstream>

#include "integration/harness/dns_client.hpp"
#include "integration/harness/fixtures.hpp"
#include "integration/harness/knot_server.hpp"
#include "integration/harness/process.hpp"

#include <ldns/ldns.h>  // last: its C headers upset <optional> when included before it

using namespace meridian::test;

namespace {

struct PeerZone {
  const char* file;    // in tests/data/peer-zones
  const char* origin;
};

const PeerZone kPeerZones[] = {
    {"pdns-example.com.zone", "example.com."},
    {"pdns-test.com.zone", "test.com."},
    {"knot-additionals.zone", "test."},
};

struct Question {
  std::string name;
  uint16_t type;
};

// Absolute names of the imported zone's owners (relative keys, "@", or absolute).
std::vector<std::string> owners_of(const nlohmann::json& zone, const std::string& origin) {
  std::vector<std::string> out;
  for (const auto& [key, types] : zone.at("records").items()) {
    (void)types;
    if (key == "@") out.push_back(origin);
    else if (!key.empty() && key.back() == '.') out.push_back(key);
    else out.push_back(key + "." + origin);
  }
  return out;
}

std::vector<Question> questions_for(const nlohmann::json& zone, const std::string& origin) {
  static const uint16_t kCommon[] = {qtype::A, qtype::AAAA, qtype::TXT, qtype::MX, qtype::NS,
                                     qtype::SOA, qtype::CNAME, qtype::DS, qtype::SRV, qtype::ANY};
  std::vector<Question> out;
  std::set<std::pair<std::string, uint16_t>> seen;
  auto add = [&](const std::string& name, uint16_t type) {
    if (seen.insert({name, type}).second) out.push_back({name, type});
  };
  const auto owners = owners_of(zone, origin);
  for (std::size_t i = 0; i < owners.size(); ++i) {
    std::string name = owners[i];
    if (name.rfind("*.", 0) == 0) name = "w-peer" + name.substr(1);  // a name the wildcard covers
    const auto& types = zone.at("records").at(std::next(zone.at("records").begin(), static_cast<long>(i)).key());
    for (const auto& [type_name, data] : types.items()) {
      (void)data;
      if (const uint16_t type = ldns_get_rr_type_by_name(type_name.c_str())) add(name, type);
    }
    for (uint16_t t : kCommon) add(name, t);
    add("nx-peer." + name, qtype::A);
  }
  add("nx-peer." + origin, qtype::MX);
  return out;
}

// Knot 3.2 repeats a target's addresses in the additional section when two
// records name it (_double._tcp.dc.test.com: two SRV to server1); meridian adds
// them once. A record twice in a section means nothing more (RFC 2181 5), so the
// additional sections are compared as sets.
std::vector<std::string> distinct(std::vector<std::string> keys) {
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace

TEST_CASE("peer zones: PowerDNS's and Knot's test zones load and answer as Knot answers them") {
  const auto knotd = find_program("knotd");
  if (!knotd) {
    MESSAGE("knotd is not installed (apt-get install knot); peer-zone differential test skipped");
    return;
  }
  unsigned compared = 0;
  for (const PeerZone& pz : kPeerZones) {
    CAPTURE(pz.file);
    TempDir dir;
    const std::string master = source_path(std::string("tests/data/peer-zones/") + pz.file);
    const std::string json_path = dir.file(std::string("zones/") + pz.origin + "json");
    dir.write("zones/.keep", "");
    const CommandResult imp = run_command({meridian_binary(), "zone", "import", master, "--origin", pz.origin, "-o", json_path});
    REQUIRE_MESSAGE(imp.exit_code == 0, imp.out << imp.err);
    const std::string config = dir.write("meridian.json", server_config("zones/"));
    const CommandResult check = run_command({meridian_binary(), "check", "--config", config});
    REQUIRE_MESSAGE(check.exit_code == 0, check.out << check.err);

    ServerProcess meridian;
    REQUIRE_MESSAGE(meridian.start(config), meridian.error());
    KnotServer knot;
    REQUIRE_MESSAGE(knot.start(*knotd, dir, {{pz.origin, master}}), "knotd did not load " << pz.file << ":\n" << knot.log());

    for (const Question& q : questions_for(nlohmann::json::parse(read_file(json_path)), pz.origin)) {
      std::ostringstream label;
      label << q.name << " " << type_name(q.type);
      CAPTURE(label.str());
      QuerySpec spec(q.name, q.type);
      spec.edns = Edns{};
      const Message m = ask_udp(meridian.v4(), spec);
      const Message k = ask_udp(knot.endpoint(), spec);
      REQUIRE_MESSAGE(m.ok, "meridian: " << m.error);
      REQUIRE_MESSAGE(k.ok, "knot: " << k.error);
      ++compared;
      INFO("meridian:\n" << m.describe() << "knot:\n" << k.describe());
      CHECK(rcode_name(m.rcode) == rcode_name(k.rcode));
      CHECK(m.aa == k.aa);
      CHECK(m.tc == k.tc);
      CHECK(join_lines(section_keys(m.answer)) == join_lines(section_keys(k.answer)));
      CHECK(join_lines(section_keys(m.authority)) == join_lines(section_keys(k.authority)));
      CHECK(join_lines(distinct(section_keys(m.additional))) == join_lines(distinct(section_keys(k.additional))));
    }
    CHECK(meridian.stop() == 0);
  }
  MESSAGE("peer zones: " << compared << " questions compared");
  CHECK(compared >= 500);
}
