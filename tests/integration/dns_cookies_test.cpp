// DNS Cookies against the real binary, with dig and kdig as the clients: a client
// that echoes its server cookie is recognised, `require` answers BADCOOKIE over UDP
// (both tools then retry with the cookie) and answers over TCP, a rotated secret
// is still accepted until it is dropped from the secret file, malformed COOKIE
// options are FORMERR, and the metrics, /status and log say what happened.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>

#include "integration/harness/dig.hpp"
#include "integration/support_backends/meridian_fixture.hpp"
#include "integration/support_backends/prometheus_text.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

const char* const kSecretA = "e5e973e5a6b2a43f48e7dc849e37bfcf";
const char* const kSecretB = "445536bcd2513298075a5d379663c962";
constexpr uint16_t kCookieOption = 10;

json cookie_zone() {
  return zone_json("example.test.", 1,
                   json{{"@", {{"NS", json::array({"ns1"})}}}, {"ns1", {{"A", "192.0.2.1"}}}, {"www", {{"A", "192.0.2.80"}}}});
}

// Starts meridian with these dns.cookies settings; `secret` (when given) is written
// to cookie.secret with the given mode first.
void start(Meridian& m, const json& cookies, const std::string& secret = "", mode_t mode = 0600) {
  if (!secret.empty()) {
    const std::string path = m.dir.write("cookie.secret", secret);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
  }
  const json config{{"dns", {{"listen", json::array({"127.0.0.1:0"})}, {"threads", 1}, {"cookies", cookies}}},
                    {"zones", "zones/"},
                    {"admin", {{"listen", "127.0.0.1:0"}}}};
  REQUIRE_MESSAGE(m.start(config, {{"example.test.json", cookie_zone()}}), m.error);
}

