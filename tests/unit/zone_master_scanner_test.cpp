// `zone import`'s reading of master files (libzscanner, ldns for the types
// zscanner does not know), its TTL rules (ldns's, as the importer always had),
// the ldns-exact presentation text of common rdata, and the JSON text it writes.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "zone/master_import.hpp"
#include "zone/master_scanner.hpp"
#include "zone/presentation_text.hpp"
#include "zone/rdata_codec.hpp"

using namespace meridian;

namespace {

// A temporary directory removed when the test ends.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char name[] = "/tmp/meridian-scan-XXXXXX";
    REQUIRE(::mkdtemp(name));
    path = name;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& file, const std::string& text) const {
    const auto p = path / file;
    std::ofstream(p) << text;
    return p.string();
  }
};

struct Scanned {
  std::vector<zone::MasterRecord> records;
  std::vector<std::string> owners;  // text, for messages
  std::vector<std::string> rdata;   // copies: the views die with the callback
  std::vector<std::string> files;
  config::Diagnostics diagnostics;
  std::string errors() const { return diagnostics.to_string(); }
};

Scanned scan(const std::string& path, const std::string& origin = "example.com.") {
  Scanned out;
  zone::scan_master_file(path, origin, out.diagnostics, [&](const zone::MasterRecord& r) {
    out.records.push_back(r);
    out.owners.push_back(dns::name_to_text(r.owner));
    out.rdata.emplace_back(r.rdata);
    out.files.emplace_back(r.file);
  });
  return out;
}

std::string json_text(const std::string& path, config::Diagnostics& diagnostics,
                      const std::string& origin = "example.com.") {
  std::ostringstream out;
  zone::read_master_file(path, origin, diagnostics).write_json(out);
  return out.str();
}

std::string wire_name(const char* text) { return *dns::name_from_text(text); }

}  // namespace

