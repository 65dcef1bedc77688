// Zone files load one at a time (runtime/zone_loading.hpp): a bad file is left
// out with its own errors while the others load; on a reload it keeps its last
// good version, rebuilt for the new load by Zone::clone() and linked to the new
// services; errors outside zone files still fail the whole load.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "dns/constants.hpp"
#include "unit/support/temp_dir.hpp"
#include "dns/name.hpp"
#include "routing/service_set.hpp"
#include "runtime/state_loader.hpp"
#include "runtime/zone_loading.hpp"
#include "unit/support/dns_wire.hpp"
#include "unit/support/zone_fixture.hpp"

using namespace meridian;
using namespace meridian::test;

namespace {

using ZoneDir = meridian::test::UnitTempDir;

std::string zone_text(const std::string& origin, uint32_t serial, const std::string& extra_records = "") {
  return "{\n  \"origin\": \"" + origin + "\",\n  \"soa\": {\"mname\": \"ns1\", \"rname\": \"hostmaster\", \"serial\": " +
         std::to_string(serial) +
         ", \"refresh\": 7200, \"retry\": 900, \"expire\": 1209600, \"minimum\": 300},\n"
         "  \"records\": {\n    \"@\": {\"NS\": \"ns1\", \"MX\": \"10 mail\"},\n    \"ns1\": {\"A\": \"192.0.2.1\"},\n"
         "    \"mail\": {\"A\": \"192.0.2.25\"}" +
         extra_records + "\n  }\n}\n";
}

routing::ServiceSet services_named(std::initializer_list<const char*> names) {
  routing::ServiceSet set;
  for (const char* name : names) {
    set.by_name[name] = static_cast<int>(set.services.size());
    set.services.emplace_back();
    set.services.back().name = name;
  }
  return set;
}

const zone::ZoneReport& report_for(const runtime::ZoneLoad& load, const std::string& file) {
  for (const auto& r : load.reports)
    if (r.file == file) return r;
  FAIL("no report for " << file);
  return load.reports.front();
}

const zone::Zone* served(const runtime::ZoneLoad& load, const char* origin) {
  return load.zones->find_exact(wire_name(origin));
}

}  // namespace

