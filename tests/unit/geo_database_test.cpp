// geo::GeoipDatabase on the MaxMind test databases: point lookups and the
// network walk against tests/data/geoip/networks.json, and the walk against the
// lookups (two independent code paths: our node walk and libmaxminddb's search).
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/diagnostics.hpp"
#include "geo/geoip_database.hpp"

using meridian::geo::GeoipDatabase;
using meridian::geo::GeoLookup;
using meridian::geo::GeoRecord;

namespace {

const std::string kGeoDir = std::string(MERIDIAN_SOURCE_DIR) + "/tests/data/geoip/";

nlohmann::json networks() {
  std::ifstream in(kGeoDir + "networks.json");
  REQUIRE(in.good());
  return nlohmann::json::parse(in);
}

struct Net {
  int family;
  std::array<uint8_t, 16> addr{};
  unsigned len;
};

Net parse_net(const std::string& text) {
  Net n{};
  const auto slash = text.find('/');
  const std::string a = text.substr(0, slash);
  n.len = static_cast<unsigned>(std::stoul(text.substr(slash + 1)));
  n.family = a.find(':') == std::string::npos ? 4 : 6;
  REQUIRE(inet_pton(n.family == 4 ? AF_INET : AF_INET6, a.c_str(), n.addr.data()) == 1);
  return n;
}

std::array<uint8_t, 16> ip(const std::string& text, int& family) {
  std::array<uint8_t, 16> a{};
  family = text.find(':') == std::string::npos ? 4 : 6;
  REQUIRE(inet_pton(family == 4 ? AF_INET : AF_INET6, text.c_str(), a.data()) == 1);
  return a;
}

std::string str_or_empty(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : std::string(); }

void check_record(const GeoRecord& r, const nlohmann::json& row) {
  CHECK(r.country == str_or_empty(row["country"]));
  CHECK(r.continent == str_or_empty(row["continent"]));
  CHECK(r.subdivision == str_or_empty(row["subdivision"]));
  if (row["asn"].is_number()) CHECK(r.asn == row["asn"].get<uint32_t>());
  else CHECK(r.asn == 0);
  CHECK(r.has_location == row["lat"].is_number());
  if (row["lat"].is_number()) {
    CHECK(r.latitude == doctest::Approx(row["lat"].get<double>()).epsilon(1e-6));
    CHECK(r.longitude == doctest::Approx(row["lon"].get<double>()).epsilon(1e-6));
  }
  if (row["city"].is_string()) CHECK(r.city == row["city"].get<std::string>());
}

std::string key_of(const uint8_t* a, unsigned len, int family) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(len);
}

}  // namespace

