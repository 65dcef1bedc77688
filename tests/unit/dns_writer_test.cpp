// MessageWriter: name compression (exact bytes), rollback, limits, pointer range.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "dns/writer.hpp"
#include "unit/support/dns_wire.hpp"

using namespace meridian;
using namespace meridian::test;
using dns::MessageWriter;
using dns::Section;

namespace {

// The question www.example.com A IN: name at 12 ("www" 12, "example" 16, "com" 24, root 28).
Bytes base_query() {
  QuerySpec s{"www.example.com.", dns::type::A};
  s.id = 0x5150;
  return make_query(s);
}

std::string bytes_at(const MessageWriter& w, const uint8_t* buf, std::size_t from) {
  return hex(buf + from, w.size() - from);
}

// Every compression pointer in the names written from `from` must point before
// the name that holds it.
struct Fixture {
  std::vector<uint8_t> buf = std::vector<uint8_t>(65535, 0);
  MessageWriter w{buf.data(), buf.size()};
  Bytes q = base_query();
  Fixture() { w.start(q.data(), q.size(), dns::flag::QR); }
  // Writes name and returns its bytes as hex.
  std::string put(const char* text, bool compress = true) {
    const std::size_t at = w.size();
    REQUIRE(w.put_name(wire_name(text), compress));
    return hex(buf.data() + at, w.size() - at);
  }
};

}  // namespace

