// DNS Cookies: SipHash-2-4 against the reference implementation's vectors, the
// server cookie against RFC 9018 Appendix A, the lifetime and renewal windows
// with a fixed clock, secret rotation, the secret file, and the COOKIE option
// through the parser and the responder (RFC 7873 5.2, 5.4).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <string>

#include "cookies/cookie_policy.hpp"
#include "cookies/secret_file.hpp"
#include "cookies/server_cookie.hpp"
#include "cookies/siphash.hpp"
#include "dns/query.hpp"
#include "unit/support/temp_dir.hpp"
#include "unit/support/zone_fixture.hpp"

using namespace meridian;
using namespace meridian::test;
using cookies::CookieState;
using cookies::Verdict;

namespace {

Bytes from_hex(std::string_view text) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < text.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string to_hex(const uint8_t* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < n; ++i) {
    s += digits[p[i] >> 4];
    s += digits[p[i] & 15];
  }
  return s;
}

cookies::Secret secret_of(std::string_view hex) {
  cookies::Secret s;
  const Bytes b = from_hex(hex);  // also used for constants: no REQUIRE outside a test
  std::copy(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(b.size(), 16)), s.bytes);
  return s;
}

util::IpAddress address(std::string_view text) {
  const auto a = util::IpAddress::parse(text);
  REQUIRE(a.has_value());
  return *a;
}

// The reply's COOKIE option data for a query's option `query_hex` (RFC 9018 form).
struct Answered {
  CookieState state;
  std::string reply;
};
Answered answer(const cookies::Secrets& secrets, std::string_view query_hex, const util::IpAddress& client, uint32_t now) {
  Bytes option = from_hex(query_hex);
  uint8_t buffer[cookies::kMaxOptionSize] = {};
  std::copy(option.begin(), option.end(), buffer);
  uint8_t length = static_cast<uint8_t>(option.size());
  const CookieState state = cookies::answer_cookie(secrets, buffer, length, client, now);
  return {state, to_hex(buffer, length)};
}

const char* const kSecretA = "e5e973e5a6b2a43f48e7dc849e37bfcf";  // RFC 9018 A.1-A.3
const char* const kOldSecret = "dd3bdf9344b678b185a6f5cb60fca715";  // RFC 9018 A.4
const char* const kNewSecret = "445536bcd2513298075a5d379663c962";

}  // namespace

TEST_SUITE("cookies.siphash") {
  TEST_CASE("SipHash-2-4: the reference implementation's 64 vectors (key 00..0f, message 00..len-1)") {
    static const char* const kExpected[64] = {
    "310e0edd47db6f72", "fd67dc93c539f874", "5a4fa9d909806c0d", "2d7efbd796666785",
    "b7877127e09427cf", "8da699cd64557618", "cee3fe586e46c9cb", "37d1018bf50002ab",
    "6224939a79f5f593", "b0e4a90bdf82009e", "f3b9dd94c5bb5d7a", "a7ad6b22462fb3f4",
    "fbe50e86bc8f1e75", "903d84c02756ea14", "eef27a8e90ca23f7", "e545be4961ca29a1",
    "db9bc2577fcc2a3f", "9447be2cf5e99a69", "9cd38d96f0b3c14b", "bd6179a71dc96dbb",
    "98eea21af25cd6be", "c7673b2eb0cbf2d0", "883ea3e395675393", "c8ce5ccd8c030ca8",
    "94af49f6c650adb8", "eab8858ade92e1bc", "f315bb5bb835d817", "adcf6b0763612e2f",
    "a5c91da7acaa4dde", "716595876650a2a6", "28ef495c53a387ad", "42c341d8fa92d832",
    "ce7cf2722f512771", "e37859f94623f3a7", "381205bb1ab0e012", "ae97a10fd434e015",
    "b4a31508beff4d31", "81396229f0907902", "4d0cf49ee5d4dcca", "5c73336a76d8bf9a",
    "d0a704536ba93e0e", "925958fcd6420cad", "a915c29bc8067318", "952b79f3bc0aa6d4",
    "f21df2e41d4535f9", "87577519048f53a9", "10a56cf5dfcd9adb", "eb75095ccd986cd0",
    "51a9cb9ecba312e6", "96afadfc2ce666c7", "72fe52975a4364ee", "5a1645b276d592a1",
    "b274cb8ebf87870a", "6f9bb4203de7b381", "eaecb2a30b22a87f", "9924a43cc1315724",
    "bd838d3aafbf8db7", "0b1a2a3265d51aea", "135079a3231ce660", "932b2846e4d70666",
    "e1915f5cb1eca46c", "f325965ca16d629f", "575ff28e60381be5", "724506eb4c328a95",
    };
    uint8_t key[16];
    uint8_t message[64];
    for (int i = 0; i < 16; ++i) key[i] = static_cast<uint8_t>(i);
    for (int i = 0; i < 64; ++i) message[i] = static_cast<uint8_t>(i);
    for (std::size_t len = 0; len < 64; ++len) {
      const uint64_t h = cookies::siphash24(key, message, len);
      uint8_t out[8];
      for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(h >> (8 * i));
      INFO("length " << len);
      CHECK(to_hex(out, 8) == kExpected[len]);
    }
    // The paper's Appendix A example: 15 bytes, 0xa129ca6149be45e5.
    CHECK(cookies::siphash24(key, message, 15) == 0xa129ca6149be45e5ULL);
  }
}

