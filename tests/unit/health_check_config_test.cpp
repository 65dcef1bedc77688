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
          "hold_down, port, path, host, expect, body, tls, verify, ca, sni, min_version, qname, qtype, expect_rcode, "
          "expect_answer, transport)\n");
  }

  TEST_CASE("an unknown type, and unknown keys beside it") {
    CHECK(check_errors(R"({"checks": {"x": {"type": "icmp", "bogus": 1}}})") ==
          "1:27: \"type\" must be \"tcp\", \"http\", \"https\", \"h2\" or \"dns\"\n"
          "1:35: unknown key \"bogus\" (expected one of: type, interval, timeout, rise, fall, initial, jitter, "
          "hold_down, port, path, host, expect, body, tls, verify, ca, sni, min_version, qname, qtype, expect_rcode, "
          "expect_answer, transport)\n");
    CHECK(check_errors(R"({"checks": {"x": {"interval": "1s"}}})") == "1:18: \"type\" must be \"tcp\", \"http\", \"https\", \"h2\" or \"dns\"\n");
  }

  TEST_CASE("enumerations and hints keep their wording") {
    CHECK(check_errors(R"({"checks": {"x": {"type": "http", "initial": "maybe"}}})") ==
          "1:46: \"initial\" must be \"up\" or \"down\"\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "http", "jitter": 0.9}}})") ==
          "1:45: \"jitter\" is a share of the interval from 0 to 0.5\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "http", "path": "hc"}}})") ==
          "1:43: \"path\" must start with /\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "tcp", "path": "/"}}})") ==
          "1:18: path/expect/body apply to http, https and h2 checks only\n");
  }
}

TEST_SUITE("health.check_config.tls_and_dns") {
  TEST_CASE("https and h2 read the TLS keys; other types refuse them") {
    const config::JsonSource source = config::JsonSource::parse(
        R"({"checks": {"a": {"type": "https", "sni": "www.example.test", "verify": false, "min_version": "1.3"},
                       "b": {"type": "h2", "tls": false, "path": "/h"},
                       "c": {"type": "dns", "qname": "www.example.test", "qtype": "AAAA", "expect_rcode": "NXDOMAIN",
                             "expect_answer": ["192.0.2.1", "2001:DB8::1"], "transport": "tcp"}}})",
        "meridian.json");
    config::Diagnostics diagnostics;
    const health::CheckMap checks = health::read_checks(source, diagnostics);
    CHECK(diagnostics.items().empty());
    REQUIRE(checks.size() == 3);
    const health::CheckConfig& a = checks.at("a");
    CHECK(a.tls);
    CHECK(a.tls_settings.sni == "www.example.test");
    CHECK_FALSE(a.tls_settings.verify);
    CHECK(a.tls_settings.min_version == 0x0304);
    CHECK(health::endpoint_default_port(a) == 443);
    const health::CheckConfig& b = checks.at("b");
    CHECK_FALSE(b.tls);
    CHECK(health::endpoint_default_port(b) == 80);
    const health::CheckConfig& c = checks.at("c");
    CHECK(c.qname == "www.example.test");
    CHECK(c.qtype == 28);
    CHECK(c.expect_rcode == 3);
    CHECK(c.expect_answer == std::vector<std::string>{"192.0.2.1", "2001:db8::1"});
    CHECK(c.dns_tcp);
    CHECK(health::endpoint_default_port(c) == 53);
  }

  TEST_CASE("TLS key errors at their positions") {
    CHECK(check_errors(R"({"checks": {"x": {"type": "http", "sni": "a.test"}}})") == "1:42: \"sni\" applies to https checks and h2 checks over TLS only\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "https", "tls": true}}})") == "1:43: \"tls\" applies to h2 checks only (https always uses TLS)\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "h2", "tls": false, "verify": false}}})") == "1:57: \"verify\" applies to https checks and h2 checks over TLS only\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "https", "verify": false, "ca": "ca.pem"}}})") == "1:59: \"ca\" is used only with \"verify\": true\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "https", "ca": "/nonexistent/ca.pem"}}})") == "1:42: cannot read /nonexistent/ca.pem: No such file or directory\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "https", "sni": ""}}})") == "1:43: \"sni\" is the server name to send and verify\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "h2", "verify": "yes", "min_version": "1.0"}}})") == 
          "1:43: \"verify\" must be true or false\n"
          "1:65: \"min_version\" is \"1.2\" or \"1.3\"\n");
  }

  TEST_CASE("dns key errors at their positions") {
    CHECK(check_errors(R"({"checks": {"x": {"type": "dns"}}})") == "1:18: a dns check needs \"qname\": the name to ask for\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "dns", "qname": "a..b", "qtype": "BOGUS", "expect_rcode": "OK"}}})") ==
          
          "1:43: \"qname\" is a domain name such as \"www.example.com\"\n"
          "1:60: \"qtype\" is a record type such as \"A\" or \"AAAA\"\n"
          "1:85: \"expect_rcode\" is NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP or REFUSED\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "dns", "qname": "a.test", "expect_answer": ["192.0.2.1", "nope", 7], )"
                       R"("transport": "quic"}}})") == 
          "1:84: an expected answer is an IPv4 or IPv6 address\n"
          "1:92: an expected answer is an IPv4 or IPv6 address\n"
          "1:109: \"transport\" is \"udp\" or \"tcp\"\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "tcp", "qname": "a.test", "transport": "tcp"}}})") == 
          "1:43: \"qname\" applies to dns checks only\n"
          "1:66: \"transport\" applies to dns checks only\n");
    CHECK(check_errors(R"({"checks": {"x": {"type": "dns", "qname": "a.test", "path": "/"}}})") == "1:18: path/expect/body apply to http, https and h2 checks only\n");
  }
}