TEST_SUITE("zone.import") {
  TEST_CASE("presentation text of common rdata is ldns's, byte for byte") {
    // Every byte value in a label, in names printed alone and after an MX preference.
    for (unsigned c = 0; c < 256; ++c) {
      CAPTURE(c);
      std::string name;
      name += '\x03';
      name += 'a';
      name += static_cast<char>(c);
      name += 'b';
      name += std::string("\x07" "example\x03" "com\x00", 13);
      CHECK(zone::presentation_text(dns::type::NS, name) == zone::rdata_to_text(dns::type::NS, name));
      const std::string mx = std::string("\x01\x02", 2) + name;
      CHECK(zone::presentation_text(dns::type::MX, mx) == zone::rdata_to_text(dns::type::MX, mx));
    }
    const std::string root(1, '\0');
    for (const uint16_t type : {dns::type::NS, dns::type::CNAME, dns::type::PTR, dns::type::DNAME})
      CHECK(zone::presentation_text(type, root) == zone::rdata_to_text(type, root));
    CHECK(zone::presentation_text(dns::type::MX, std::string("\xff\xff", 2) + root) ==
          zone::rdata_to_text(dns::type::MX, std::string("\xff\xff", 2) + root));
    for (unsigned b = 0; b < 256; ++b) {
      const std::string wire{static_cast<char>(b), static_cast<char>(255 - b), static_cast<char>(b / 10), '\0'};
      CHECK(zone::presentation_text(dns::type::A, wire) == zone::rdata_to_text(dns::type::A, wire));
    }
    for (const char* aaaa : {"2001:db8::1", "::", "::ffff:192.0.2.1", "2001:db8:0:1:1:1:1:1", "fe80::1:0:0:1"}) {
      CAPTURE(aaaa);
      const auto rd = zone::parse_rdata(dns::type::AAAA, aaaa, wire_name("x.example.com."), wire_name("example.com."));
      REQUIRE(rd.error == "");
      CHECK(zone::presentation_text(dns::type::AAAA, rd.rdata.wire) == zone::rdata_to_text(dns::type::AAAA, rd.rdata.wire));
    }
    // Not one whole name, or the wrong length: ldns decides.
    const std::string trailing = wire_name("a.example.com.") + "x";
    CHECK(zone::presentation_text(dns::type::NS, trailing) == zone::rdata_to_text(dns::type::NS, trailing));
    CHECK(zone::presentation_text(dns::type::A, "abc") == zone::rdata_to_text(dns::type::A, "abc"));
  }

  TEST_CASE("the JSON text is nlohmann's dump(2) of the same document") {
    TempDir dir;
    const std::string master = dir.write("z.zone",
                                         "$ORIGIN example.com.\n$TTL 300\n"
                                         "@ IN SOA ns1 hostmaster 7 7200 900 1209600 300\n"
                                         "@ 600 IN SOA ns1 hostmaster 8 7200 900 1209600 300\n"  // a second SOA is ignored
                                         "@ IN NS ns1\n@ IN NS ns2\n"
                                         "ns1 IN A 192.0.2.1\n"
                                         "ns2 60 IN A 192.0.2.2\nns2 60 IN A 192.0.2.3\n"
                                         "txt IN TXT \"q\\\"uote\" \"back\\\\slash\" \"tab\\009\"\n"
                                         "txt 30 IN MX 10 a\\.b.example.com.\n"
                                         "Upper.Case IN CNAME Target.Example.com.\n");
    config::Diagnostics diags;
    const std::string text = json_text(master, diags);
    INFO(diags.to_string());
    REQUIRE(diags.empty());
    INFO(text);
    const auto json = nlohmann::ordered_json::parse(text);
    CHECK(json.dump(2) == text);
    CHECK(json["ttl"] == 300);
    CHECK(json["soa"]["serial"] == 7);
    CHECK(json["records"]["ns2"] == nlohmann::ordered_json::parse(R"({"A": {"ttl": 60, "data": ["192.0.2.2", "192.0.2.3"]}})"));
    CHECK(json["records"]["txt"]["TXT"] == "\"q\\\"uote\" \"back\\\\slash\" \"tab\t\"");  // ldns prints a tab as is
    CHECK(json["records"]["txt"]["MX"]["data"] == "10 a\\.b.example.com.");
    // Owners folded to lower case, rdata names as written.
    CHECK(json["records"]["upper.case"]["CNAME"] == "Target.Example.com.");

    // A zone of an SOA alone: empty records.
    const std::string bare = dir.write("bare.zone", "example.com. 300 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5\n");
    config::Diagnostics bare_diags;
    const std::string bare_text = json_text(bare, bare_diags);
    CHECK(bare_diags.empty());
    CHECK(nlohmann::ordered_json::parse(bare_text).dump(2) == bare_text);
    CHECK(bare_text.find("\"records\": {}") != std::string::npos);
  }

  TEST_CASE("records without a TTL follow ldns's rules, as the import did before") {
    TempDir dir;
    // No $TTL: the last TTL written (RFC 1035 5.1), 3600 before any.
    Scanned no_dollar = scan(dir.write("a.zone",
                                       "example.com. IN SOA ns1 h 1 2 3 4 5\n"
                                       "a 600 IN A 192.0.2.1\n"
                                       "b IN A 192.0.2.2\n"
                                       "c 7200 IN A 192.0.2.3\n"
                                       "  IN A 192.0.2.4\n"));
    INFO(no_dollar.errors());
    REQUIRE(no_dollar.records.size() == 5);
    CHECK(no_dollar.records[0].ttl == 3600);
    CHECK(no_dollar.records[1].ttl == 600);
    CHECK(no_dollar.records[2].ttl == 600);
    CHECK(no_dollar.records[3].ttl == 7200);
    CHECK(no_dollar.records[4].ttl == 7200);
    // $TTL: its value; the RRset just before gives its TTL; SIG its original TTL.
    Scanned dollar = scan(dir.write("b.zone",
                                    "$TTL 300\n"
                                    "example.com. IN SOA ns1 h 1 2 3 4 5\n"
                                    "a 7200 IN A 192.0.2.1\n"
                                    "a IN A 192.0.2.2\n"
                                    "b IN A 192.0.2.3\n"
                                    "b IN SIG A 5 3 86400 20300101000000 20200101000000 12345 example.com. AAAAAAAA\n"
                                    "$TTL 42\n"
                                    "c IN A 192.0.2.4\n"
                                    "d 50 IN A 192.0.2.5\n"));
    INFO(dollar.errors());
    REQUIRE(dollar.records.size() == 7);
    CHECK(dollar.records[0].ttl == 300);
    CHECK(dollar.records[1].ttl == 7200);
    CHECK(dollar.records[2].ttl == 7200);
    CHECK(dollar.records[3].ttl == 300);
    CHECK(dollar.records[4].type == 24);
    CHECK(dollar.records[4].ttl == 86400);
    CHECK(dollar.records[5].ttl == 42);
    CHECK(dollar.records[6].ttl == 50);
  }

  TEST_CASE("a first record without an owner is the origin's; TTLs above 2^31-1 are errors") {
    TempDir dir;
    config::Diagnostics diags;
    const std::string text = json_text(dir.write("z.zone",
                                                 "  3600 IN SOA ns1.example.com. h.example.com. 1 2 3 4 5\n"
                                                 "  IN NS ns1.example.com.\n"
                                                 "ns1 IN A 192.0.2.1\n"),
                                       diags);
    INFO(diags.to_string());
    REQUIRE(diags.empty());
    const auto json = nlohmann::ordered_json::parse(text);
    CHECK(json["soa"]["serial"] == 1);
    CHECK(json["records"]["@"]["NS"] == "ns1.example.com.");

    config::Diagnostics big_diags;
    json_text(dir.write("big.zone", "@ 3600 IN SOA ns1 h 1 2 3 4 5\nbig 2147483648 IN A 192.0.2.2\n"), big_diags);
    REQUIRE(big_diags.size() == 1);
    CHECK(big_diags.items()[0].line == 2);
    CHECK(big_diags.items()[0].message ==
          "record big.example.com. A: TTL 2147483648 is above 2147483647 (RFC 2181 section 8)");
  }

  TEST_CASE("types zscanner does not know are read by ldns, one line or several") {
    TempDir dir;
    const Scanned s = scan(dir.write("z.zone",
                                     "$ORIGIN example.com.\n$TTL 3600\n"
                                     "@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"
                                     "md IN MD md.example.com.\n"
                                     "   IN NULL \\# 3 abcdef ; a comment\n"
                                     "wks IN WKS ( 192.0.2.1 ; address\n"
                                     "     tcp smtp http )\n"
                                     "after IN A 192.0.2.9\n"));
    INFO(s.errors());
    REQUIRE(s.diagnostics.empty());
    REQUIRE(s.records.size() == 5);
    CHECK(s.owners[1] == "md.example.com.");
    CHECK(s.records[1].type == 3);
    CHECK(s.records[1].line == 4);
    CHECK(s.owners[2] == "md.example.com.");  // the owner of the line before
    CHECK(s.records[2].type == 10);
    CHECK(s.rdata[2] == "\xab\xcd\xef");
    CHECK(s.owners[3] == "wks.example.com.");
    CHECK(s.records[3].type == 11);
    CHECK(s.records[3].line == 7);
    CHECK(s.owners[4] == "after.example.com.");
    CHECK(s.records[4].line == 8);
  }

  TEST_CASE("$INCLUDE is read; errors name the file and line, in included files too") {
    TempDir dir;
    // Relative to the including file; a type zscanner does not know is no error there either.
    dir.write("inc.zone", "x IN A 192.0.2.7\nx IN WKS 192.0.2.7 tcp smtp\n");
    dir.write("bad.zone", "y IN A 192.0.2.300\n");
    const std::string top = dir.write("top.zone",
                                      "$ORIGIN example.com.\n$TTL 3600\n"
                                      "@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"
                                      "$INCLUDE inc.zone\n"
                                      "z IN A 192.0.2.8\n"
                                      "bad IN A 1.2.3\n"
                                      "$GENERATE 1-3 g$ A 192.0.2.$\n");
    const Scanned s = scan(top);
    REQUIRE(s.records.size() == 4);
    CHECK(s.owners[1] == "x.example.com.");
    CHECK(s.files[1].find("inc.zone") != std::string::npos);
    CHECK(s.records[2].type == 11);
    CHECK(s.owners[3] == "z.example.com.");
    CHECK(s.files[3] == top);
    REQUIRE(s.diagnostics.size() == 2);
    const auto& items = s.diagnostics.items();
    CHECK(items[0].file == top);
    CHECK(items[0].line == 6);
    CHECK(items[0].message == "cannot parse master file: invalid IPv4 address");
    CHECK(items[1].line == 7);
    CHECK(items[1].message ==
          "directive $GENERATE is not supported (meridian reads $ORIGIN, $TTL and $INCLUDE, as Knot does)");

    // An included file with errors: they are listed, and zscanner stops there.
    const Scanned bad = scan(dir.write("top2.zone", "$ORIGIN example.com.\n$INCLUDE bad.zone\nz IN A 192.0.2.8\n"));
    REQUIRE(bad.diagnostics.size() == 2);
    CHECK(bad.diagnostics.items()[0].file.find("bad.zone") != std::string::npos);
    CHECK(bad.diagnostics.items()[0].line == 1);
    CHECK(bad.diagnostics.items()[1].line == 2);
    CHECK(bad.diagnostics.items()[1].message == "reading stopped: the included file has errors");
  }

  TEST_CASE("a record neither reader reads is one error; records after it still come") {
    TempDir dir;
    const Scanned s = scan(dir.write("z.zone",
                                     "$ORIGIN example.com.\n"
                                     "@ 3600 IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"
                                     "hip IN HIP ( 2 200100107B1A74DF365639CC39F1D578\n"
                                     "   not-base64! )\n"
                                     "ok IN A 192.0.2.1\n"));
    REQUIRE(s.diagnostics.size() == 1);
    CHECK(s.diagnostics.items()[0].line == 3);
    REQUIRE(s.records.size() == 2);
    CHECK(s.owners[1] == "ok.example.com.");
  }

  TEST_CASE("CRLF line ends (which zscanner refuses) read as LF, as ldns read them") {
    TempDir dir;
    const std::string lf = "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n"
                           "@ IN NS ns1\nns1 IN A 192.0.2.1\nwks IN WKS 192.0.2.1 tcp smtp\n"
                           "txt IN TXT \"a\\r\" ( \"b\" )\n$INCLUDE inc.zone\n";
    std::string crlf;
    for (const char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
    dir.write("inc.zone", "inc IN A 192.0.2.2\n");
    config::Diagnostics lf_diags, crlf_diags;
    const std::string from_lf = json_text(dir.write("lf.zone", lf), lf_diags);
    const std::string from_crlf = json_text(dir.write("crlf.zone", crlf), crlf_diags);
    INFO(crlf_diags.to_string());
    CHECK(lf_diags.empty());
    CHECK(crlf_diags.empty());
    CHECK(from_crlf == from_lf);
    CHECK(from_lf.find("\"inc\"") != std::string::npos);
  }

  TEST_CASE("a file of errors stops after 100") {
    TempDir dir;
    std::string text = "$ORIGIN example.com.\n";
    for (int i = 0; i < 500; ++i) text += "bad" + std::to_string(i) + " IN A 1.2.3\n";
    const Scanned s = scan(dir.write("z.zone", text));
    REQUIRE(s.diagnostics.size() == 101);
    CHECK(s.diagnostics.items().back().message == "reading stopped after 100 errors");
  }

  TEST_CASE("a file that cannot be opened is one error") {
    config::Diagnostics diags;
    const std::string text = json_text("/nonexistent/zone.file", diags);
    REQUIRE(diags.size() == 1);
    CHECK(diags.items()[0].message.rfind("cannot open file", 0) == 0);
  }
}
