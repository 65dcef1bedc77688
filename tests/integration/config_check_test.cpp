// `meridian check`: a good configuration passes; errors in zone files and in
// meridian.json are printed as file:line:column: message and the exit code is
// non-zero. `serve` starts without a zone that does not load, and refuses to
// start with a broken meridian.json.
#include <doctest/doctest.h>

#include <sstream>

#include "integration/harness/dns_client.hpp"
#include "integration/harness/fixtures.hpp"
#include "integration/harness/process.hpp"

using namespace meridian::test;

namespace {

// 1-based line:column of the first occurrence of needle in text.
std::string position_of(const std::string& text, const std::string& needle) {
  const auto at = text.find(needle);
  REQUIRE_MESSAGE(at != std::string::npos, needle);
  REQUIRE_MESSAGE(text.find(needle, at + 1) == std::string::npos, "needle not unique: " << needle);
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < at; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

// The diagnostic line for file at line:column, or "" when there is none.
std::string find_diagnostic(const std::string& output, const std::string& file, const std::string& position) {
  const std::string prefix = file + ":" + position + ": ";
  for (const auto& line : lines_of(output))
    if (line.rfind(prefix, 0) == 0) return line;
  return "";
}

const char* const kBadZone = R"({
  "origin": "bad.test.",
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1,
          "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 300},
  "records": {
    "@":   {"NS": "ns1"},
    "ns1": {"A": "192.0.2.300"},
    "ns2": {"AAAA": "2001:db8::2", "BOGUS": "1"},
    "mx":  {"MX": ["10 mail", "not-a-number mail"]},
    "ttl": {"A": {"ttl": -5, "data": "192.0.2.1"}},
    "cn":  {"CNAME": "app", "A": "192.0.2.9"},
    "big": {"MX": "65536 mail"}
  },
  "extra": true
}
)";

}  // namespace

TEST_CASE("check: a good configuration exits 0") {
  TempDir dir;
  dir.write("zones/example.com.json", read_file(source_path("tests/data/dns/example.com.json")));
  dir.write("zones/example.net.json", read_file(source_path("tests/data/dns/example.net.json")));
  dir.write("zones/big.test.json", big_zone_json());
  const std::string config = dir.write("meridian.json", server_config("zones/", R"("nsid": "x", "tcp": {"idle_timeout": "5s"})"));
  const CommandResult r = run_command({meridian_binary(), "check", "--config", config});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out.find(": OK") != std::string::npos);
  CHECK(r.out.find("3 zones") != std::string::npos);
  CHECK(r.err.empty());
}

TEST_CASE("check: zone errors as file:line:column: message, exit non-zero") {
  TempDir dir;
  const std::string zone = dir.write("zones/bad.test.json", kBadZone);
  const std::string config = dir.write("meridian.json", server_config("zones/"));
  const CommandResult r = run_command({meridian_binary(), "check", "--config", config});
  const std::string out = r.out + r.err;
  INFO(out);
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code != -1);  // an orderly exit, not a crash

  // Positions computed from the text, and one spelled out to keep the helper honest.
  CHECK(position_of(kBadZone, "\"192.0.2.300\"") == "7:18");
  CHECK(position_of(kBadZone, "\"BOGUS\"") == "8:36");

  const std::string bad_a = find_diagnostic(out, zone, "7:18");
  CHECK_MESSAGE(!bad_a.empty(), "bad A rdata at 7:18");
  CHECK(bad_a.find("192.0.2.300") != std::string::npos);

  const std::string bogus = find_diagnostic(out, zone, "8:36");
  CHECK_MESSAGE(!bogus.empty(), "unknown type at 8:36");
  CHECK(bogus.find("BOGUS") != std::string::npos);

  const std::string bad_mx = find_diagnostic(out, zone, position_of(kBadZone, "\"not-a-number mail\""));
  CHECK_MESSAGE(!bad_mx.empty(), "bad MX rdata (second array element)");

  const std::string bad_ttl = find_diagnostic(out, zone, position_of(kBadZone, "-5"));
  CHECK_MESSAGE(!bad_ttl.empty(), "negative TTL");
  CHECK(bad_ttl.find("TTL") != std::string::npos);

  const std::string cname = find_diagnostic(out, zone, position_of(kBadZone, "\"cn\""));
  CHECK_MESSAGE(!cname.empty(), "CNAME and other data");
  CHECK(cname.find("CNAME") != std::string::npos);

  const std::string range = find_diagnostic(out, zone, position_of(kBadZone, "\"65536 mail\""));
  CHECK_MESSAGE(!range.empty(), "MX preference out of 16-bit range");
  CHECK(range.find("65536") != std::string::npos);

  const std::string extra = find_diagnostic(out, zone, position_of(kBadZone, "\"extra\""));
  CHECK_MESSAGE(!extra.empty(), "unknown top-level key");
  CHECK(extra.find("extra") != std::string::npos);

  // Nothing but diagnostics and the summary.
  for (const auto& line : lines_of(r.err)) {
    const bool diagnostic = line.rfind(zone + ":", 0) == 0;
    const bool summary = line.rfind(config + ":", 0) == 0;
    CHECK_MESSAGE((diagnostic || summary), line);
  }
}