TEST_SUITE("cookies.rfc9018") {
  const cookies::Secrets kA{secret_of(kSecretA), {}, false};

  TEST_CASE("A.1: learning a new server cookie (IPv4)") {
    const Answered a = answer(kA, "2464c4abcf10c957", address("198.51.100.100"), 1559731985);
    CHECK(a.state == CookieState::client_only);
    CHECK(a.reply == "2464c4abcf10c957010000005cf79f111f8130c3eee29480");
  }

  TEST_CASE("A.2: the same client learning a renewed server cookie 40 minutes later") {
    const Answered a =
        answer(kA, "2464c4abcf10c957010000005cf79f111f8130c3eee29480", address("198.51.100.100"), 1559734385);
    CHECK(a.state == CookieState::valid);  // still valid, but older than half an hour: renewed
    CHECK(a.reply == "2464c4abcf10c957010000005cf7a871d4a564a1442aca77");
  }

  TEST_CASE("A.3: another client, whose cookie another server of the anycast set made (reserved bytes set)") {
    const Bytes c = from_hex("fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5");
    const auto client = address("203.0.113.203");
    // The hash covers the reserved bytes as received; the cookie was made at 1559727985.
    CHECK(cookies::check_server_cookie(kA, c.data(), c.data() + 8, 16, client, 1559727985 + 60) == Verdict::valid);
    // The RFC answers it at 1559734700, 1h52m later: past the hour this server grants, so
    // the cookie is not valid any more, and the reply carries the fresh cookie of the example.
    const Answered a = answer(kA, "fc93fc62807ddb8601abcdef5cf78f71a314227b6679ebf5", client, 1559734700);
    CHECK(a.state == CookieState::invalid);
    CHECK(a.reply == "fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e");
  }

  TEST_CASE("A.4: IPv6 query with a rolled-over secret") {
    const Bytes c = from_hex("22681ab97d52c298010000005cf7c57926556bd0934c72f8");
    const auto client = address("2001:db8:220:1:59de:d0f4:8769:82b8");
    const cookies::Secrets only_new{secret_of(kNewSecret), {}, false};
    const cookies::Secrets rolled{secret_of(kNewSecret), secret_of(kOldSecret), true};
    CHECK(cookies::check_server_cookie(only_new, c.data(), c.data() + 8, 16, client, 1559741961) == Verdict::invalid);
    // Made with the previous secret: accepted, and replaced by one made with the new secret.
    CHECK(cookies::check_server_cookie(rolled, c.data(), c.data() + 8, 16, client, 1559741961) == Verdict::valid_renew);
    const Answered a = answer(rolled, "22681ab97d52c298010000005cf7c57926556bd0934c72f8", client, 1559741961);
    CHECK(a.state == CookieState::valid);
    CHECK(a.reply == "22681ab97d52c298010000005cf7c609a6bb79d16625507a");
    CHECK(answer(only_new, "22681ab97d52c298010000005cf7c57926556bd0934c72f8", client, 1559741961).state ==
          CookieState::invalid);
  }
}

