// Name helpers: presentation text <-> wire, comparison, subdomain checks.
#include <doctest/doctest.h>

#include <string>

#include "dns/name.hpp"
#include "unit/support/dns_wire.hpp"

using namespace meridian;
using meridian::test::hex;

namespace {

std::string w(std::string_view bytes) { return std::string(bytes); }
const std::string kOrigin("\x07" "example\x03" "com\x00", 13);

}  // namespace

TEST_SUITE("dns.name") {
  TEST_CASE("name_from_text: absolute names") {
    CHECK(dns::name_from_text("www.example.com.") == w(std::string_view("\x03www\x07" "example\x03" "com\x00", 17)));
    CHECK(dns::name_from_text("com.") == w(std::string_view("\x03" "com\x00", 5)));
    CHECK(dns::name_from_text(".") == w(std::string_view("\x00", 1)));
    // case is kept as written
    CHECK(dns::name_from_text("WwW.Example.") == w(std::string_view("\x03WwW\x07" "Example\x00", 13)));
    // an absolute name ignores the origin
    CHECK(dns::name_from_text("mail.example.org.", kOrigin) == dns::name_from_text("mail.example.org."));
  }

  TEST_CASE("name_from_text: relative names and @") {
    CHECK(dns::name_from_text("www", kOrigin) == "\x03www" + kOrigin);
    CHECK(dns::name_from_text("a.b", kOrigin) == "\x01" "a\x01" "b" + kOrigin);
    CHECK(dns::name_from_text("@", kOrigin) == kOrigin);
    CHECK(dns::name_from_text("*", kOrigin) == "\x01*" + kOrigin);
    // without an origin a relative name (and @) means nothing
    CHECK_FALSE(dns::name_from_text("www").has_value());
    CHECK_FALSE(dns::name_from_text("@").has_value());
    // relative to the root origin
    CHECK(dns::name_from_text("www", std::string(1, '\0')) == w(std::string_view("\x03www\x00", 5)));
  }

  TEST_CASE("name_from_text: escapes") {
    // \. is a dot inside a label
    CHECK(dns::name_from_text("a\\.b.example.") == w(std::string_view("\x03" "a.b\x07" "example\x00", 13)));
    // \DDD is a byte in decimal
    CHECK(dns::name_from_text("\\065bc.") == w(std::string_view("\x03" "Abc\x00", 5)));
    CHECK(dns::name_from_text("a\\032b.") == w(std::string_view("\x03" "a b\x00", 5)));
    CHECK(dns::name_from_text("\\000.") == w(std::string_view("\x01\x00\x00", 3)));
    CHECK(dns::name_from_text("\\255.") == w(std::string_view("\x01\xff\x00", 3)));
    CHECK(dns::name_from_text("x\\255", kOrigin) == std::string("\x02x\xff") + kOrigin);
    // escaped backslash and other specials
    CHECK(dns::name_from_text("a\\\\b.") == w(std::string_view("\x03" "a\\b\x00", 5)));
    CHECK(dns::name_from_text("\\@.") == w(std::string_view("\x01@\x00", 3)));
    // an escaped dot at the end is not the root: the name stays relative
    CHECK(dns::name_from_text("a\\.", kOrigin) == "\x02" "a." + kOrigin);
    CHECK_FALSE(dns::name_from_text("a\\.").has_value());
    // \DDD above 255, and a lone backslash at the end
    CHECK_FALSE(dns::name_from_text("\\256.").has_value());
    CHECK_FALSE(dns::name_from_text("a\\").has_value());
  }

  TEST_CASE("name_from_text: empty labels") {
    CHECK_FALSE(dns::name_from_text("").has_value());
    CHECK_FALSE(dns::name_from_text("a..b.").has_value());
    CHECK_FALSE(dns::name_from_text(".a.").has_value());
    CHECK_FALSE(dns::name_from_text("..").has_value());
    CHECK_FALSE(dns::name_from_text("a..b", kOrigin).has_value());
  }

  TEST_CASE("name_from_text: label and name length limits") {
    const std::string l63(63, 'a'), l64(64, 'a');
    CHECK(dns::name_from_text(l63 + ".").has_value());
    CHECK_FALSE(dns::name_from_text(l64 + ".").has_value());
    CHECK_FALSE(dns::name_from_text(l64, kOrigin).has_value());
    // an escaped byte counts once
    CHECK(dns::name_from_text(std::string(62, 'a') + "\\065.").has_value());
    CHECK_FALSE(dns::name_from_text(std::string(63, 'a') + "\\065.").has_value());
    // 255 bytes in wire form is the limit: 3*64 + 62 + 1
    const std::string base = l63 + "." + l63 + "." + l63 + ".";
    const auto n255 = dns::name_from_text(base + std::string(61, 'b') + ".");
    REQUIRE(n255.has_value());
    CHECK(n255->size() == 255);
    CHECK_FALSE(dns::name_from_text(base + std::string(62, 'b') + ".").has_value());
    // a relative name that becomes too long with the origin (13 bytes)
    CHECK(dns::name_from_text(l63 + "." + l63 + "." + l63 + "." + std::string(49, 'c'), kOrigin)->size() == 255);
    CHECK_FALSE(dns::name_from_text(l63 + "." + l63 + "." + l63 + "." + std::string(50, 'c'), kOrigin).has_value());
  }

  TEST_CASE("name_to_text") {
    CHECK(dns::name_to_text(std::string(1, '\0')) == ".");
    CHECK(dns::name_to_text("") == ".");
    CHECK(dns::name_to_text(std::string_view("\x03www\x07" "Example\x03" "com\x00", 17)) == "www.Example.com.");
    CHECK(dns::name_to_text(std::string_view("\x03" "a.b\x00", 5)) == "a\\.b.");
    CHECK(dns::name_to_text(std::string_view("\x03" "a b\x00", 5)) == "a\\032b.");
    CHECK(dns::name_to_text(std::string_view("\x01\xff\x00", 3)) == "\\255.");
    CHECK(dns::name_to_text(std::string_view("\x01\x00\x00", 3)) == "\\000.");
    CHECK(dns::name_to_text(std::string_view("\x01\x7f\x00", 3)) == "\\127.");
    CHECK(dns::name_to_text(std::string_view("\x03" "a\\b\x00", 5)) == "a\\\\b.");
    CHECK(dns::name_to_text(std::string_view("\x01\"\x00", 3)) == "\\\".");
    CHECK(dns::name_to_text(std::string_view("\x01@\x00", 3)) == "\\@.");
    CHECK(dns::name_to_text(std::string_view("\x01;\x00", 3)) == "\\;.");
    CHECK(dns::name_to_text(std::string_view("\x01*\x03" "com\x00", 7)) == "*.com.");
    CHECK(dns::name_to_text(std::string_view("\x04_tcp\x01-\x00", 8)) == "_tcp.-.");
  }

  TEST_CASE("name_to_text and name_from_text round-trip any label bytes") {
    std::string label;
    for (int c = 0; c < 256; ++c) {
      label.push_back(static_cast<char>(c));
      if (label.size() == 63 || c == 255) {
        const std::string wire = static_cast<char>(label.size()) + label + std::string(1, '\0');
        const std::string text = dns::name_to_text(wire);
        CAPTURE(text);
        const auto back = dns::name_from_text(text);
        REQUIRE(back.has_value());
        CHECK(hex(*back) == hex(wire));
        label.clear();
      }
    }
  }

  TEST_CASE("wire_names_equal is case-insensitive and exact otherwise") {
    const std::string a = *dns::name_from_text("WWW.Example.COM.");
    const std::string b = *dns::name_from_text("www.example.com.");
    CHECK(dns::wire_names_equal(a, b));
    CHECK(dns::wire_names_equal(b, a));
    CHECK_FALSE(dns::wire_names_equal(a, *dns::name_from_text("www.example.org.")));
    CHECK_FALSE(dns::wire_names_equal(a, *dns::name_from_text("ww.example.com.")));
    // same bytes in other label boundaries are different names
    CHECK_FALSE(dns::wire_names_equal(*dns::name_from_text("a.bc."), *dns::name_from_text("ab.c.")));
    // only ASCII letters fold
    CHECK_FALSE(dns::wire_names_equal(std::string_view("\x01\xc4\x00", 3), std::string_view("\x01\xe4\x00", 3)));
    CHECK_FALSE(dns::wire_names_equal(std::string_view("\x01[\x00", 3), std::string_view("\x01{\x00", 3)));
  }

  TEST_CASE("is_subdomain") {
    const std::string origin = *dns::name_from_text("example.com.");
    auto n = [](const char* t) { return *dns::name_from_text(t); };
    CHECK(dns::is_subdomain(n("example.com."), origin));
    CHECK(dns::is_subdomain(n("www.example.com."), origin));
    CHECK(dns::is_subdomain(n("a.b.c.example.com."), origin));
    CHECK(dns::is_subdomain(n("WWW.EXAMPLE.COM."), origin));
    CHECK(dns::is_subdomain(n("www.example.com."), n(".")));
    CHECK(dns::is_subdomain(n("."), n(".")));
    CHECK_FALSE(dns::is_subdomain(n("com."), origin));
    CHECK_FALSE(dns::is_subdomain(n("."), origin));
    CHECK_FALSE(dns::is_subdomain(n("badexample.com."), origin));
    CHECK_FALSE(dns::is_subdomain(n("example.com.org."), origin));
    CHECK_FALSE(dns::is_subdomain(n("www.example.org."), origin));
    CHECK_FALSE(dns::is_subdomain(n("x.xample.com."), origin));
  }

  TEST_CASE("wire helpers: length, labels, fold, parent") {
    const std::string www = *dns::name_from_text("WWW.Example.com.");
    CHECK(dns::wire_name_length(reinterpret_cast<const uint8_t*>(www.data()), www.size()) == 17);
    CHECK(dns::wire_name_length(reinterpret_cast<const uint8_t*>(www.data()), 16) == 0);
    const uint8_t bad[] = {0x40, 'a', 0};
    CHECK(dns::wire_name_length(bad, sizeof bad) == 0);
    CHECK(dns::wire_name_labels(www) == 3);
    CHECK(dns::wire_name_labels(std::string(1, '\0')) == 0);
    CHECK(dns::fold_wire_name(www) == *dns::name_from_text("www.example.com."));
    CHECK(dns::parent_name(www) == *dns::name_from_text("Example.com."));
    CHECK(dns::parent_name(dns::parent_name(dns::parent_name(www))) == std::string(1, '\0'));
    CHECK(dns::parent_name(std::string_view("\x00", 1)) == std::string_view("\x00", 1));
    CHECK(dns::to_lower('Q') == 'q');
    CHECK(dns::to_lower('q') == 'q');
    CHECK(dns::to_lower(0xC4) == 0xC4);
  }
}