TEST_CASE("check: unknown keys and bad values in meridian.json") {
  TempDir dir;
  dir.write("zones/example.com.json", read_file(source_path("tests/data/dns/example.com.json")));
  const std::string text = R"({
  "dns": {"listen": ["127.0.0.1:0"],
          "bogus": 1,
          "max_udp_payload": 100,
          "tcp": {"idle_timeout": "soon"}},
  "zones": "zones/"
}
)";
  const std::string config = dir.write("meridian.json", text);
  const CommandResult r = run_command({meridian_binary(), "check", "--config", config});
  const std::string out = r.out + r.err;
  INFO(out);
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code != -1);
  const std::string bogus = find_diagnostic(out, config, position_of(text, "\"bogus\""));
  CHECK_MESSAGE(!bogus.empty(), "unknown key at " << position_of(text, "\"bogus\""));
  CHECK(bogus.find("bogus") != std::string::npos);
  CHECK_MESSAGE(!find_diagnostic(out, config, position_of(text, "100")).empty(), "max_udp_payload out of range");
  CHECK_MESSAGE(!find_diagnostic(out, config, position_of(text, "\"soon\"")).empty(), "bad duration");
}

TEST_CASE("check: invalid JSON names the line") {
  TempDir dir;
  const std::string text = "{\n  \"origin\": \"broken.test.\",\n  \"ttl\": 300\n  \"records\": {}\n}\n";
  const std::string zone = dir.write("zones/broken.test.json", text);
  const std::string config = dir.write("meridian.json", server_config("zones/"));
  const CommandResult r = run_command({meridian_binary(), "check", "--config", config});
  const std::string out = r.out + r.err;
  INFO(out);
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code != -1);
  bool found = false;
  for (const auto& line : lines_of(out))
    if (line.rfind(zone + ":4:", 0) == 0 && line.find("invalid JSON") != std::string::npos) found = true;
  CHECK_MESSAGE(found, "expected " << zone << ":4:<column>: invalid JSON ...");
}

TEST_CASE("check: a missing zone folder and a missing config file") {
  TempDir dir;
  const std::string config = dir.write("meridian.json", server_config("nowhere/"));
  const CommandResult r = run_command({meridian_binary(), "check", "--config", config});
  INFO(r.out << r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code != -1);
  CHECK((r.out + r.err).find("nowhere") != std::string::npos);
  const CommandResult missing = run_command({meridian_binary(), "check", "--config", dir.file("absent.json")});
  INFO(missing.out << missing.err);
  CHECK(missing.exit_code != 0);
  CHECK(missing.exit_code != -1);
}

