// The build form of a zone (zone/zone_build.hpp): names with dense ids and their
// empty non-terminals, records chained per name, RRset TTLs, duplicates, drops,
// and the grouping by type the compiler reads. Also util::read_file_text, which
// reads the zone files.
#include <doctest/doctest.h>

#include <cstdint>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "dns/constants.hpp"
#include "unit/support/dns_wire.hpp"
#include "util/file_text.hpp"
#include "zone/zone_build.hpp"

using namespace meridian;
using namespace meridian::test;
using zone::ZoneBuild;

namespace {

zone::Rdata rdata_of(std::string wire) {
  zone::Rdata rd;
  rd.wire = std::move(wire);
  return rd;
}

// type, ttl and the wires of each RRset of a name, as the compiler sees them.
struct SeenRRset {
  uint16_t type;
  uint32_t ttl;
  std::vector<std::string> wires;
};
std::vector<SeenRRset> rrsets_of(const ZoneBuild& build, ZoneBuild::NameId id) {
  std::vector<SeenRRset> out;
  std::vector<uint32_t> scratch;
  std::vector<zone::RdataRef> refs;
  build.for_each_rrset(
      id,
      [&](uint16_t type, uint32_t ttl, const std::vector<zone::RdataRef>& records) {
        SeenRRset s{type, ttl, {}};
        for (const auto& r : records) s.wires.emplace_back(r.wire);
        out.push_back(std::move(s));
      },
      scratch, refs);
  return out;
}

}  // namespace