TEST_SUITE("runtime.zone_loading") {
  TEST_CASE("a cloned zone has the same data in its own memory and outlives the original") {
    auto original = good_zone(zone_text("example.com.", 42, R"(,
    "www": {"CNAME": "mail"},
    "lab": {"NS": "ns.lab"},
    "ns.lab": {"A": "192.0.2.53"},
    "*.wild": {"TXT": "wild"},
    "geo": {"service": "web"})"));
    original->for_each_dynamic_name([](zone::DynamicName& node) {
      if (!node.service.empty()) node.service_index = 3;
    });
    auto copy = original->clone();
    REQUIRE(copy != nullptr);
    CHECK(copy->origin() == original->origin());
    CHECK(copy->source() == original->source());
    CHECK(copy->serial() == 42u);
    CHECK(copy->negative_ttl() == original->negative_ttl());
    CHECK(copy->node_count() == original->node_count());
    // Every head carries the same flags and record bytes, at addresses of its own.
    original->for_each_node([&](const zone::NodeHead& node) {
      INFO(dns::name_to_text(node.name()));
      const zone::NodeHead* a = original->find_head(node.name());
      const zone::NodeHead* b = copy->find_head(node.name());
      REQUIRE(a == &node);
      REQUIRE(b != nullptr);
      CHECK(a != b);
      CHECK(b->flags == a->flags);
      CHECK(b->service_index == a->service_index);
      REQUIRE(b->entry_count == a->entry_count);
      for (unsigned i = 0; i < a->entry_count; ++i) {
        const zone::WireImage ia = a->image(a->entries()[i]);
        const zone::WireImage ib = b->image(b->entries()[i]);
        REQUIRE(ia.footprint() == ib.footprint());
        if (ia.empty()) continue;
        CHECK(ia.data != ib.data);
        CHECK(std::memcmp(ia.data, ib.data, ia.footprint()) == 0);
      }
    });
    const zone::NodeHead* mail = copy->find_head(wire_name("mail.example.com."));
    const zone::RRsetView mx = copy->apex().find_rrset(dns::type::MX);
    REQUIRE(mx.rdata.size() == 1);
    CHECK(mx.rdata[0].target_head == mail);  // an additional-section target inside the copy
    CHECK(&copy->apex_head() == copy->find_head(copy->origin()));
    const std::string negative(reinterpret_cast<const char*>(copy->negative_soa_image().data),
                               copy->negative_soa_image().footprint());
    CHECK(negative == std::string(reinterpret_cast<const char*>(original->negative_soa_image().data),
                                  original->negative_soa_image().footprint()));
    // Nothing in the copy points into the original (ASan would see a read after free).
    original.reset();
    Responder r;
    std::shared_ptr<zone::ZoneSet> set = std::make_shared<zone::ZoneSet>();
    r.snapshot().zones = set;
    REQUIRE(set->add(std::move(copy)));
    const Answer a = r.ask("example.com.", dns::type::MX);
    CHECK(a.msg.rcode == dns::rcode::NOERROR);
    CHECK(a.msg.answer.size() == 1);
    CHECK(a.msg.additional.size() == 1);
    const Answer cname = r.ask("www.example.com.", dns::type::A);
    CHECK(cname.msg.answer.size() == 2);
    const Answer none = r.ask("nope.example.com.", dns::type::A);
    CHECK(none.msg.rcode == dns::rcode::NXDOMAIN);
    CHECK(none.msg.authority.size() == 1);
  }

  TEST_CASE("a bad zone file is left out with its errors; the others load") {
    ZoneDir dir;
    const std::string good = dir.write("a-good.json", zone_text("good.test.", 1));
    const std::string rdata = dir.write("b-rdata.json", zone_text("rdata.test.", 2, ",\n    \"www\": {\"A\": \"192.0.2.300\"}"));
    const std::string syntax = dir.write("c-syntax.json", "{\n  \"origin\": \"syntax.test.\",\n  \"soa\": \n");
    const std::string service = dir.write("d-service.json", zone_text("service.test.", 4, ",\n    \"app\": {\"service\": \"nope\"}"));
    const std::string twice = dir.write("e-twice.json", zone_text("good.test.", 5));
    const std::string dynamic = dir.write("f-dynamic.json", zone_text("dynamic.test.", 6, ",\n    \"app\": {\"service\": \"web\"}"));
    const auto services = services_named({"web"});
    config::Diagnostics diagnostics;
    const runtime::ZoneLoad load = runtime::load_zones({dir.path()}, services, nullptr, diagnostics);
    CHECK(diagnostics.empty());
    REQUIRE(load.reports.size() == 6);
    CHECK(load.reports[0].file == good);  // in file order
    CHECK(load.zones->size() == 2);
    CHECK(runtime::count_zone_failures(load.reports) == 4);

    const auto& g = report_for(load, good);
    CHECK(g.state == zone::ZoneState::loaded);
    CHECK(g.serial == 1u);
    CHECK(g.errors.empty());
    REQUIRE(served(load, "good.test.") != nullptr);
    CHECK(served(load, "good.test.")->source() == good);

    const auto& r = report_for(load, rdata);
    CHECK(r.state == zone::ZoneState::error);
    CHECK(r.origin == wire_name("rdata.test."));
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].file == rdata);
    CHECK(r.errors[0].line == 8);
    CHECK(r.errors[0].message.find("192.0.2.300") != std::string::npos);
    CHECK(served(load, "rdata.test.") == nullptr);
    // Its names find a stand-in, which the responder answers SERVFAIL.
    const std::string rdata_origin = wire_name("rdata.test.");
    const zone::Zone* stand_in = load.zones->find_zone(rdata_origin, reinterpret_cast<const uint8_t*>("\0\6"), 2);
    REQUIRE(stand_in != nullptr);
    CHECK_FALSE(stand_in->available());
    CHECK(load.zones->size() == 2);  // stand-ins are not zones served

    const auto& s = report_for(load, syntax);
    CHECK(s.state == zone::ZoneState::error);
    CHECK(s.origin.empty());  // the file never parsed
    REQUIRE(s.errors.size() == 1);
    CHECK(s.errors[0].line == 4);
    CHECK(s.errors[0].message.find("invalid JSON") != std::string::npos);

    const auto& u = report_for(load, service);
    CHECK(u.state == zone::ZoneState::error);
    REQUIRE(u.errors.size() == 1);
    CHECK(u.errors[0].line == 8);  // where the name's "service" is written
    CHECK(u.errors[0].message.find("\"nope\"") != std::string::npos);
    CHECK(served(load, "service.test.") == nullptr);

    // The later file of an origin is the bad one.
    const auto& t = report_for(load, twice);
    CHECK(t.state == zone::ZoneState::error);
    REQUIRE(t.errors.size() == 1);
    CHECK(t.errors[0].message.find("more than one file") != std::string::npos);
    CHECK(t.errors[0].message.find(good) != std::string::npos);
    CHECK(served(load, "good.test.")->serial() == 1u);

    const auto& d = report_for(load, dynamic);
    CHECK(d.state == zone::ZoneState::loaded);
    REQUIRE(served(load, "dynamic.test.") != nullptr);
    CHECK(served(load, "dynamic.test.")->find_head(wire_name("app.dynamic.test."))->service_index == 0);
  }

  TEST_CASE("on a reload a file that no longer loads keeps its last good version, linked to the new services") {
    ZoneDir dir;
    const std::string a = dir.write("a.json", zone_text("a.test.", 10, ",\n    \"app\": {\"service\": \"web\"}"));
    const std::string b = dir.write("b.json", zone_text("b.test.", 20));
    const auto first_services = services_named({"web"});
    config::Diagnostics d1;
    runtime::ZoneLoad first = runtime::load_zones({dir.path()}, first_services, nullptr, d1);
    REQUIRE(runtime::count_zone_failures(first.reports) == 0);

    // a.json breaks, b.json moves on; a service is added in front of "web".
    dir.write("a.json", zone_text("a.test.", 11, ",\n    \"app\": {\"service\": \"web\"},\n    \"x\": {\"A\": \"no\"}"));
    dir.write("b.json", zone_text("b.test.", 21));
    const auto second_services = services_named({"api", "web"});
    config::Diagnostics d2;
    runtime::ZoneLoad second = runtime::load_zones({dir.path()}, second_services, &first.files, d2);
    CHECK(d2.empty());
    const auto& ra = report_for(second, a);
    CHECK(ra.state == zone::ZoneState::stale);
    CHECK(ra.serial == 10u);
    REQUIRE(ra.errors.size() == 1);
    CHECK(ra.errors[0].line == 9);
    CHECK(report_for(second, b).state == zone::ZoneState::loaded);
    CHECK(served(second, "b.test.")->serial() == 21u);
    const zone::Zone* stale = served(second, "a.test.");
    REQUIRE(stale != nullptr);
    CHECK(stale != served(first, "a.test."));  // rebuilt, not shared
    CHECK(stale->serial() == 10u);
    CHECK(stale->find_head(wire_name("app.a.test."))->service_index == 1);  // "web" in the new services
    CHECK(served(first, "a.test.")->find_head(wire_name("app.a.test."))->service_index == 0);  // the old one untouched

    // Still broken on the next reload, and the first load is gone: the stale
    // version carries over from the second.
    first = {};
    config::Diagnostics d3;
    runtime::ZoneLoad third = runtime::load_zones({dir.path()}, second_services, &second.files, d3);
    CHECK(report_for(third, a).state == zone::ZoneState::stale);
    CHECK(served(third, "a.test.")->serial() == 10u);

    // The service the last good version needs is gone: it is dropped with an error.
    const auto without_web = services_named({"api"});
    config::Diagnostics d4;
    runtime::ZoneLoad fourth = runtime::load_zones({dir.path()}, without_web, &third.files, d4);
    const auto& dropped = report_for(fourth, a);
    CHECK(dropped.state == zone::ZoneState::error);
    REQUIRE(dropped.errors.size() == 2);
    CHECK(dropped.errors[1].message.find("last good version") != std::string::npos);
    CHECK(dropped.errors[1].message.find("\"web\"") != std::string::npos);
    CHECK(served(fourth, "a.test.") == nullptr);
    CHECK(served(fourth, "b.test.") != nullptr);

    // Fixed: the file's own content is served again.
    dir.write("a.json", zone_text("a.test.", 12));
    config::Diagnostics d5;
    runtime::ZoneLoad fifth = runtime::load_zones({dir.path()}, without_web, &fourth.files, d5);
    CHECK(report_for(fifth, a).state == zone::ZoneState::loaded);
    CHECK(report_for(fifth, a).errors.empty());
    CHECK(served(fifth, "a.test.")->serial() == 12u);
  }

  TEST_CASE("a zone file removed from its folder is no longer served") {
    ZoneDir dir;
    const std::string a = dir.write("a.json", zone_text("a.test.", 1));
    const auto services = services_named({});
    config::Diagnostics d1;
    const runtime::ZoneLoad first = runtime::load_zones({dir.path()}, services, nullptr, d1);
    REQUIRE(served(first, "a.test.") != nullptr);
    std::filesystem::remove(a);
    config::Diagnostics d2;
    const runtime::ZoneLoad second = runtime::load_zones({dir.path()}, services, &first.files, d2);
    CHECK(d2.empty());
    CHECK(second.reports.empty());
    CHECK(second.zones->size() == 0);
  }

  TEST_CASE("load_state: a bad zone does not fail the load; a bad meridian.json does, with the zone errors too") {
    ZoneDir dir;
    dir.write("zones/good.json", zone_text("good.test.", 1));
    const std::string bad = dir.write("zones/bad.json", zone_text("bad.test.", 2, ",\n    \"www\": {\"AAAA\": \"nope\"}"));
    const std::string config = dir.write("meridian.json", R"({"dns": {"listen": ["127.0.0.1:0"]}, "zones": "zones/"})");
    config::Diagnostics diagnostics;
    const auto state = runtime::load_state(config, diagnostics);
    INFO(diagnostics.to_string());
    REQUIRE(state);
    CHECK(diagnostics.empty());
    REQUIRE(state->zone_reports);
    CHECK(runtime::count_zone_failures(*state->zone_reports) == 1);
    CHECK(state->snapshot->zones->size() == 1);
    CHECK(state->snapshot->zones->find_exact(wire_name("good.test.")) != nullptr);

    dir.write("meridian.json", R"({"dns": {"listen": ["127.0.0.1:0"], "bogus": 1}, "zones": "zones/"})");
    config::Diagnostics broken;
    CHECK_FALSE(runtime::load_state(config, broken));
    const std::string all = broken.to_string();
    CHECK(all.find("bogus") != std::string::npos);
    CHECK(all.find(bad + ":8:") != std::string::npos);
  }
}