// The COOKIE a reply carried as dig ("; COOKIE: hex (good)") or kdig (";; COOKIE: HEX")
// print it, lower-cased; empty when there is none.
std::string printed_cookie(const DigResult& d) {
  const auto at = d.output.find("; COOKIE: ");
  if (at == std::string::npos) return "";
  std::string hex = d.output.substr(at + 10, d.output.find_first_of(" \n", at + 10) - at - 10);
  std::transform(hex.begin(), hex.end(), hex.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return hex;
}

std::string bytes_of_hex(const std::string& hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

double metric(const Meridian& m, const std::string& name, const std::map<std::string, std::string>& labels) {
  return prom::parse(m.metrics()).value(name, labels).value_or(-1);
}

DigResult dig_www(const Meridian& m, std::vector<std::string> options) {
  options.insert(options.end(), {"www.example.test", "A"});
  return dig(m.dns, options);
}

}  // namespace

TEST_CASE("dig and kdig learn a server cookie; a client that echoes it is recognised") {
  Meridian m;
  start(m, json::object());  // enabled by default, a random secret
  CHECK(m.log_count("event=dns_cookies enabled=true require=false secret=\"random") == 1);

  const DigResult first = dig_www(m, {"+cookie"});
  INFO(first.output);
  REQUIRE(first.status == "NOERROR");
  CHECK(first.answer.size() == 1);
  const std::string cookie = printed_cookie(first);
  REQUIRE(cookie.size() == 48);  // 8 bytes of client cookie, 16 of server cookie
  CHECK(cookie.substr(16, 8) == "01000000");  // RFC 9018: version 1, reserved zero
  CHECK(first.output.find("(good)") != std::string::npos);  // dig: its client cookie came back

  // Sent back, a valid server cookie younger than half an hour is echoed unchanged.
  const DigResult echoed = dig_www(m, {"+cookie=" + cookie});
  INFO(echoed.output);
  CHECK(echoed.status == "NOERROR");
  CHECK(printed_cookie(echoed) == cookie);
  const DigResult kdig_echoed = kdig(m.dns, {"+cookie=" + cookie, "www.example.test", "A"});
  INFO(kdig_echoed.output);
  CHECK(kdig_echoed.status == "NOERROR");
  CHECK(printed_cookie(kdig_echoed) == cookie);

  // A forged one (the hash's last byte changed) is replaced, and the query still answered.
  std::string forged = cookie;
  forged.back() = forged.back() == '0' ? '1' : '0';
  const DigResult replaced = dig_www(m, {"+cookie=" + forged});
  INFO(replaced.output);
  CHECK(replaced.status == "NOERROR");
  CHECK(replaced.answer.size() == 1);
  CHECK(printed_cookie(replaced).substr(0, 16) == cookie.substr(0, 16));
  CHECK(printed_cookie(replaced) != forged);

  // Without a COOKIE option (kdig's default), no cookie comes back.
  const DigResult plain = kdig(m.dns, {"www.example.test", "A"});
  CHECK(plain.status == "NOERROR");
  CHECK(printed_cookie(plain).empty());

  CHECK(metric(m, "meridian_dns_cookies_total", {{"cookie", "client_only"}}) == 1);
  CHECK(metric(m, "meridian_dns_cookies_total", {{"cookie", "valid"}}) == 2);
  CHECK(metric(m, "meridian_dns_cookies_total", {{"cookie", "invalid"}}) == 1);
  const json status = m.status();
  CHECK(status["cookies"] == json{{"enabled", true}, {"require", false}, {"secret", "random"}, {"previous_secret", false}});
  CHECK(m.log_clean());
}

TEST_CASE("require: BADCOOKIE over UDP without a valid server cookie, answers over TCP and without cookies") {
  Meridian m;
  start(m, {{"secret_file", "cookie.secret"}, {"require", true}}, std::string(kSecretA) + "\n", 0644);
  // A secret every user can read is served, with a warning.
  CHECK(m.log_count("readable by every user") == 1);

  const DigResult bad = dig_www(m, {"+cookie", "+nobadcookie"});
  INFO(bad.output);
  CHECK(bad.status == "BADCOOKIE");
  CHECK(bad.answer.empty());
  const std::string cookie = printed_cookie(bad);
  CHECK(cookie.size() == 48);

  // With the cookie of the BADCOOKIE reply the query is answered.
  const DigResult good = dig_www(m, {"+cookie=" + cookie, "+nobadcookie"});
  INFO(good.output);
  CHECK(good.status == "NOERROR");
  CHECK(good.answer.size() == 1);
  // Both tools retry on BADCOOKIE with the cookie they were given.
  const DigResult retried = dig_www(m, {"+cookie"});
  INFO(retried.output);
  CHECK(retried.output.find("BADCOOKIE, retrying") != std::string::npos);
  CHECK(retried.status == "NOERROR");
  CHECK(retried.answer.size() == 1);
  const DigResult kdig_retried = kdig(m.dns, {"+cookie", "www.example.test", "A"});
  INFO(kdig_retried.output);
  CHECK(kdig_retried.output.find("status: BADCOOKIE") != std::string::npos);
  CHECK(kdig_retried.status == "NOERROR");  // the last reply printed, after the retry
  CHECK(kdig_retried.answer.size() == 1);

  // TCP proves the address: answered with a client cookie alone.
  const DigResult tcp = dig_www(m, {"+tcp", "+cookie", "+nobadcookie"});
  INFO(tcp.output);
  CHECK(tcp.status == "NOERROR");
  CHECK(tcp.answer.size() == 1);
  CHECK(printed_cookie(tcp).size() == 48);
  // Clients without cookies are answered as before.
  const DigResult no_cookie = dig_www(m, {"+nocookie"});
  CHECK(no_cookie.status == "NOERROR");
  CHECK(no_cookie.answer.size() == 1);
  const DigResult no_edns = dig_www(m, {"+noedns"});
  CHECK(no_edns.status == "NOERROR");
  CHECK(no_edns.answer.size() == 1);

  CHECK(metric(m, "meridian_dns_responses_total", {{"rcode", "BADCOOKIE"}}) == 3);
  CHECK(m.status()["cookies"]["require"] == true);
  CHECK(m.status()["cookies"]["secret"] == "file");
  CHECK(m.log_clean());
}

TEST_CASE("a rotated secret is accepted until the secret file drops it; a malformed file keeps the secrets") {
  Meridian m;
  start(m, {{"secret_file", "cookie.secret"}, {"require", true}}, std::string(kSecretA) + "\n");
  REQUIRE(m.wait_log("event=dns_cookies", 1));
  const std::string made_with_a = printed_cookie(dig_www(m, {"+cookie", "+nobadcookie"}));
  REQUIRE(made_with_a.size() == 48);
  REQUIRE(dig_www(m, {"+cookie=" + made_with_a, "+nobadcookie"}).status == "NOERROR");

  // Rotation: B makes the cookies now, A is still accepted.
  write_atomic(m.dir.file("cookie.secret"), std::string(kSecretB) + "\n" + kSecretA + "\n");
  REQUIRE(m.wait_log("event=dns_cookies", 2));
  REQUIRE(m.wait_log("previous_secret=accepted", 1));
  const DigResult during = dig_www(m, {"+cookie=" + made_with_a, "+nobadcookie"});
  INFO(during.output);
  CHECK(during.status == "NOERROR");
  CHECK(during.answer.size() == 1);
  const std::string made_with_b = printed_cookie(during);
  CHECK(made_with_b != made_with_a);  // renewed with the new secret
  CHECK(m.status()["cookies"]["previous_secret"] == true);

  // A malformed file is rejected; the secrets in force stay.
  write_atomic(m.dir.file("cookie.secret"), "not-a-secret\n");
  REQUIRE(m.wait_log("event=reload_rejected", 1));
  CHECK(m.log_count("cookie.secret:1:1: 'n' is not a hex digit") >= 1);
  CHECK(dig_www(m, {"+cookie=" + made_with_a, "+nobadcookie"}).status == "NOERROR");

  // A dropped: its cookies are refused, B's keep working.
  write_atomic(m.dir.file("cookie.secret"), std::string(kSecretB) + "\n");
  REQUIRE(m.wait_log("event=dns_cookies", 3));
  const DigResult after = dig_www(m, {"+cookie=" + made_with_a, "+nobadcookie"});
  INFO(after.output);
  CHECK(after.status == "BADCOOKIE");
  CHECK(dig_www(m, {"+cookie=" + made_with_b, "+nobadcookie"}).status == "NOERROR");
  CHECK(m.status()["cookies"]["previous_secret"] == false);
  CHECK(m.log_clean());
}

TEST_CASE("malformed COOKIE option lengths are FORMERR; a request for a cookie alone is answered") {
  Meridian m;
  start(m, {{"secret_file", "cookie.secret"}}, std::string(kSecretA) + "\n");
  for (std::size_t length : {1, 7, 9, 15, 41}) {
    QuerySpec q("www.example.test");
    q.edns = Edns{};
    q.edns->options = {{kCookieOption, std::string(length, 'c')}};
    const Message r = ask_udp(m.dns, q);
    INFO("length " << length << "\n" << r.describe());
    REQUIRE(r.ok);
    CHECK(r.rcode == 1);  // FORMERR
    CHECK(r.has_opt);
    CHECK(r.answer.empty());
  }
  // 16 bytes: a client cookie and an 8-byte server cookie not ours, answered with ours.
  QuerySpec q("www.example.test");
  q.edns = Edns{};
  q.edns->options = {{kCookieOption, std::string(16, 'c')}};
  const Message r = ask_udp(m.dns, q);
  REQUIRE(r.ok);
  CHECK(r.rcode == 0);
  CHECK(r.answer.size() == 1);
  REQUIRE(r.option(kCookieOption).has_value());
  CHECK(r.option(kCookieOption)->size() == 24);
  CHECK(r.option(kCookieOption)->substr(0, 8) == std::string(8, 'c'));

  // dig +header-only: no question, a client cookie (RFC 7873 5.4).
  const DigResult header_only = dig(m.dns, {"+cookie", "+header-only"});
  INFO(header_only.output);
  CHECK(header_only.status == "NOERROR");
  CHECK(printed_cookie(header_only).size() == 48);
  CHECK(header_only.output.find("QUERY: 0, ANSWER: 0") != std::string::npos);
  // The server cookie verifies: sent back over TCP it is echoed unchanged.
  QuerySpec again("www.example.test");
  again.edns = Edns{};
  again.edns->options = {{kCookieOption, bytes_of_hex(printed_cookie(header_only))}};
  const Message echoed = ask_tcp(m.dns, again);
  REQUIRE(echoed.ok);
  CHECK(echoed.option(kCookieOption) == bytes_of_hex(printed_cookie(header_only)));
  CHECK(metric(m, "meridian_dns_responses_total", {{"rcode", "FORMERR"}}) == 5);
  CHECK(m.log_clean());
}