TEST_CASE("check: one bad zone among good ones exits 1 with every error and a line per zone") {
  TempDir dir;
  dir.write("zones/example.com.json", read_file(source_path("tests/data/dns/example.com.json")));
  const std::string zone = dir.write("zones/bad.test.json", kBadZone);
  dir.write("zones/example.net.json", read_file(source_path("tests/data/dns/example.net.json")));
  const std::string config = dir.write("meridian.json", server_config("zones/"));
  const CommandResult r = run_command({meridian_binary(), "check", "--config", config});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_FALSE(find_diagnostic(r.err, zone, "7:18").empty());
  CHECK_FALSE(find_diagnostic(r.err, zone, position_of(kBadZone, "\"extra\"")).empty());
  const auto out = lines_of(r.out);
  REQUIRE(out.size() == 3);  // one per zone file, in file order
  CHECK(out[0].rfind("zone bad.test. error file=" + zone + " errors=", 0) == 0);
  // The first error as listed on stderr, by its position.
  const std::string first = lines_of(r.err).front();
  REQUIRE(first.rfind(zone + ":", 0) == 0);
  const std::string at = first.substr(0, first.find(": "));
  CHECK(out[0].size() > at.size());
  CHECK(out[0].substr(out[0].size() - at.size() - 7) == " first=" + at);
  CHECK(out[1].rfind("zone example.com. loaded file=", 0) == 0);
  CHECK(out[1].find(" serial=2026112701") != std::string::npos);
  CHECK(out[2].rfind("zone example.net. loaded file=", 0) == 0);
  CHECK(r.err.find(config + ": ") != std::string::npos);
  CHECK(r.err.find("in 1 of 3 zone file(s)") != std::string::npos);
}

// Knot and NSD start with the zones that load; so does meridian (the bad zone
// is answered SERVFAIL, as by Knot). A broken meridian.json still stops the start.
TEST_CASE("serve starts without a bad zone and says why; a broken meridian.json stops it") {
  TempDir dir;
  const std::string zone = dir.write("zones/bad.test.json", kBadZone);
  dir.write("zones/example.com.json", read_file(source_path("tests/data/dns/example.com.json")));
  const std::string config = dir.write("meridian.json", server_config("zones/"));
  {
    ServerProcess p;
    REQUIRE_MESSAGE(p.start(config), p.error());
    const std::string log = p.log();
    INFO(log);
    CHECK(log.find("event=zone_error zone=bad.test. file=" + zone + " error=\"" + zone + ":7:18: ") != std::string::npos);
    CHECK(log.find("event=zone_not_loaded zone=bad.test.") != std::string::npos);
    CHECK(log.find("event=ready zones=1 ") != std::string::npos);
    CHECK(ask_udp(p.v4(), QuerySpec{"ns1.bad.test", qtype::A}).rcode == rcode::SERVFAIL);
    CHECK(ask_udp(p.v4(), QuerySpec{"example.com", qtype::SOA}).rcode == rcode::NOERROR);
    CHECK(p.stop() == 0);
  }
  const std::string broken = dir.write("meridian.json", "{\"dns\": {\"listen\": [\"127.0.0.1:0\"]},\n \"zones\": \"zones/\",\n}\n");
  ServerProcess p;
  CHECK_FALSE(p.start(broken));
  CHECK(p.stop() == 1);
  INFO(p.log());
  CHECK(p.log().find(broken + ":3:") != std::string::npos);
  CHECK(p.log().find("event=start_failed") != std::string::npos);
}

TEST_CASE("--version") {
  const CommandResult r = run_command({meridian_binary(), "--version"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("meridian ") == 0);
  // The allocator serving malloc, checked by the binary itself (a block from malloc in mimalloc's heap).
#ifdef MERIDIAN_EXPECT_MIMALLOC
  CHECK(r.out.find("(allocator: mimalloc 2.") != std::string::npos);
#else
  CHECK(r.out.find("(allocator: system malloc)") != std::string::npos);
#endif
}
