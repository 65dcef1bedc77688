// routing::classify_by_keys / match_address on the MaxMind test databases:
// continent, country and subdivision keys, custom CIDRs over the database, ASN
// keys, IPv4, IPv6 and IPv4-mapped clients. Expected keys come from
// tests/data/geoip/networks.json and the precedence rules, not from the code.
#include <doctest/doctest.h>

#include <arpa/inet.h>

#include <array>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "unit/support/client_keys.hpp"
#include "routing/classifier.hpp"

using namespace meridian;
using routing::ClientKey;
using routing::GeoSources;

namespace {

const std::string kGeoDir = std::string(MERIDIAN_SOURCE_DIR) + "/tests/data/geoip/";

struct Addr {
  int family = 4;
  std::array<uint8_t, 16> b{};
};

Addr addr(const std::string& text) {
  Addr a;
  a.family = text.find(':') == std::string::npos ? 4 : 6;
  REQUIRE_MESSAGE(inet_pton(a.family == 4 ? AF_INET : AF_INET6, text.c_str(), a.b.data()) == 1, text);
  return a;
}

using meridian::test::keys_of;

GeoSources city(bool with_asn = false) {
  GeoSources g;
  g.city = geo::GeoipDatabase::open(kGeoDir + "GeoIP2-City-Test.mmdb");
  if (with_asn) g.asn = geo::GeoipDatabase::open(kGeoDir + "GeoLite2-ASN-Test.mmdb");
  return g;
}

// The key text a client classifies to ("" when none), via the tries.
struct Classified {
  std::string key;
  unsigned depth;
};
Classified classify(const routing::KeyTries& t, const std::vector<ClientKey>& keys, const std::string& text) {
  const Addr a = addr(text);
  const auto r = t.lookup(a.family, a.b.data());
  return {r.value < keys.size() ? keys[r.value].text : std::string(), r.depth};
}

// The same through match_address (what explain reports).
std::string explained(const std::vector<ClientKey>& keys, const GeoSources& g, const std::string& text) {
  const Addr a = addr(text);
  const auto m = routing::match_address(keys, g, a.family, a.b.data());
  return m.key >= 0 ? keys[static_cast<std::size_t>(m.key)].text : std::string();
}

nlohmann::json city_rows() {
  std::ifstream in(kGeoDir + "networks.json");
  REQUIRE(in.good());
  nlohmann::json out = nlohmann::json::array();
  for (auto& row : nlohmann::json::parse(in))
    if (row["db"] == "GeoIP2-City-Test.mmdb" && row["found"].get<bool>()) out.push_back(row);
  REQUIRE(out.size() >= 15);
  return out;
}

std::string s(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : std::string(); }

std::string mapped(const std::string& v4) { return "::ffff:" + v4; }

}  // namespace