TEST_SUITE("geo.database") {
  TEST_CASE("lookups on every test database match networks.json (record and network prefix)") {
    const auto rows = networks();
    int checked = 0;
    for (const char* file : {"GeoIP2-City-Test.mmdb", "GeoIP2-Country-Test.mmdb", "GeoLite2-ASN-Test.mmdb"}) {
      const auto db = GeoipDatabase::open(kGeoDir + file);
      CHECK(db->has_ipv6());
      for (const auto& row : rows) {
        if (row["db"] != file) continue;
        INFO(file << " " << row["ip"].get<std::string>());
        int family = 0;
        const auto a = ip(row["ip"].get<std::string>(), family);
        const GeoLookup l = db->lookup(family, a.data());
        REQUIRE(l.found == row["found"].get<bool>());
        if (!l.found) continue;
        const Net n = parse_net(row["network"].get<std::string>());
        CHECK(l.prefix_len == n.len);  // IPv4 prefixes in IPv4 bits, not IPv6 bits
        check_record(l.record, row);
        ++checked;
      }
    }
    CHECK(checked >= 30);
  }

  TEST_CASE("an IPv4-mapped IPv6 address finds the IPv4 network (prefix in IPv6 bits)") {
    const auto db = GeoipDatabase::open(kGeoDir + "GeoIP2-City-Test.mmdb");
    int family = 0;
    const auto v4 = ip("81.2.69.142", family);
    const auto mapped = ip("::ffff:81.2.69.142", family);
    const GeoLookup a = db->lookup(4, v4.data());
    const GeoLookup b = db->lookup(6, mapped.data());
    REQUIRE(a.found);
    REQUIRE(b.found);
    CHECK(b.record.country == a.record.country);
    CHECK(b.record.city == a.record.city);
    CHECK(b.prefix_len == 96 + a.prefix_len);
  }

  TEST_CASE("reserved addresses are not found") {
    const auto db = GeoipDatabase::open(kGeoDir + "GeoIP2-City-Test.mmdb");
    for (const char* text : {"127.0.0.1", "10.0.0.1", "2001:db8::1"}) {
      int family = 0;
      const auto a = ip(text, family);
      CHECK_FALSE(db->lookup(family, a.data()).found);
    }
  }

  TEST_CASE("the walk visits every networks.json network with its record") {
    const auto rows = networks();
    for (const char* file : {"GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb"}) {
      const auto db = GeoipDatabase::open(kGeoDir + file);
      std::map<std::string, GeoRecord> seen[2];
      for (int family : {4, 6})
        db->walk(family, [&](const uint8_t* addr, unsigned len, const GeoRecord& r) {
          CHECK(len <= (family == 4 ? 32u : 128u));
          seen[family == 4 ? 0 : 1][key_of(addr, len, family)] = r;
        });
      CHECK_FALSE(seen[0].empty());
      CHECK_FALSE(seen[1].empty());
      for (const auto& row : rows) {
        if (row["db"] != file || !row["found"].get<bool>()) continue;
        const Net n = parse_net(row["network"].get<std::string>());
        const std::string key = key_of(n.addr.data(), n.len, n.family);
        INFO(file << " " << key);
        const auto& m = seen[n.family == 4 ? 0 : 1];
        const auto it = m.find(key);
        REQUIRE(it != m.end());
        check_record(it->second, row);
      }
    }
  }

  TEST_CASE("every walked network is what a lookup of its first and last address reports") {
    const auto db = GeoipDatabase::open(kGeoDir + "GeoIP2-City-Test.mmdb");
    for (int family : {4, 6}) {
      int visited = 0;
      db->walk(family, [&](const uint8_t* addr, unsigned len, const GeoRecord& r) {
        const unsigned width = family == 4 ? 32 : 128;
        uint8_t last[16];
        std::memcpy(last, addr, 16);
        for (unsigned i = len; i < width; ++i) last[i / 8] |= static_cast<uint8_t>(0x80u >> (i % 8));
        for (const uint8_t* a : {addr, static_cast<const uint8_t*>(last)}) {
          const GeoLookup l = db->lookup(family, a);
          INFO(key_of(addr, len, family));
          REQUIRE(l.found);
          CHECK(l.prefix_len == len);
          CHECK(l.record.country == r.country);
          CHECK(l.record.continent == r.continent);
          CHECK(l.record.subdivision == r.subdivision);
        }
        ++visited;
      });
      CHECK(visited > 10);
    }
  }

  TEST_CASE("walked networks do not overlap and IPv4 ones fit in 32 bits") {
    const auto db = GeoipDatabase::open(kGeoDir + "GeoIP2-City-Test.mmdb");
    std::vector<std::pair<uint64_t, uint64_t>> ranges;
    db->walk(4, [&](const uint8_t* a, unsigned len, const GeoRecord&) {
      const uint64_t start = (uint64_t{a[0]} << 24) | (uint64_t{a[1]} << 16) | (uint64_t{a[2]} << 8) | a[3];
      ranges.emplace_back(start, start + (uint64_t{1} << (32 - len)));
    });
    REQUIRE_FALSE(ranges.empty());
    for (std::size_t i = 1; i < ranges.size(); ++i) CHECK(ranges[i].first >= ranges[i - 1].second);
  }

  TEST_CASE("opening a missing or non-mmdb file throws an error naming the file") {
    const std::string missing = kGeoDir + "no-such-file.mmdb";
    try {
      GeoipDatabase::open(missing);
      FAIL("no exception");
    } catch (const meridian::config::LoadError& e) {
      CHECK(std::string(e.what()).find("no-such-file.mmdb") != std::string::npos);
    }
    const std::string not_mmdb = kGeoDir + "networks.json";
    CHECK_THROWS_AS(GeoipDatabase::open(not_mmdb), meridian::config::LoadError);
  }

  TEST_CASE("database types are reported") {
    CHECK(GeoipDatabase::open(kGeoDir + "GeoIP2-City-Test.mmdb")->database_type() == "GeoIP2-City");
    CHECK(GeoipDatabase::open(kGeoDir + "GeoLite2-ASN-Test.mmdb")->database_type() == "GeoLite2-ASN");
  }
}