TEST_SUITE("cookies.windows") {
  const cookies::Secrets kSecrets{secret_of(kSecretA), {}, false};
  const uint8_t kClient[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const uint32_t kMade = 1'700'000'000;

  Verdict at(const uint8_t* server, uint32_t now, const util::IpAddress& client = address("192.0.2.7")) {
    return cookies::check_server_cookie(kSecrets, kClient, server, 16, client, now);
  }

  TEST_CASE("valid for an hour, renewed after half an hour, up to five minutes from the future") {
    uint8_t server[16];
    cookies::make_server_cookie(kSecrets.current, kClient, address("192.0.2.7"), kMade, server);
    CHECK(to_hex(server, 8) == "01000000" + to_hex(server + 4, 4));
    CHECK(at(server, kMade) == Verdict::valid);
    CHECK(at(server, kMade + 1800) == Verdict::valid);
    CHECK(at(server, kMade + 1801) == Verdict::valid_renew);
    CHECK(at(server, kMade + 3600) == Verdict::valid_renew);
    CHECK(at(server, kMade + 3601) == Verdict::invalid);
    CHECK(at(server, kMade - 300) == Verdict::valid);  // another node's clock ahead by five minutes
    CHECK(at(server, kMade - 301) == Verdict::invalid);
    CHECK(at(server, kMade + 86400 * 180) == Verdict::invalid);
  }

  TEST_CASE("serial arithmetic across the 32-bit wrap") {
    uint8_t server[16];
    const uint32_t made = 0xFFFFFF00u;
    cookies::make_server_cookie(kSecrets.current, kClient, address("192.0.2.7"), made, server);
    CHECK(at(server, made + 0x200u) == Verdict::valid);  // wrapped past zero, 512 s later
    CHECK(at(server, made + 3601u) == Verdict::invalid);
  }

  TEST_CASE("another address, client cookie, secret, version or length is not valid") {
    uint8_t server[16];
    cookies::make_server_cookie(kSecrets.current, kClient, address("192.0.2.7"), kMade, server);
    CHECK(at(server, kMade + 10, address("192.0.2.8")) == Verdict::invalid);
    CHECK(at(server, kMade + 10, address("::ffff:192.0.2.7")) == Verdict::invalid);
    const uint8_t other_client[8] = {1, 2, 3, 4, 5, 6, 7, 9};
    CHECK(cookies::check_server_cookie(kSecrets, other_client, server, 16, address("192.0.2.7"), kMade) == Verdict::invalid);
    const cookies::Secrets other{secret_of(kNewSecret), {}, false};
    CHECK(cookies::check_server_cookie(other, kClient, server, 16, address("192.0.2.7"), kMade) == Verdict::invalid);
    uint8_t tampered[16];
    std::copy(server, server + 16, tampered);
    tampered[0] = 2;
    CHECK(at(tampered, kMade) == Verdict::invalid);
    std::copy(server, server + 16, tampered);
    tampered[15] ^= 1;
    CHECK(at(tampered, kMade) == Verdict::invalid);
    std::copy(server, server + 16, tampered);
    tampered[7] ^= 1;  // the timestamp is covered by the hash
    CHECK(at(tampered, kMade) == Verdict::invalid);
    uint8_t longer[32] = {};
    std::copy(server, server + 16, longer);
    CHECK(cookies::check_server_cookie(kSecrets, kClient, longer, 32, address("192.0.2.7"), kMade) == Verdict::invalid);
    CHECK(cookies::check_server_cookie(kSecrets, kClient, server, 8, address("192.0.2.7"), kMade) == Verdict::invalid);
  }

  TEST_CASE("answer_cookie echoes a fresh valid cookie and renews an old one") {
    const auto client = address("2001:db8::1");
    uint8_t server[16];
    cookies::make_server_cookie(kSecrets.current, kClient, client, kMade, server);
    const std::string sent = to_hex(kClient, 8) + to_hex(server, 16);
    const Answered fresh = answer(kSecrets, sent, client, kMade + 600);
    CHECK(fresh.state == CookieState::valid);
    CHECK(fresh.reply == sent);
    const Answered old = answer(kSecrets, sent, client, kMade + 2000);
    CHECK(old.state == CookieState::valid);
    uint8_t renewed[16];
    cookies::make_server_cookie(kSecrets.current, kClient, client, kMade + 2000, renewed);
    CHECK(old.reply == to_hex(kClient, 8) + to_hex(renewed, 16));
    // A foreign server cookie of another length is replaced by ours.
    const Answered foreign = answer(kSecrets, to_hex(kClient, 8) + std::string(64, 'a'), client, kMade);
    CHECK(foreign.state == CookieState::invalid);
    CHECK(foreign.reply.size() == 48);
  }

  TEST_CASE("rotation: the previous secret is accepted until it is dropped") {
    const auto client = address("192.0.2.7");
    const cookies::Secrets before{secret_of(kOldSecret), {}, false};
    const cookies::Secrets during{secret_of(kNewSecret), secret_of(kOldSecret), true};
    const cookies::Secrets after{secret_of(kNewSecret), {}, false};
    uint8_t server[16];
    cookies::make_server_cookie(before.current, kClient, client, kMade, server);
    CHECK(cookies::check_server_cookie(before, kClient, server, 16, client, kMade + 5) == Verdict::valid);
    CHECK(cookies::check_server_cookie(during, kClient, server, 16, client, kMade + 5) == Verdict::valid_renew);
    CHECK(cookies::check_server_cookie(after, kClient, server, 16, client, kMade + 5) == Verdict::invalid);
    // The renewed cookie is made with the new secret, and survives the drop.
    const Answered a = answer(during, to_hex(kClient, 8) + to_hex(server, 16), client, kMade + 5);
    const Bytes renewed = from_hex(a.reply);
    CHECK(cookies::check_server_cookie(after, kClient, renewed.data() + 8, 16, client, kMade + 6) == Verdict::valid);
    // A node that only stages the new secret (second line) accepts cookies of nodes already using it.
    const cookies::Secrets staging{secret_of(kOldSecret), secret_of(kNewSecret), true};
    CHECK(cookies::check_server_cookie(staging, kClient, renewed.data() + 8, 16, client, kMade + 6) == Verdict::valid_renew);
  }
}

TEST_SUITE("cookies.secret_file") {
  std::string errors(const config::Diagnostics& d) {
    std::string s;
    for (const auto& e : d.items()) s += e.to_string() + "\n";
    return s;
  }

  TEST_CASE("one secret, or the current and the previous one; comments and blank lines skipped") {
    config::Diagnostics d;
    auto one = cookies::parse_secrets(std::string(kSecretA) + "\n", "cookie.secret", d);
    REQUIRE(one.has_value());
    CHECK(one->current == secret_of(kSecretA));
    CHECK_FALSE(one->has_previous);
    auto two = cookies::parse_secrets("# rotated 2026-12-05\n\n  445536BCD2513298075A5D379663C962 \r\n" +
                                          std::string(kOldSecret),
                                      "cookie.secret", d);
    REQUIRE(two.has_value());
    CHECK(two->current == secret_of(kNewSecret));
    CHECK(two->previous == secret_of(kOldSecret));
    CHECK(two->has_previous);
    CHECK(d.empty());
  }

  TEST_CASE("malformed secrets are reported at file:line:column") {
    config::Diagnostics d;
    CHECK_FALSE(cookies::parse_secrets("# c\n  e5e973e5a6b2a43f48e7dc849e37bfc\n", "s.txt", d).has_value());
    CHECK(errors(d) == "s.txt:2:3: a cookie secret is 32 hex digits (128 bits), found 31\n");
    config::Diagnostics bad_digit;
    CHECK_FALSE(cookies::parse_secrets("e5e973e5a6b2a43f48e7dc849e37bfcf\ne5e973e5a6b2a43f4xe7dc849e37bfcf", "s.txt", bad_digit)
                    .has_value());
    CHECK(errors(bad_digit) == "s.txt:2:18: 'x' is not a hex digit: a cookie secret is 32 hex digits (128 bits)\n");
    config::Diagnostics three;
    CHECK_FALSE(cookies::parse_secrets(std::string(kSecretA) + "\n" + kOldSecret + "\n" + kNewSecret + "\n", "s.txt", three)
                    .has_value());
    CHECK(errors(three) ==
          "s.txt:3:1: a cookie secret file holds at most two secrets: the current one, then the previous one\n");
    config::Diagnostics empty;
    CHECK_FALSE(cookies::parse_secrets("# nothing yet\n", "s.txt", empty).has_value());
    CHECK(errors(empty).find("s.txt: no cookie secret") == 0);
    config::Diagnostics longer;
    CHECK_FALSE(cookies::parse_secrets(std::string(kSecretA) + "00", "s.txt", longer).has_value());
    CHECK(errors(longer) == "s.txt:1:1: a cookie secret is 32 hex digits (128 bits), found 34\n");
  }

  TEST_CASE("a missing file is an error; a file every user can read is warned about") {
    UnitTempDir dir;
    config::Diagnostics missing;
    CHECK_FALSE(cookies::read_secret_file(dir.file("none.secret"), missing).has_value());
    CHECK(errors(missing).find("cannot read the cookie secret file") != std::string::npos);

    const std::string path = dir.write("cookie.secret", std::string(kSecretA) + "\n");
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    config::Diagnostics open;
    CHECK(cookies::read_secret_file(path, open).has_value());
    CHECK(open.empty());
    REQUIRE(open.warnings().size() == 1);
    CHECK(open.warnings()[0].message.find("readable by every user") != std::string::npos);
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
    config::Diagnostics closed;
    CHECK(cookies::read_secret_file(path, closed).has_value());
    CHECK(closed.warnings().empty());
  }

  TEST_CASE("without a file: a random secret, kept across reloads") {
    config::Diagnostics d;
    config::CookieSettings settings;  // enabled, no secret_file
    auto first = cookies::load_cookie_policy(settings, nullptr, d);
    REQUIRE(first.has_value());
    CHECK(first->enabled);
    CHECK(first->random_secret);
    CHECK_FALSE(first->secrets.current == cookies::Secret{});
    auto reloaded = cookies::load_cookie_policy(settings, &*first, d);
    REQUIRE(reloaded.has_value());
    CHECK(reloaded->secrets == first->secrets);
    auto another_start = cookies::load_cookie_policy(settings, nullptr, d);
    CHECK_FALSE(another_start->secrets == first->secrets);
    settings.enabled = false;
    settings.secret_file = "/nonexistent/cookie.secret";  // not read when cookies are off
    auto off = cookies::load_cookie_policy(settings, nullptr, d);
    REQUIRE(off.has_value());
    CHECK_FALSE(off->enabled);
    CHECK(d.empty());
  }
}

TEST_SUITE("cookies.parse") {
  Bytes query_with_cookie_options(const Bytes& options, uint16_t qdcount = 1) {
    Bytes q = header(0x1234, 0, qdcount, 0, 0, 1);
    if (qdcount) q = concat({q, question("example.com.", dns::type::A)});
    return concat({q, opt_rr(1232, 0, options)});
  }

  TEST_CASE("every option length: 8 and 16..40 are kept, the others malformed") {
    for (std::size_t len = 0; len <= 48; ++len) {
      dns::Query q;
      const Bytes option = edns_option(dns::edns::COOKIE, std::string(len, 'c'));
      INFO("length " << len);
      const Bytes packet = query_with_cookie_options(option);
      REQUIRE(dns::parse_query(packet.data(), packet.size(), q) == dns::QueryStatus::ok);
      const bool good = len == 8 || (len >= 16 && len <= 40);
      CHECK(q.cookie_length == (good ? len : dns::kMalformedCookie));
      if (good) CHECK(std::string(q.cookie, q.cookie + len) == std::string(len, 'c'));
    }
  }

  TEST_CASE("the first COOKIE option counts") {
    dns::Query q;
    const Bytes packet = query_with_cookie_options(
        concat({edns_option(dns::edns::COOKIE, std::string(8, 'a')), edns_option(dns::edns::COOKIE, std::string(3, 'b'))}));
    REQUIRE(dns::parse_query(packet.data(), packet.size(), q) == dns::QueryStatus::ok);
    CHECK(q.cookie_length == 8);
    CHECK(q.cookie[0] == 'a');
  }

  TEST_CASE("no question: a request for a server cookie, else FORMERR") {
    dns::Query q;
    const Bytes with = query_with_cookie_options(edns_option(dns::edns::COOKIE, std::string(8, 'a')), 0);
    CHECK(dns::parse_query(with.data(), with.size(), q) == dns::QueryStatus::no_question);
    CHECK(q.question_end == 0);
    const Bytes without = query_with_cookie_options({}, 0);
    CHECK(dns::parse_query(without.data(), without.size(), q) == dns::QueryStatus::formerr);
    const Bytes malformed = query_with_cookie_options(edns_option(dns::edns::COOKIE, std::string(9, 'a')), 0);
    CHECK(dns::parse_query(malformed.data(), malformed.size(), q) == dns::QueryStatus::formerr);
    const Bytes bare = header(1, 0, 0);
    CHECK(dns::parse_query(bare.data(), bare.size(), q) == dns::QueryStatus::formerr);
  }
}

TEST_SUITE("cookies.responder") {
  const char* const kZone = R"({"origin": "example.com.",
    "soa": {"mname": "ns1", "rname": "h", "serial": 1, "refresh": 2, "retry": 3, "expire": 4, "minimum": 60},
    "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"}, "www": {"A": "192.0.2.80"}}})";
  const uint32_t kNow = 1'764'900'000;
  const uint8_t kClient[8] = {0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8};

  struct CookieResponder {
    Responder r{kZone};
    CookieResponder(bool enabled = true, bool require = false) {
      r.snapshot().cookies.enabled = enabled;
      r.snapshot().cookies.require = require;
      r.snapshot().cookies.secrets.current = secret_of(kSecretA);
    }
    Answer ask(const Bytes& packet, query::Transport t = query::Transport::udp, uint32_t now = kNow) {
      Answer a;
      std::vector<uint8_t> out(65535, 0);
      const query::AnswerClock clock(std::chrono::steady_clock::now(), now);
      const std::size_t n = query::answer_query(r.snapshot(), packet.data(), packet.size(), Responder::source(), t, clock,
                                                out.data(), out.size(), &a.info);
      a.wire.assign(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(n));
      if (n > 0) a.msg = parse_message(a.wire);
      return a;
    }
    std::string server_cookie(uint32_t at) {
      uint8_t s[16];
      cookies::make_server_cookie(r.snapshot().cookies.secrets.current, kClient, Responder::source(), at, s);
      return std::string(reinterpret_cast<const char*>(kClient), 8) + std::string(reinterpret_cast<char*>(s), 16);
    }
  };

  Bytes www_query(const std::string& cookie) {
    QuerySpec q("www.example.com");
    q.edns = Edns{};
    q.edns->options = {{dns::edns::COOKIE, cookie}};
    return build_query(q);
  }

  TEST_CASE("malformed COOKIE lengths are FORMERR with an OPT, every one of them") {
    CookieResponder c;
    for (std::size_t len : {0, 1, 7, 9, 12, 15, 41, 48, 64}) {
      INFO("length " << len);
      const Answer a = c.ask(www_query(std::string(len, 'x')));
      REQUIRE(a.msg.ok);
      CHECK(a.msg.rcode == dns::rcode::FORMERR);
      CHECK(a.msg.has_opt);
      CHECK(a.msg.answer.empty());
      CHECK_FALSE(a.msg.option(dns::edns::COOKIE).has_value());
      CHECK(ldns_parses(a.wire));
    }
    // With cookies off the option is an unknown one, ignored.
    CookieResponder off(false);
    const Answer a = off.ask(www_query(std::string(9, 'x')));
    CHECK(a.msg.rcode == dns::rcode::NOERROR);
    CHECK(a.msg.answer.size() == 1);
  }

  TEST_CASE("a client cookie alone gets the answer and a fresh server cookie") {
    CookieResponder c;
    const Answer a = c.ask(www_query(std::string(reinterpret_cast<const char*>(kClient), 8)));
    REQUIRE(a.msg.ok);
    CHECK(a.msg.rcode == dns::rcode::NOERROR);
    CHECK(a.msg.answer.size() == 1);
    CHECK(a.msg.option(dns::edns::COOKIE) == c.server_cookie(kNow));
    CHECK(a.info.cookie == CookieState::client_only);
    CHECK(ldns_parses(a.wire));
  }

  TEST_CASE("a valid server cookie is echoed; an expired or foreign one replaced, the query answered") {
    CookieResponder c;
    const std::string made = c.server_cookie(kNow - 100);
    const Answer echoed = c.ask(www_query(made));
    CHECK(echoed.msg.option(dns::edns::COOKIE) == made);
    CHECK(echoed.info.cookie == CookieState::valid);
    CHECK(echoed.msg.answer.size() == 1);
    const Answer renewed = c.ask(www_query(c.server_cookie(kNow - 2000)));
    CHECK(renewed.msg.option(dns::edns::COOKIE) == c.server_cookie(kNow));
    CHECK(renewed.info.cookie == CookieState::valid);
    const Answer expired = c.ask(www_query(c.server_cookie(kNow - 3700)));
    CHECK(expired.msg.rcode == dns::rcode::NOERROR);
    CHECK(expired.msg.answer.size() == 1);
    CHECK(expired.msg.option(dns::edns::COOKIE) == c.server_cookie(kNow));
    CHECK(expired.info.cookie == CookieState::invalid);
  }

  TEST_CASE("require: BADCOOKIE over UDP without a valid server cookie, answers over TCP and with one") {
    CookieResponder c(true, true);
    const std::string client_only(reinterpret_cast<const char*>(kClient), 8);
    const Answer bad = c.ask(www_query(client_only));
    REQUIRE(bad.msg.ok);
    INFO(bad.msg.describe());
    CHECK(bad.msg.rcode == dns::rcode::BADCOOKIE);
    CHECK((bad.msg.flags & 0x0F) == (dns::rcode::BADCOOKIE & 0x0F));  // the high bits are in the OPT
    CHECK(bad.msg.answer.empty());
    CHECK(bad.msg.authority.empty());
    CHECK(bad.msg.question.size() == 1);
    CHECK(bad.msg.option(dns::edns::COOKIE) == c.server_cookie(kNow));
    CHECK(bad.info.rcode == dns::rcode::BADCOOKIE);
    CHECK(ldns_parses(bad.wire));
    const Answer expired = c.ask(www_query(c.server_cookie(kNow - 3700)));
    CHECK(expired.msg.rcode == dns::rcode::BADCOOKIE);
    const Answer tcp = c.ask(www_query(client_only), query::Transport::tcp);
    CHECK(tcp.msg.rcode == dns::rcode::NOERROR);
    CHECK(tcp.msg.answer.size() == 1);
    CHECK(tcp.msg.option(dns::edns::COOKIE) == c.server_cookie(kNow));
    const Answer good = c.ask(www_query(bad.msg.option(dns::edns::COOKIE).value()), query::Transport::udp, kNow + 1);
    CHECK(good.msg.rcode == dns::rcode::NOERROR);
    CHECK(good.msg.answer.size() == 1);
    CHECK(good.info.cookie == CookieState::valid);
    // Clients without cookies are answered as before (RRL is their limit).
    QuerySpec plain("www.example.com");
    const Answer no_edns = c.ask(build_query(plain));
    CHECK(no_edns.msg.rcode == dns::rcode::NOERROR);
    CHECK(no_edns.msg.answer.size() == 1);
    CHECK(no_edns.info.cookie == CookieState::none);
    plain.edns = Edns{};
    const Answer no_cookie = c.ask(build_query(plain));
    CHECK(no_cookie.msg.rcode == dns::rcode::NOERROR);
    CHECK_FALSE(no_cookie.msg.option(dns::edns::COOKIE).has_value());
  }

  TEST_CASE("BADVERS comes before BADCOOKIE, and carries the cookie") {
    CookieResponder c(true, true);
    QuerySpec q("www.example.com");
    q.edns = Edns{};
    q.edns->version = 1;
    q.edns->options = {{dns::edns::COOKIE, std::string(reinterpret_cast<const char*>(kClient), 8)}};
    const Answer a = c.ask(build_query(q));
    REQUIRE(a.msg.ok);
    CHECK(a.msg.rcode == dns::rcode::BADVERS);
    CHECK(a.msg.option(dns::edns::COOKIE) == c.server_cookie(kNow));
    Bytes no_question = header(0x78, 0, 0, 0, 0, 1);
    no_question = concat({no_question, opt_rr(1232, edns_ttl(0, 1, false), edns_option(dns::edns::COOKIE, std::string(8, 'k')))});
    const Answer b = c.ask(no_question);
    REQUIRE(b.msg.ok);
    CHECK(b.msg.rcode == dns::rcode::BADVERS);
    CHECK(b.msg.qdcount == 0);
  }

  TEST_CASE("a query without a question asks for a server cookie (RFC 7873 5.4)") {
    Bytes q = header(0x77, dns::flag::RD, 0, 0, 0, 1);
    q = concat({q, opt_rr(1232, 0, edns_option(dns::edns::COOKIE, std::string(reinterpret_cast<const char*>(kClient), 8)))});
    CookieResponder c;
    const Answer a = c.ask(q);
    REQUIRE(a.msg.ok);
    CHECK(a.msg.rcode == dns::rcode::NOERROR);
    CHECK(a.msg.qdcount == 0);
    CHECK(a.msg.ancount == 0);
    CHECK(a.msg.id == 0x77);
    CHECK(a.msg.option(dns::edns::COOKIE) == c.server_cookie(kNow));
    CHECK(ldns_parses(a.wire));
    CookieResponder strict(true, true);
    CHECK(strict.ask(q).msg.rcode == dns::rcode::BADCOOKIE);
    CookieResponder off(false);
    const Answer formerr = off.ask(q);
    CHECK(formerr.msg.rcode == dns::rcode::FORMERR);
    CHECK_FALSE(formerr.msg.option(dns::edns::COOKIE).has_value());
  }

  TEST_CASE("the cookie is written over the query in place, and fits the UDP limit") {
    CookieResponder c;
    const Bytes q = www_query(c.server_cookie(kNow));
    // A reply in the query's own buffer: the option was copied before the answer overwrote it.
    Bytes in_place = c.r.ask_in_place(q);
    const Message m = parse_message(in_place);
    REQUIRE(m.ok);
    CHECK(m.option(dns::edns::COOKIE).has_value());
    CHECK(m.option(dns::edns::COOKIE)->size() == 24);
    CHECK(m.option(dns::edns::COOKIE)->substr(0, 8) == std::string(reinterpret_cast<const char*>(kClient), 8));
    CHECK(m.answer.size() == 1);
  }
}