TEST_SUITE("routing.classify") {
  TEST_CASE("continent keys: every City-Test network lands on its continent, the rest on default") {
    const auto keys = keys_of({"AF", "AS", "EU", "NA", "OC", "SA", "default"});
    const GeoSources g = city();
    const auto tries = routing::classify_by_keys(keys, g);
    for (const auto& row : city_rows()) {
      const std::string ip = row["ip"];
      const std::string want = row["continent"].is_string() ? s(row["continent"]) : "default";
      INFO(ip);
      CHECK(classify(tries, keys, ip).key == want);
      CHECK(explained(keys, g, ip) == want);
      if (ip.find(':') == std::string::npos) {
        INFO("mapped " << mapped(ip));
        CHECK(classify(tries, keys, mapped(ip)).key == want);
      }
    }
    // Not in the database at all.
    CHECK(classify(tries, keys, "127.0.0.1").key == "default");
    CHECK(classify(tries, keys, "2001:db8::1").key == "default");
  }

  TEST_CASE("without a default key unmatched clients get no key (keys.size())") {
    const auto keys = keys_of({"EU"});
    const auto tries = routing::classify_by_keys(keys, city());
    CHECK(classify(tries, keys, "81.2.69.142").key == "EU");
    CHECK(classify(tries, keys, "216.160.83.57").key.empty());
    const Addr a = addr("216.160.83.57");
    CHECK(tries.lookup(4, a.b.data()).value == keys.size());
  }

  TEST_CASE("country beats continent, subdivision beats country") {
    const auto keys = keys_of({"EU", "NA", "AS", "country:GB", "country:US", "country:US/WA", "country:CN/22",
                               "country:GB/SCT", "default"});
    const GeoSources g = city();
    const auto tries = routing::classify_by_keys(keys, g);
    for (const auto& row : city_rows()) {
      const std::string ip = row["ip"];
      const std::string cc = s(row["country"]), sub = s(row["subdivision"]), cont = s(row["continent"]);
      std::string want = "default";
      // The model: most specific key the record satisfies.
      auto has = [&](const std::string& t) {
        for (const auto& k : keys)
          if (k.text == t) return true;
        return false;
      };
      if (!cc.empty() && !sub.empty() && has("country:" + cc + "/" + sub)) want = "country:" + cc + "/" + sub;
      else if (!cc.empty() && has("country:" + cc)) want = "country:" + cc;
      else if (!cont.empty() && has(cont)) want = cont;
      INFO(ip << " " << cc << "/" << sub << " " << cont);
      CHECK(classify(tries, keys, ip).key == want);
      CHECK(explained(keys, g, ip) == want);
    }
    // Spot checks the model above relies on.
    CHECK(classify(tries, keys, "216.160.83.57").key == "country:US/WA");
    CHECK(classify(tries, keys, "214.78.120.1").key == "country:US");      // CA: no CA key
    CHECK(classify(tries, keys, "149.101.100.1").key == "country:US");     // no subdivision
    CHECK(classify(tries, keys, "175.16.199.1").key == "country:CN/22");
    CHECK(classify(tries, keys, "89.160.20.129").key == "EU");             // SE: continent only
    CHECK(classify(tries, keys, "2001:480:10::1").key == "country:US");    // IPv6, CA
  }

  TEST_CASE("the trie depth for a database network whose neighbours differ is the network's prefix") {
    const auto keys = keys_of({"country:US/WA", "default"});
    const GeoSources g = city();
    const auto tries = routing::classify_by_keys(keys, g);
    // 216.160.83.56/29; its sibling /29 (216.160.83.48/29) must classify differently.
    const Addr sib = addr("216.160.83.49");
    const auto sl = g.city->lookup(4, sib.b.data());
    REQUIRE_FALSE((sl.found && sl.record.country == "US" && sl.record.subdivision == "WA"));
    const Addr a = addr("216.160.83.57");
    const auto l = g.city->lookup(4, a.b.data());
    REQUIRE(l.found);
    const auto c = classify(tries, keys, "216.160.83.57");
    CHECK(c.key == "country:US/WA");
    CHECK(c.depth == l.prefix_len);
    CHECK(c.depth == 29);
  }

  TEST_CASE("custom CIDRs beat the database, more or less specific than its networks") {
    const auto keys = keys_of({"country:GB", "EU", "net:81.2.69.160/28", "net:175.16.0.0/16", "net:2a02:d180::/32",
                               "net:10.0.0.0/8", "net:10.1.0.0/16", "default"});
    const GeoSources g = city();
    const auto tries = routing::classify_by_keys(keys, g);
    // Inside the GB /27: the /28 CIDR wins in its half only.
    auto c = classify(tries, keys, "81.2.69.161");
    CHECK(c.key == "net:81.2.69.160/28");
    CHECK(c.depth == 28);
    c = classify(tries, keys, "81.2.69.177");
    CHECK(c.key == "country:GB");
    CHECK(c.depth == 28);
    CHECK(explained(keys, g, "81.2.69.161") == "net:81.2.69.160/28");
    CHECK(explained(keys, g, "81.2.69.177") == "country:GB");
    // A CIDR shorter than the database network (CN /24 inside the /16) still wins.
    CHECK(classify(tries, keys, "175.16.199.1").key == "net:175.16.0.0/16");
    CHECK(explained(keys, g, "175.16.199.1") == "net:175.16.0.0/16");
    // IPv6 CIDR over DE.
    CHECK(classify(tries, keys, "2a02:d180::1").key == "net:2a02:d180::/32");
    CHECK(classify(tries, keys, "2a02:d3c0::1").key == "country:GB");
    // Nested CIDRs outside the database: longest wins, depth is the CIDR.
    c = classify(tries, keys, "10.1.2.3");
    CHECK(c.key == "net:10.1.0.0/16");
    CHECK(c.depth == 16);
    c = classify(tries, keys, "10.2.2.3");
    CHECK(c.key == "net:10.0.0.0/8");
    CHECK(explained(keys, g, "10.1.2.3") == "net:10.1.0.0/16");
    CHECK(explained(keys, g, "10.2.2.3") == "net:10.0.0.0/8");
  }

  TEST_CASE("net keys written in the map before the broader ones still win") {
    const auto keys = keys_of({"net:10.1.0.0/16", "net:10.0.0.0/8", "default"});
    const auto tries = routing::classify_by_keys(keys, city());
    CHECK(classify(tries, keys, "10.1.2.3").key == "net:10.1.0.0/16");
    CHECK(classify(tries, keys, "10.9.2.3").key == "net:10.0.0.0/8");
  }

  TEST_CASE("ASN keys with GeoLite2-ASN-Test beat country keys; IPv4, IPv6 and IPv4-mapped") {
    const auto keys = keys_of({"country:SE", "EU", "asn:29518", "asn:3320", "asn:7018", "country:US", "default"});
    const GeoSources g = city(true);
    const auto tries = routing::classify_by_keys(keys, g);
    // 89.160.20.129 is SE in the city database and inside AS29518 (89.160.0.0/17).
    CHECK(classify(tries, keys, "89.160.20.129").key == "asn:29518");
    CHECK(explained(keys, g, "89.160.20.129") == "asn:29518");
    CHECK(classify(tries, keys, mapped("89.160.20.129")).key == "asn:29518");
    // In the ASN network but not in the city database.
    CHECK(classify(tries, keys, "89.160.0.1").key == "asn:29518");
    CHECK(classify(tries, keys, "12.81.92.1").key == "asn:7018");
    CHECK(classify(tries, keys, "12.81.96.1").key == "asn:7018");
    CHECK(explained(keys, g, "12.81.96.1") == "asn:7018");
    // IPv6 ASN network.
    CHECK(classify(tries, keys, "2003::1").key == "asn:3320");
    CHECK(explained(keys, g, "2003::1") == "asn:3320");
    // An ASN network with no key: the city key applies.
    CHECK(classify(tries, keys, "81.2.69.142").key == "EU");
    // Depth of an ASN decision is the ASN network (neighbours are default or other).
    const Addr a = addr("89.160.0.1");
    const auto l = g.asn->lookup(4, a.b.data());
    REQUIRE(l.found);
    CHECK(classify(tries, keys, "89.160.0.1").depth <= l.prefix_len);
    CHECK(classify(tries, keys, "89.160.0.1").depth >= 1);

    // Without the ASN database the same keys fall back to the city record.
    const GeoSources no_asn = city(false);
    const auto t2 = routing::classify_by_keys(keys, no_asn);
    CHECK(classify(t2, keys, "89.160.20.129").key == "country:SE");
    CHECK(explained(keys, no_asn, "89.160.20.129") == "country:SE");
  }

  TEST_CASE("net keys beat ASN keys") {
    const auto keys = keys_of({"asn:29518", "net:89.160.20.128/25", "default"});
    const GeoSources g = city(true);
    const auto tries = routing::classify_by_keys(keys, g);
    CHECK(classify(tries, keys, "89.160.20.129").key == "net:89.160.20.128/25");
    CHECK(explained(keys, g, "89.160.20.129") == "net:89.160.20.128/25");
    CHECK(classify(tries, keys, "89.160.0.1").key == "asn:29518");
  }

  TEST_CASE("IPv4-mapped clients classify like the IPv4 address, on the IPv6 trie") {
    const auto keys = keys_of({"EU", "NA", "AS", "OC", "country:US/WA", "default"});
    const GeoSources g = city();
    const auto tries = routing::classify_by_keys(keys, g);
    for (const char* ip : {"81.2.69.142", "216.160.83.57", "175.16.199.1", "214.0.1.1", "127.0.0.1"}) {
      INFO(ip);
      CHECK(classify(tries, keys, mapped(ip)).key == classify(tries, keys, ip).key);
      CHECK(explained(keys, g, mapped(ip)) == explained(keys, g, ip));
    }
  }

  TEST_CASE("great-circle distances") {
    const routing::Location dublin{53.35, -6.26}, ashburn{39.04, -77.49}, mumbai{19.08, 72.88};
    CHECK(routing::distance_km(dublin, dublin) == doctest::Approx(0.0));
    CHECK(routing::distance_km(dublin, ashburn) == doctest::Approx(5461).epsilon(0.01));
    CHECK(routing::distance_km(dublin, mumbai) == doctest::Approx(7603).epsilon(0.01));
    CHECK(routing::distance_km(dublin, ashburn) == doctest::Approx(routing::distance_km(ashburn, dublin)));
    // Antipodes: half the circumference.
    CHECK(routing::distance_km({0, 0}, {0, 180}) == doctest::Approx(3.14159265 * 6371).epsilon(0.001));
    // Across the antimeridian: short, not round the world.
    CHECK(routing::distance_km({0, 179.5}, {0, -179.5}) < 120);
  }
}
