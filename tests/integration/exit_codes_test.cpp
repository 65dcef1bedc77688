// Exit codes of every command: 0 success, 1 invalid configuration or a failure
// at run time, 2 usage error (a wrong command line). `reload` and `status`,
// which need a running server, are covered in admin_reload_test.cpp.
#include <doctest/doctest.h>

#include "integration/harness/fixtures.hpp"
#include "integration/harness/process.hpp"

using namespace meridian::test;

namespace {

int exit_of(const std::vector<std::string>& args) {
  std::vector<std::string> argv{meridian_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  const CommandResult r = run_command(argv);
  INFO("meridian with " << args.size() << " argument(s); stdout: " << r.out << " stderr: " << r.err);
  CHECK_FALSE(r.timed_out);
  CHECK(r.signal == 0);
  return r.exit_code;
}

// The demo configuration in the source tree: valid, with services (check and
// explain only read it).
std::string demo_config() { return source_path("meridian.json"); }

}  // namespace

TEST_CASE("exit codes: the command line itself") {
  CHECK(exit_of({}) == 2);                   // no subcommand
  CHECK(exit_of({"no-such-command"}) == 2);
  CHECK(exit_of({"--no-such-flag"}) == 2);
  CHECK(exit_of({"--help"}) == 0);
  CHECK(exit_of({"--version"}) == 0);
  CHECK(exit_of({"zone"}) == 2);             // zone needs a subcommand
  CHECK(exit_of({"geodata"}) == 2);
  CHECK(exit_of({"serve", "--help"}) == 0);
}

TEST_CASE("exit codes: check") {
  TempDir dir;
  CHECK(exit_of({"check", "--config", demo_config()}) == 0);
  CHECK(exit_of({"check", "--config", dir.file("missing.json")}) == 1);
  const std::string broken = dir.write("broken.json", "{\"dns\": {\"listen\": [\"127.0.0.1:0\"]}, \"zones\": \"zones/\", \"bogus\": 1}\n");
  CHECK(exit_of({"check", "--config", broken}) == 1);
  const std::string syntax = dir.write("syntax.json", "{\"dns\": \n");
  CHECK(exit_of({"check", "--config", syntax}) == 1);
  CHECK(exit_of({"check", "--config"}) == 2);       // option without its value
  CHECK(exit_of({"check", "--bogus"}) == 2);
  CHECK(exit_of({"check", "extra-argument"}) == 2);
}

TEST_CASE("exit codes: serve") {
  TempDir dir;
  // Before: a missing file was rejected by the command line parser with 105.
  CHECK(exit_of({"serve", "--config", dir.file("missing.json")}) == 1);
  const std::string broken = dir.write("broken.json", "{\"dns\": {\"listen\": []}, \"zones\": \"zones/\"}\n");
  CHECK(exit_of({"serve", "--config", broken}) == 1);
  CHECK(exit_of({"serve", "--bogus"}) == 2);
  CHECK(exit_of({"serve", "--config"}) == 2);

  // A listener that cannot bind is a failure at run time.
  ServerOptions options;
  options.big_zone = false;
  TestServer first(options);
  REQUIRE_MESSAGE(first.started(), first.error());
  const std::string taken = first.dir().write(
      "taken.json", "{\"dns\": {\"listen\": [\"127.0.0.1:" + std::to_string(first.ep().port) + "\"]}, \"zones\": \"zones/\"}\n");
  CHECK(exit_of({"serve", "--config", taken}) == 1);
  CHECK(first.stop() == 0);  // SIGTERM: an orderly stop is a success
}

TEST_CASE("exit codes: zone import") {
  TempDir dir;
  const std::string zone = dir.write("example.zone",
                                     "$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\n@ IN NS ns1\nns1 IN A 192.0.2.1\n");
  CHECK(exit_of({"zone", "import", zone, "--origin", "example.test."}) == 0);
  CHECK(exit_of({"zone", "import", dir.file("missing.zone"), "--origin", "example.test."}) == 1);
  const std::string bad = dir.write("bad.zone", "@ IN SOA ns1 hostmaster 1 7200 900 1209600 300\nns1 IN A 192.0.2.300\n");
  CHECK(exit_of({"zone", "import", bad, "--origin", "example.test."}) == 1);
  CHECK(exit_of({"zone", "import", zone}) == 2);     // --origin is required
  CHECK(exit_of({"zone", "import", "--origin", "example.test."}) == 2);  // the file is required
  CHECK(exit_of({"zone", "no-such-tool"}) == 2);
}

TEST_CASE("exit codes: explain") {
  TempDir dir;
  CHECK(exit_of({"explain", "app.example.com", "A", "--client", "127.0.0.1", "--config", demo_config()}) == 0);
  CHECK(exit_of({"explain", "nothing-here.example.org", "--client", "127.0.0.1", "--config", demo_config()}) == 1);
  CHECK(exit_of({"explain", "app.example.com", "--client", "127.0.0.1", "--config", dir.file("missing.json")}) == 1);
  CHECK(exit_of({"explain", "app.example.com", "--config", demo_config()}) == 2);  // --client is required
  CHECK(exit_of({"explain", "app.example.com", "MX", "--client", "127.0.0.1", "--config", demo_config()}) == 2);
  CHECK(exit_of({"explain", "app.example.com", "--client", "not-an-address", "--config", demo_config()}) == 2);
}

TEST_CASE("exit codes: geodata build") {
  TempDir dir;
  const std::string header = "network,continent,country,subdivision,city,latitude,longitude\n";
  const std::string csv = dir.write("map.csv", header + "192.0.2.0/24,EU,IE,,Dublin,53.35,-6.26\n");
  CHECK(exit_of({"geodata", "build", csv, "-o", dir.file("map.mmdb"), "--epoch", "1700000000"}) == 0);
  // Before: a missing file was rejected by the command line parser with 105.
  CHECK(exit_of({"geodata", "build", dir.file("missing.csv"), "-o", dir.file("x.mmdb"), "--epoch", "1700000000"}) == 1);
  const std::string bad = dir.write("bad.csv", header + "not-a-network,EU,IE,,Dublin,53.35,-6.26\n");
  CHECK(exit_of({"geodata", "build", bad, "-o", dir.file("bad.mmdb"), "--epoch", "1700000000"}) == 1);
  CHECK(exit_of({"geodata", "build", csv}) == 2);  // -o is required
  CHECK(exit_of({"geodata", "build", csv, "-o", dir.file("y.mmdb"), "--epoch", "not-a-number"}) == 2);
}