TEST_SUITE("dns.writer") {
  TEST_CASE("start copies id and question, sets flags and QDCOUNT") {
    Fixture f;
    CHECK(f.w.size() == f.q.size());
    CHECK(f.buf[0] == 0x51);
    CHECK(f.buf[1] == 0x50);
    CHECK(f.w.flags() == dns::flag::QR);
    CHECK(dns::read_u16(f.buf.data() + 4) == 1);
    CHECK(hex(f.buf.data() + 12, f.q.size() - 12) == hex(f.q.data() + 12, f.q.size() - 12));
    f.w.set_rcode(dns::rcode::NXDOMAIN);
    CHECK(f.w.flags() == (dns::flag::QR | 3));
    f.w.set_rcode(dns::rcode::BADVERS);  // only the low 4 bits go in the header
    CHECK(f.w.flags() == dns::flag::QR);

    // Without a question: header only, QDCOUNT 0.
    std::vector<uint8_t> b2(64, 0xAA);
    MessageWriter w2(b2.data(), b2.size());
    w2.start(f.q.data(), 0, dns::flag::QR | 1);
    CHECK(w2.size() == 12);
    CHECK(dns::read_u16(b2.data() + 4) == 0);
    CHECK(dns::read_u16(b2.data() + 6) == 0);
    CHECK(dns::read_u16(b2.data() + 10) == 0);
  }

  TEST_CASE("compression of repeated names and suffixes: exact bytes") {
    Fixture f;
    CHECK(f.put("www.example.com.") == "c0 0c");
    CHECK(f.put("example.com.") == "c0 10");
    CHECK(f.put("com.") == "c0 18");
    const std::size_t mail_at = f.w.size();
    CHECK(f.put("mail.example.com.") == "04 6d 61 69 6c c0 10");
    // a name written later is itself a target
    CHECK(f.put("a.mail.example.com.") == "01 61 c0 " + hex(std::string(1, static_cast<char>(mail_at))));
    CHECK(f.put("mail.example.com.") == "c0 " + hex(std::string(1, static_cast<char>(mail_at))));
    // nothing in common: literal, ending in the root label
    const std::size_t org_at = f.w.size();
    CHECK(f.put("example.org.") == "07 65 78 61 6d 70 6c 65 03 6f 72 67 00");
    CHECK(f.put("org.") == "c0 " + hex(std::string(1, static_cast<char>(org_at + 8))));
    // the root name is never compressed
    CHECK(f.put(".") == "00");
  }

  TEST_CASE("longest suffix wins") {
    Fixture f;
    f.put("b.example.com.");  // b at 33, then pointer to example.com (16)
    CHECK(f.put("a.b.example.com.") == "01 61 c0 21");
    CHECK(f.put("x.example.com.") == "01 78 c0 10");
  }

  TEST_CASE("matching is case-insensitive") {
    Fixture f;
    CHECK(f.put("WWW.EXAMPLE.COM.") == "c0 0c");
    CHECK(f.put("Mail.Example.Com.") == "04 4d 61 69 6c c0 10");
    CHECK(f.put("MAIL.example.COM.") == "c0 23");
  }

  TEST_CASE("compress=false writes the whole name but later names can point at it") {
    Fixture f;
    const std::size_t at = f.w.size();
    CHECK(f.put("www.example.com.", false) == hex(wire_name("www.example.com.")));
    // an identical name is compressed against the first occurrence (the question)
    CHECK(f.put("www.example.com.") == "c0 0c");
    // a name only present in the uncompressed copy points into it
    f.put("net.", false);
    CHECK(f.put("x.net.") == "01 78 c0 " + hex(std::string(1, static_cast<char>(at + 19))));
  }

  TEST_CASE("pointers never point forward") {
    Fixture f;
    const char* names[] = {"a.b.c.d.", "x.c.d.", "d.", "y.a.b.c.d.", "b.c.d.", "www.example.com.", "z.www.example.com.",
                           "c.d.", "q.x.c.d."};
    for (const char* n : names) {
      const std::size_t at = f.w.size();
      f.put(n);
      // walk the written name and check each pointer
      std::size_t p = at;
      while (f.buf[p] != 0) {
        if ((f.buf[p] & 0xC0) == 0xC0) {
          const std::size_t target = dns::read_u16(f.buf.data() + p) & 0x3FFF;
          CHECK(target < at);
          break;
        }
        p += 1 + f.buf[p];
      }
    }
    // and every name decodes to what was written
    std::size_t pos = f.q.size();
    for (const char* n : names) {
      dns::NameBuffer nb;
      REQUIRE(dns::read_name(f.buf.data(), f.w.size(), pos, nb, false) == dns::NameStatus::ok);
      CHECK(dns::name_to_text(nb.view()) == n);
    }
    CHECK(pos == f.w.size());
  }

  TEST_CASE("rollback restores size, counts and compression entries") {
    Fixture f;
    f.put("example.net.");
    f.w.count(Section::answer);
    const auto mark = f.w.mark();
    const std::size_t size = f.w.size();
    f.put("host.example.org.");
    f.put("sub.example.net.");
    REQUIRE(f.w.put_u32(0xDEADBEEF));
    f.w.count(Section::answer);
    f.w.count(Section::authority);
    f.w.count(Section::additional);
    CHECK(f.w.section_count(Section::answer) == 2);
    f.w.rollback(mark);
    CHECK(f.w.size() == size);
    CHECK(f.w.section_count(Section::answer) == 1);
    CHECK(f.w.section_count(Section::authority) == 0);
    CHECK(f.w.section_count(Section::additional) == 0);
    // A name seen only in the rolled-back part is written in full again...
    CHECK(f.put("host.example.org.") == hex(wire_name("host.example.org.")));
    // ...and names before the mark still compress.
    CHECK(f.put("sub.example.net.") == "03 73 75 62 c0 21");
    f.w.finish();
    CHECK(dns::read_u16(f.buf.data() + 6) == 1);
    CHECK(dns::read_u16(f.buf.data() + 8) == 0);
    CHECK(dns::read_u16(f.buf.data() + 10) == 0);
  }

  TEST_CASE("rollback to a mark taken right after start") {
    Fixture f;
    const auto mark = f.w.mark();
    f.put("a.example.com.");
    f.w.count(Section::answer);
    f.w.rollback(mark);
    CHECK(f.w.size() == f.q.size());
    // "a.example.com" was rolled back: a new name may not point at offset 33
    CHECK(f.put("b.a.example.com.") == "01 62 01 61 c0 10");
  }

  TEST_CASE("finish stores the section counts") {
    Fixture f;
    for (int i = 0; i < 3; ++i) f.w.count(Section::answer);
    f.w.count(Section::authority);
    for (int i = 0; i < 5; ++i) f.w.count(Section::additional);
    f.w.finish();
    CHECK(dns::read_u16(f.buf.data() + 4) == 1);
    CHECK(dns::read_u16(f.buf.data() + 6) == 3);
    CHECK(dns::read_u16(f.buf.data() + 8) == 1);
    CHECK(dns::read_u16(f.buf.data() + 10) == 5);
  }

  TEST_CASE("limit: put_* return false at the limit and write nothing") {
    Fixture f;
    const std::size_t at = f.w.size();
    f.w.set_limit(at + 5);
    CHECK(f.w.limit() == at + 5);
    CHECK_FALSE(f.w.put_bytes("123456", 6));
    CHECK(f.w.size() == at);
    CHECK(f.w.put_u32(1));
    CHECK_FALSE(f.w.put_u16(2));
    CHECK(f.w.size() == at + 4);
    CHECK(f.w.put_bytes("x", 1));
    CHECK(f.w.size() == at + 5);
    CHECK_FALSE(f.w.put_bytes("y", 1));
    CHECK(f.w.put_bytes("", 0));
    CHECK_FALSE(f.w.put_u32(3));

    f.w.set_limit(f.w.size() + 2);
    CHECK_FALSE(f.w.put_name(wire_name("mail.example.com.")));  // needs 7
    CHECK_FALSE(f.w.put_name(wire_name("org.")));               // needs 5
    CHECK(f.w.size() == at + 5);
    CHECK(f.w.put_name(wire_name("example.com.")));  // a 2-byte pointer fits exactly
    CHECK(f.w.size() == at + 7);
    CHECK_FALSE(f.w.put_name(wire_name(".")));

    // a failed put_name leaves no compression entry behind
    f.w.set_limit(65535);
    CHECK(f.put("mail.example.com.") == "04 6d 61 69 6c c0 10");

    // the limit never exceeds the capacity
    f.w.set_limit(1u << 20);
    CHECK(f.w.limit() == 65535);
  }

  TEST_CASE("pointers only to offsets below 0x4000") {
    Fixture f;
    // pad so that the next name starts at 0x3FFC
    std::vector<uint8_t> pad(0x3FFC - f.w.size(), 0);
    REQUIRE(f.w.put_bytes(pad.data(), pad.size()));
    REQUIRE(f.w.size() == 0x3FFC);
    // aaa at 0x3FFC (pointable), zzz at 0x4000 and org at 0x4004 (not pointable)
    CHECK(f.put("aaa.zzz.org.") == "03 61 61 61 03 7a 7a 7a 03 6f 72 67 00");
    CHECK(f.put("zzz.org.") == "03 7a 7a 7a 03 6f 72 67 00");
    CHECK(f.put("org.") == "03 6f 72 67 00");
    CHECK(f.put("aaa.zzz.org.") == "ff fc");
    CHECK(f.put("b.aaa.zzz.org.") == "01 62 ff fc");
    // names before 0x4000 are still targets
    CHECK(f.put("x.example.com.") == "01 78 c0 10");
  }

  TEST_CASE("a name written far into the message still compresses against the question") {
    Fixture f;
    std::vector<uint8_t> pad(0x5000, 0);
    REQUIRE(f.w.put_bytes(pad.data(), pad.size()));
    CHECK(f.put("www.example.com.") == "c0 0c");
    CHECK(f.put("ftp.example.com.") == "03 66 74 70 c0 10");
    CHECK(f.put("ftp.example.com.") == "03 66 74 70 c0 10");  // the first copy sits above 0x3FFF
  }

  TEST_CASE("more names than compression entries: every name still decodes") {
    Fixture f;
    std::vector<std::string> names;
    for (int i = 0; i < 150; ++i) {
      // Appended piece by piece: `"h" + std::to_string(i)` trips GCC 12's -Wrestrict
      // false positive (GCC bug 105651) at -O2 and above.
      std::string n = "h";
      n += std::to_string(i);
      n += ".d";
      n += std::to_string(i % 7);
      n += ".example.com.";
      names.push_back(n);
      f.put(n.c_str());
      f.put(n.c_str());
    }
    std::size_t pos = f.q.size();
    for (const auto& n : names) {
      for (int k = 0; k < 2; ++k) {
        dns::NameBuffer nb;
        REQUIRE(dns::read_name(f.buf.data(), f.w.size(), pos, nb, false) == dns::NameStatus::ok);
        CHECK(dns::name_to_text(nb.view()) == n);
      }
    }
    CHECK(pos == f.w.size());
  }

  TEST_CASE("patch_u16 rewrites a value in place") {
    Fixture f;
    const std::size_t at = f.w.size();
    REQUIRE(f.w.put_u16(0));
    REQUIRE(f.w.put_u32(7));
    f.w.patch_u16(at, 0xCAFE);
    CHECK(bytes_at(f.w, f.buf.data(), at) == "ca fe 00 00 00 07");
  }
}