TEST_SUITE("zone.build") {
  TEST_CASE("names get dense ids in order, with their empty non-terminals, and are found again") {
    ZoneBuild build(wire_name("example.com."));
    CHECK(build.size() == 1);
    CHECK(build.find(wire_name("example.com.")) == 0);
    const auto deep = build.name_for(wire_name("a.b.c.example.com."));
    CHECK(deep == 1);
    // b.c and c were created as empty non-terminals, after the name itself.
    CHECK(build.size() == 4);
    const auto bc = build.find(wire_name("b.c.example.com."));
    const auto c = build.find(wire_name("c.example.com."));
    CHECK(bc == 2);
    CHECK(c == 3);
    CHECK(build.empty(bc));
    CHECK(build.name(c) == wire_name("c.example.com."));
    CHECK(build.name_for(wire_name("a.b.c.example.com.")) == deep);  // not created twice
    CHECK(build.name_for(wire_name("x.c.example.com.")) == 4);
    CHECK(build.size() == 5);  // c existed: no new non-terminal
    CHECK(build.find(wire_name("nothing.example.com.")) == ZoneBuild::kNoName);
    // Once the compiler released the index, names are read by id only.
    build.release_index();
    CHECK(build.name(c) == wire_name("c.example.com."));
    CHECK(build.find(wire_name("c.example.com.")) == ZoneBuild::kNoName);
    CHECK(build.name_for(wire_name("new.example.com.")) == ZoneBuild::kNoName);
  }

  TEST_CASE("many names: the index grows and every id is found again") {
    ZoneBuild build(wire_name("example.com."));
    build.reserve(10);  // far too few: the index must grow
    std::vector<ZoneBuild::NameId> ids;
    for (int i = 0; i < 5000; ++i) ids.push_back(build.name_for(wire_name("h" + std::to_string(i) + ".example.com.")));
    CHECK(build.size() == 5001);
    for (int i = 0; i < 5000; ++i) {
      CHECK(build.find(wire_name("h" + std::to_string(i) + ".example.com.")) == ids[static_cast<std::size_t>(i)]);
      CHECK(build.name(ids[static_cast<std::size_t>(i)]) == wire_name("h" + std::to_string(i) + ".example.com."));
    }
  }

  TEST_CASE("release_before hands back what is behind and leaves every later name and record intact") {
    // Records out of name order (a master file may list a name again later): the
    // records of name i are its A, added in order, and a TXT added at the end, so
    // a name's records span the whole pool and little may go back early.
    ZoneBuild build(wire_name("example.com."));
    constexpr int kNames = 20000;
    std::vector<ZoneBuild::NameId> ids;
    for (int i = 0; i < kNames; ++i) ids.push_back(build.name_for(wire_name("host-" + std::to_string(i) + ".example.com.")));
    // The last name's records come first in the pool (several pages of them): they
    // must stay until that name is compiled, at the very end.
    std::vector<std::string> early_mx;
    for (int k = 0; k < 1000; ++k) {
      early_mx.push_back(std::string{static_cast<char>(k >> 8), static_cast<char>(k & 0xff), '\0'});
      build.add(ids.back(), dns::type::MX, 60, rdata_of(early_mx.back()));
    }
    for (int i = 0; i < kNames; ++i)
      build.add(ids[static_cast<std::size_t>(i)], dns::type::A, 300, rdata_of(std::string(4, static_cast<char>(i % 251))));
    for (int i = kNames - 1; i >= kNames / 2; --i)
      build.add(ids[static_cast<std::size_t>(i)], dns::type::TXT, 60, rdata_of("\x05late" + std::to_string(i)));
    build.release_index();
    build.begin_release();
    for (int i = 0; i < kNames; ++i) {
      const auto id = ids[static_cast<std::size_t>(i)];
      if (i % 97 == 0) build.release_before(id);
      REQUIRE(build.name(id) == wire_name("host-" + std::to_string(i) + ".example.com."));
      const auto seen = rrsets_of(build, id);
      const bool last = i == kNames - 1;
      REQUIRE(seen.size() == (i >= kNames / 2 ? 2u : 1u) + (last ? 1u : 0u));
      CHECK(seen[0].wires == std::vector<std::string>{std::string(4, static_cast<char>(i % 251))});
      if (last) CHECK(seen[1].wires == early_mx);  // MX sorts before TXT
      if (i >= kNames / 2) CHECK(seen.back().wires == std::vector<std::string>{"\x05late" + std::to_string(i)});
    }
    build.release_before(static_cast<ZoneBuild::NameId>(build.size()));  // the end: nothing left to read
    build.release_before(static_cast<ZoneBuild::NameId>(build.size() + 5));  // past it: ignored
  }

  TEST_CASE("records: an RRset keeps its first TTL, duplicates are kept once, types come out sorted") {
    ZoneBuild build(wire_name("example.com."));
    const auto www = build.name_for(wire_name("www.example.com."));
    CHECK(build.add(www, dns::type::TXT, 60, rdata_of("\x03one")) == ZoneBuild::Added::kAdded);
    CHECK(build.add(www, dns::type::A, 300, rdata_of(std::string("\xc0\x00\x02\x01", 4))) == ZoneBuild::Added::kAdded);
    CHECK(build.add(www, dns::type::TXT, 999, rdata_of("\x03two")) == ZoneBuild::Added::kAdded);
    CHECK(build.add(www, dns::type::TXT, 60, rdata_of("\x03one")) == ZoneBuild::Added::kDuplicate);
    CHECK(build.count(www, dns::type::TXT) == 2);
    CHECK(build.type_count(www) == 2);
    CHECK(build.has_record(www, dns::type::TXT, "\x03two"));
    CHECK_FALSE(build.has_record(www, dns::type::A, "\x03two"));
    const auto sets = rrsets_of(build, www);
    REQUIRE(sets.size() == 2);
    CHECK(sets[0].type == dns::type::A);
    CHECK(sets[1].type == dns::type::TXT);
    CHECK(sets[1].ttl == 60);  // the second TXT's 999 does not count
    CHECK(sets[1].wires == std::vector<std::string>{"\x03one", "\x03two"});  // in the order added
  }

  TEST_CASE("replace_ttl gives records waiting for the zone's TTL their value") {
    ZoneBuild build(wire_name("example.com."));
    const auto a = build.name_for(wire_name("a.example.com."));
    constexpr uint32_t kLater = 0xFFFFFFFF;
    build.add(a, dns::type::TXT, kLater, rdata_of("\x01x"));
    build.add(a, dns::type::A, 30, rdata_of(std::string("\x0a\x00\x00\x01", 4)));
    build.replace_ttl(kLater, 7200);
    const auto sets = rrsets_of(build, a);
    REQUIRE(sets.size() == 2);
    CHECK(sets[0].ttl == 30);
    CHECK(sets[1].ttl == 7200);
  }

  TEST_CASE("drop removes whole RRsets, reports each type once, and later adds still chain") {
    ZoneBuild build(wire_name("example.com."));
    const auto cut = build.name_for(wire_name("sub.example.com."));
    build.add(cut, dns::type::NS, 60, rdata_of(wire_name("ns.sub.example.com.")));
    build.add(cut, dns::type::TXT, 60, rdata_of("\x01x"));
    build.add(cut, dns::type::MX, 60, rdata_of(std::string("\x00\x0a", 2) + wire_name("mx.example.com.")));
    build.add(cut, dns::type::TXT, 60, rdata_of("\x01y"));
    std::vector<uint16_t> dropped;
    build.drop(cut, [](uint16_t t) { return t == dns::type::NS; }, [&](uint16_t t) { dropped.push_back(t); });
    CHECK(dropped == std::vector<uint16_t>{dns::type::TXT, dns::type::MX});
    CHECK(build.type_count(cut) == 1);
    CHECK_FALSE(build.has(cut, dns::type::TXT));
    // The chain's tail was fixed: a record added now is found.
    build.add(cut, dns::type::DS, 60, rdata_of(std::string("\x00\x01\x0d\x02", 4)));
    const auto sets = rrsets_of(build, cut);
    REQUIRE(sets.size() == 2);
    CHECK(sets[0].type == dns::type::NS);
    CHECK(sets[1].type == dns::type::DS);
    // Dropping everything leaves an empty name, to which records can be added again.
    build.drop(cut, [](uint16_t) { return false; }, [](uint16_t) {});
    CHECK_FALSE(build.has_records(cut));
    build.add(cut, dns::type::NS, 60, rdata_of(wire_name("ns.sub.example.com.")));
    CHECK(build.count(cut, dns::type::NS) == 1);
  }

  TEST_CASE("services are numbered once per name of service") {
    ZoneBuild build(wire_name("example.com."));
    const auto a = build.name_for(wire_name("a.example.com."));
    const auto b = build.name_for(wire_name("b.example.com."));
    const auto c = build.name_for(wire_name("c.example.com."));
    build.set_service(a, "web");
    build.set_service(b, "api");
    build.set_service(c, "web");
    CHECK(build.service(a) == "web");
    CHECK(build.service_number(a) == build.service_number(c));
    CHECK(build.service_number(b) != build.service_number(a));
    CHECK(build.service_names().size() == 2);
    CHECK_FALSE(build.empty(a));
    CHECK(build.service(build.find(wire_name("example.com."))).empty());
  }
}

TEST_SUITE("util.file_text") {
  TEST_CASE("a file is read whole; a missing file or a folder is nullopt") {
    const std::string path = "/tmp/meridian-file-text-" + std::to_string(::getpid()) + ".txt";
    std::string text;
    for (int i = 0; i < 100000; ++i) text += "line " + std::to_string(i) + "\n";
    text += std::string("\0tail", 5);
    {
      std::ofstream out(path, std::ios::binary);
      out << text;
    }
    const auto read = util::read_file_text(path);
    REQUIRE(read.has_value());
    CHECK(*read == text);
    std::remove(path.c_str());
    CHECK_FALSE(util::read_file_text(path).has_value());
    CHECK_FALSE(util::read_file_text("/tmp").has_value());
    // A file that stat() sizes as 0 but has content.
    const auto proc = util::read_file_text("/proc/self/status");
    REQUIRE(proc.has_value());
    CHECK(proc->find("Name:") != std::string::npos);
  }
}
