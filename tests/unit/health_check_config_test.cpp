// read_checks: the "checks" section's errors, each at its line:column, in the
// wording of the shared JSON object reader.
#include <doctest/doctest.h>

#include <string>

#include "health/checks/check_config.hpp"

using namespace meridian;

namespace {

// Every diagnostic as "line:column: message", one per line.
std::string check_errors(const std::string& text) {
  const config::JsonSource source = config::JsonSource::parse(text, "meridian.json");
  config::Diagnostics diagnostics;
  health::read_checks(source, diagnostics);
  std::string s;
  for (const auto& d : diagnostics.items())
    s += std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message + "\n";
  return s;
}

}  // namespace

TEST_SUITE("health.check_config") {
  TEST_CASE("wrong values, ranges and unknown keys at their positions") {
    CHECK(check_errors(R"({"checks": {"x": {"type": "http", "port": 70000, "interval": "soon", "colour": "blue", )"
                       R"("rise": 4294967297}}})") ==
          "1:62: \"interval\" must be a duration such as \"10s\" or \"500ms\"\n"
          "1:96: \"rise\" must be an integer from 1 to 100\n"
          "1:43: \"port\" must be an integer from 1 to 65535\n"
          "1:70: unknown key \"colour\" (expected one of: type, interval, timeout, rise, fall, initial, jitter, "
          "hold_down, port, path, host, expect, body)\n");
  }

  TEST_CASE("an unknown type, and unknown keys beside it") {
    CHECK(check_errors(R"({"checks": {"x": {"type": "icmp", "bogus": 1}}})") ==
          "1:27: \"type\" must be \"tcp\" or \"http\"\n"
          "1:35: unknown key \"bogus\" (expected one of: type, interval, timeout, rise, fall, initial, jitter, "
          "hold_down, port, path, host, expect, body)\n");
    CHECK(check_errors(R"({"checks": {"x": {"interval": "1s"}}})") == "1:18: \"type\" must be \"tcp\" or \"http\"\n");
  }

  TEST_CASE("enumerations and hints keep their wording") {
    CHECK(check_errors(R"({"checks": {"x": {"type": "http", "initial": "maybe"}}})") ==
          "1:46: \"initial\" must be \"up\" or \"down\"\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "http", "jitter": 0.9}}})") ==
          "1:45: \"jitter\" is a share of the interval from 0 to 0.5\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "http", "path": "hc"}}})") ==
          "1:43: \"path\" must start with /\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "tcp", "path": "/"}}})") ==
          "1:18: path/expect/body apply to http checks only\n");
  }
}
