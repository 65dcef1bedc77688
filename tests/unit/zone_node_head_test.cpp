// Node heads (zone/node_head.hpp): the compiled form of each name, one block in
// the zone's arena. Each block holds its entries, images and records inside
// itself, blocks do not overlap, and service slots linked after compiling reach
// the heads.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dns/name.hpp"

#include "dns/constants.hpp"
#include "unit/support/dns_wire.hpp"
#include "unit/support/zone_fixture.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

const char* kZone = R"({
  "origin": "example.com.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900,
          "expire": 1209600, "minimum": 300},
  "records": {
    "@": {"NS": ["ns1", "ns2.example.net."], "MX": "10 mail",
          "TXT": ["v=spf1 -all", "a second string"]},
    "ns1": {"A": "192.0.2.1", "AAAA": "2001:db8::1"},
    "mail": {"A": ["192.0.2.10", "192.0.2.11"]},
    "www": {"CNAME": "mail"},
    "lab": {"NS": ["ns.lab"]},
    "ns.lab": {"A": "192.0.2.53"},
    "old": {"DNAME": "example.net."},
    "*.wild": {"A": "192.0.2.99", "TXT": "a wildcard"},
    "out": {"MX": "1 mx.example.net."},
    "long": {"TXT": ["0123456789012345678901234567890123456789012345678901234567890123456789",
                     "9876543210987654321098765432109876543210987654321098765432109876543210"]},
    "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.deep": {"A": "192.0.2.7"},
    "geo": {"service": "web"}
  }
})";

}  // namespace

TEST_CASE("every name is one block in the arena: head, name, entries, images, records") {
  const auto z = good_zone(kZone);
  std::vector<std::pair<const uint8_t*, const uint8_t*>> blocks;  // each head's bytes
  std::size_t names = 0;
  z->for_each_node([&](const zone::NodeHead& head) {
    INFO("node " << dns::name_to_text(head.name()));
    ++names;
    CHECK(z->find_head(head.name()) == &head);
    CHECK(reinterpret_cast<std::uintptr_t>(&head) % 8 == 0);
    CHECK(head.size % 8 == 0);
    const auto* start = reinterpret_cast<const uint8_t*>(&head);
    const auto* end = start + head.size;
    CHECK(head.has_cname() == (head.find(dns::type::CNAME) != nullptr));
    CHECK(head.has_dname() == (head.find(dns::type::DNAME) != nullptr));
    CHECK(head.has_service() == !z->service_name(head).empty());
    const auto* used = reinterpret_cast<const uint8_t*>(head.entries() + head.entry_count);
    for (unsigned i = 0; i < head.entry_count; ++i) {
      const zone::NodeHead::Entry& entry = head.entries()[i];
      if (i > 0) CHECK(head.entries()[i - 1].type < entry.type);  // sorted by type
      CHECK(head.find(entry.type) == &entry);
      const zone::RRsetView rrset = head.rrset(entry);
      CHECK(rrset.type == entry.type);
      CHECK(rrset.ttl == entry.ttl);
      REQUIRE(rrset.rdata.size() == entry.records);
      // The image and the records lie inside the block, after the entries.
      const zone::WireImage image = head.image(entry);
      if (!image.empty()) {
        CHECK(image.data >= used);
        CHECK(image.data + image.footprint() <= end);
      }
      for (const auto rd : rrset.rdata) {
        const auto* wire = reinterpret_cast<const uint8_t*>(rd.wire.data());
        CHECK(wire >= used);
        CHECK(wire + rd.wire.size() <= end);
      }
    }
    blocks.emplace_back(start, end);
    CHECK(head.find(dns::type::DS) == nullptr);
  });
  CHECK(names == z->node_count());
  // No block runs into the next head.
  std::sort(blocks.begin(), blocks.end());
  for (std::size_t i = 1; i < blocks.size(); ++i) CHECK(blocks[i - 1].second <= blocks[i].first);
}

TEST_CASE("head flags and images for the kinds of names") {
  const auto z = good_zone(kZone);
  auto head = [&](const char* name) {
    const zone::NodeHead* h = z->find_head(wire_name(name));
    REQUIRE_MESSAGE(h != nullptr, name);
    return h;
  };
  CHECK(head("lab.example.com.")->is_delegation());
  CHECK_FALSE(head("example.com.")->is_delegation());  // the apex NS is not a cut
  CHECK(head("old.example.com.")->has_dname());
  CHECK(head("www.example.com.")->has_cname());
  CHECK(head("geo.example.com.")->entry_count == 0);
  CHECK((head("geo.example.com.")->flags & zone::NodeHead::kService) != 0);
  // Empty non-terminals have heads with no entries.
  CHECK(head("c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.deep.example.com.")->entry_count == 0);
  // An MX naming a host outside the zone has no image: its name is compressed against the message.
  CHECK(head("out.example.com.")->find(dns::type::MX)->image_size == 0);
  // Two A records in one image: 2 x (owner pointer, type, class, TTL, rdlength, address).
  const auto* a = head("mail.example.com.")->find(dns::type::A);
  REQUIRE(a != nullptr);
  CHECK(a->records == 2);
  CHECK(a->image_size == 2 * 16);
  CHECK(a->patch_count == 2);
  // A block longer than a cache line keeps its image whole.
  const auto* txt = head("long.example.com.")->find(dns::type::TXT);
  REQUIRE(txt != nullptr);
  CHECK(txt->records == 2);
  CHECK(txt->image_size == 2 * (12 + 71));
  // A name with A and AAAA, whole: head 16, name 20, entries 2 x 24, images 20 + 32,
  // records 20 + 32 (the size per name that issue #14 measures).
  CHECK(head("ns1.example.com.")->size == 192);
  // Additional-section targets point at heads.
  const zone::RRsetView mx = z->apex().find_rrset(dns::type::MX);
  REQUIRE(mx.rdata.size() == 1);
  CHECK(mx.rdata[0].target_head == head("mail.example.com."));
  CHECK(&z->apex_head() == head("example.com."));
  CHECK(z->find_head(wire_name("nothing.example.com.")) == nullptr);
}

TEST_CASE("service slots linked after compiling reach the heads") {
  const auto z = good_zone(kZone);
  const zone::NodeHead* geo = z->find_head(wire_name("geo.example.com."));
  REQUIRE(geo != nullptr);
  CHECK(geo->service_index == -1);
  z->for_each_dynamic_name([](zone::DynamicName& node) {
    if (!node.service.empty()) node.service_index = 7;
  });
  CHECK(geo->service_index == 7);
  CHECK(z->find_head(wire_name("mail.example.com."))->service_index == -1);
}
