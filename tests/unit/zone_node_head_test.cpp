// Node heads (zone/node_head.hpp): the compiled, contiguous view of each name that
// the query path reads. Each head must agree with its node in every field, start a
// cache line, keep its images inside its own block, and follow loading's later
// changes (service slots).
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

TEST_CASE("every node has a head that mirrors it") {
  const auto z = good_zone(kZone);
  std::vector<std::pair<const uint8_t*, const uint8_t*>> blocks;  // each head's bytes
  z->for_each_node([&](const zone::Node& node) {
    INFO("node " << dns::name_to_text(node.name));
    const zone::NodeHead* head = z->find_head(node.name);
    REQUIRE(head != nullptr);
    CHECK(head->node == &node);
    CHECK(reinterpret_cast<std::uintptr_t>(head) % 64 == 0);
    CHECK(head->name() == node.name);
    CHECK(head->is_delegation() == node.is_delegation);
    CHECK(head->has_dname() == node.has_dname);
    CHECK(head->has_cname() == (node.find(dns::type::CNAME) != nullptr));
    CHECK(((head->flags & zone::NodeHead::kService) != 0) == !node.service.empty());
    CHECK(head->service_index == node.service_index);
    REQUIRE(head->entry_count == node.rrsets.size());
    const auto* block_end = reinterpret_cast<const uint8_t*>(head->entries() + head->entry_count);
    for (std::size_t i = 0; i < node.rrsets.size(); ++i) {
      const zone::RRset& rrset = node.rrsets[i];
      const zone::NodeHead::Entry& entry = head->entries()[i];
      CHECK(entry.type == rrset.type);
      CHECK(entry.records == rrset.rdata.size());
      CHECK(&head->rrset(entry) == &rrset);
      CHECK(head->find(rrset.type) == &entry);
      // The RRset's image is the head's: one copy, inside the block, after the entries.
      const zone::WireImage image = head->image(entry);
      CHECK(image.size == rrset.image.size);
      CHECK(image.patch_count == rrset.image.patch_count);
      CHECK(image.name_count == rrset.image.name_count);
      CHECK(image.needs_origin == rrset.image.needs_origin);
      if (image.empty()) continue;
      CHECK(image.data == rrset.image.data);
      CHECK(image.data >= block_end);
      block_end = image.data + image.footprint();
    }
    blocks.emplace_back(reinterpret_cast<const uint8_t*>(head), block_end);
    CHECK(head->find(dns::type::DS) == nullptr);
  });
  CHECK(blocks.size() == z->node_count());
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
  // A name with A and AAAA fits one index room (Zone::kHeadRoom, two cache lines).
  const zone::NodeHead* ns1 = head("ns1.example.com.");
  const zone::WireImage last = ns1->image(*ns1->find(dns::type::AAAA));
  CHECK(last.data + last.footprint() - reinterpret_cast<const uint8_t*>(ns1) <= 128);
  // Additional-section targets point at heads.
  const zone::RRset* mx = z->apex().find(dns::type::MX);
  REQUIRE(mx != nullptr);
  CHECK(mx->rdata[0].target_head == head("mail.example.com."));
  CHECK(z->apex_head().node == &z->apex());
  CHECK(z->find_head(wire_name("nothing.example.com.")) == nullptr);
}

TEST_CASE("service slots linked after compiling reach the heads") {
  const auto z = good_zone(kZone);
  const zone::NodeHead* geo = z->find_head(wire_name("geo.example.com."));
  REQUIRE(geo != nullptr);
  CHECK(geo->service_index == -1);
  z->for_each_node_mutable([](zone::Node& node) {
    if (!node.service.empty()) node.service_index = 7;
  });
  CHECK(geo->service_index == 7);
  CHECK(z->find_head(wire_name("mail.example.com."))->service_index == -1);
}
