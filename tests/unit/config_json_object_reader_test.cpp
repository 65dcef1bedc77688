// JsonObjectReader: each getter's wrong value and a missing required key at their
// line:column, range errors, and every unknown key reported once at its key.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "config/json_object_reader.hpp"

using namespace meridian::config;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

// The object under test is the value of "o" on line 2, so positions are real.
struct Read {
  JsonSource source;
  Diagnostics diagnostics;
  DiagnosticsSink sink;
  JsonObjectReader reader;
  explicit Read(const std::string& members)
      : source(JsonSource::parse("{\n\"o\": {" + members + "}\n}", "t.json")),
        sink(source, diagnostics),
        reader(source.root()["o"], JsonPointer("/o"), sink) {}
  // Every diagnostic as "line:column: message", one per line.
  std::string errors() const {
    std::string s;
    for (const auto& d : diagnostics.items())
      s += std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message + "\n";
    return s;
  }
};

}  // namespace

TEST_SUITE("config.object_reader") {
  TEST_CASE("values of the right type are read; absent optional keys leave the output alone") {
    Read r(R"("s": "x", "b": true, "i": 7, "n": 0.25, "d": "1.5s", "e": "down", "a": [1], "obj": {})");
    std::string s;
    bool b = false;
    unsigned i = 0;
    double n = 0;
    milliseconds d{0};
    int e = 0;
    CHECK(r.reader.string("s", s));
    CHECK(r.reader.boolean("b", b));
    CHECK(r.reader.integer("i", i, 1, 10));
    CHECK(r.reader.number("n", n, 0, 1));
    CHECK(r.reader.duration("d", d));
    CHECK(r.reader.one_of("e", e, {{"up", 1}, {"down", 2}}));
    CHECK(r.reader.array("a") != nullptr);
    CHECK(r.reader.section("obj").has_value());
    CHECK(s == "x");
    CHECK(b);
    CHECK(i == 7);
    CHECK(n == 0.25);
    CHECK(d == milliseconds(1500));
    CHECK(e == 2);

    std::string untouched = "default";
    CHECK(r.reader.string("absent", untouched));
    CHECK(untouched == "default");
    unsigned count = 3;
    CHECK(r.reader.integer("absent2", count, 1, 10));
    CHECK(count == 3);
    r.reader.report_unknown_keys();
    CHECK(r.errors() == "");
  }

  TEST_CASE("each getter reports a wrong type at the value, in the standard wording") {
    Read r(R"("s": 1, "b": "yes", "i": "7", "n": "x", "d": "soon", "e": "maybe", "a": {}, "obj": [])");
    std::string s = "keep";
    bool b = false;
    unsigned i = 5;
    double n = 2;
    milliseconds d{9};
    int e = 0;
    CHECK_FALSE(r.reader.string("s", s));
    CHECK_FALSE(r.reader.boolean("b", b));
    CHECK_FALSE(r.reader.integer("i", i, 1, 10));
    CHECK_FALSE(r.reader.number("n", n, 0, 1.5));
    CHECK_FALSE(r.reader.duration("d", d));
    CHECK_FALSE(r.reader.one_of("e", e, {{"up", 1}, {"down", 2}, {"auto", 3}}));
    CHECK(r.reader.array("a") == nullptr);
    CHECK_FALSE(r.reader.section("obj").has_value());
    r.reader.report_unknown_keys();
    CHECK(r.errors() ==
          "2:12: \"s\" must be a string\n"
          "2:20: \"b\" must be true or false\n"
          "2:32: \"i\" must be an integer from 1 to 10\n"
          "2:42: \"n\" must be a number from 0 to 1.5\n"
          "2:52: \"d\" must be a duration such as \"10s\" or \"500ms\"\n"
          "2:65: \"e\" must be \"up\", \"down\" or \"auto\"\n"
          "2:79: \"a\" must be an array\n"
          "2:90: \"obj\" must be an object\n");
    // Nothing was stored from a wrong value.
    CHECK(s == "keep");
    CHECK(i == 5);
    CHECK(n == 2);
    CHECK(d == milliseconds(9));
    CHECK(e == 0);
  }

  TEST_CASE("integer and number ranges, and what each accepts") {
    Read r(
        R"("low": 0, "high": 65, "neg": -1, "frac": 1.5, "big": 4294967297, "edge": 64, "nlow": -0.5, "zero": "0s")");
    unsigned v = 1;
    CHECK_FALSE(r.reader.integer("low", v, 1, 64));
    CHECK_FALSE(r.reader.integer("high", v, 1, 64));
    CHECK_FALSE(r.reader.integer("neg", v, 0, 64));
    CHECK_FALSE(r.reader.integer("frac", v, 0, 64));
    // 2^32 + 1 does not wrap around to 1 in an unsigned.
    CHECK_FALSE(r.reader.integer("big", v, 1, 5000000000ull));
    CHECK(r.reader.integer("edge", v, 1, 64));
    CHECK(v == 64);
    double n = 0;
    CHECK_FALSE(r.reader.number("nlow", n, 0, 0.5));
    milliseconds d{1};
    CHECK_FALSE(r.reader.duration("zero", d));
    CHECK(r.reader.duration("zero", d, ZeroDuration::allowed));
    CHECK(d == milliseconds(0));
    CHECK(r.errors() ==
          "2:14: \"low\" must be an integer from 1 to 64\n"
          "2:25: \"high\" must be an integer from 1 to 64\n"
          "2:36: \"neg\" must be an integer from 0 to 64\n"
          "2:48: \"frac\" must be an integer from 0 to 64\n"
          "2:60: \"big\" must be an integer from 1 to 4294967295\n"
          "2:92: \"nlow\" must be a number from 0 to 0.5\n"
          "2:106: \"zero\" must be a duration such as \"10s\" or \"500ms\"\n");
  }

  // At the object: the "{" that opens it.
  TEST_CASE("a missing required key is reported at the object, with its own wording if given") {
    Read r(R"("other": 1)");
    std::string s;
    CHECK_FALSE(r.reader.string("name", s, KeyRules::required()));
    CHECK(r.reader.find("data", KeyRules::required("a record needs \"data\"")) == nullptr);
    unsigned i = 0;
    CHECK_FALSE(r.reader.integer("count", i, 0, 9, KeyRules::required()));
    CHECK(r.errors() ==
          "2:6: missing \"name\"\n"
          "2:6: a record needs \"data\"\n"
          "2:6: missing \"count\"\n");
  }

  TEST_CASE("rules replace the wording of a wrong value; valid() refuses a string") {
    Read r(R"("path": "hc", "ttl": -1, "name": 5)");
    std::string path;
    CHECK_FALSE(r.reader.string("path", path, KeyRules::optional("\"path\" must start with /"),
                                [](const std::string& p) { return !p.empty() && p[0] == '/'; }));
    uint32_t ttl = 0;
    CHECK_FALSE(r.reader.integer("ttl", ttl, 0, 100, KeyRules::optional("a TTL must be an integer from 0 to 100")));
    std::string name;
    CHECK_FALSE(r.reader.string("name", name, KeyRules::required("needs a name", "a name is a string")));
    CHECK(r.errors() ==
          "2:15: \"path\" must start with /\n"
          "2:28: a TTL must be an integer from 0 to 100\n"
          "2:40: a name is a string\n");
  }

  TEST_CASE("unknown keys: each reported once, at the key, naming the keys asked for in order") {
    Read r(R"("listen": "x", "thread": 2, "zone": 1, "geoip": {})");
    std::string listen;
    unsigned threads = 1;
    r.reader.string("listen", listen);
    r.reader.integer("threads", threads, 1, 64);
    r.reader.allow({"geoip", "zones"});
    r.reader.report_unknown_keys();
    r.reader.report_unknown_keys();  // a second call reports nothing new
    CHECK(r.errors() ==
          "2:22: unknown key \"thread\" (expected one of: listen, threads, geoip, zones)\n"
          "2:35: unknown key \"zone\" (expected one of: listen, threads, geoip, zones)\n");
  }

  TEST_CASE("contains() does not count as asking; find() does") {
    Read r(R"("a": 1, "b": 2)");
    CHECK(r.reader.contains("a"));
    CHECK_FALSE(r.reader.contains("c"));
    REQUIRE(r.reader.find("b") != nullptr);
    CHECK(*r.reader.find("b") == json(2));
    r.reader.report_unknown_keys();
    CHECK(r.errors() == "2:7: unknown key \"a\" (expected one of: b)\n");
  }

  TEST_CASE("a section reads a nested object with positions of its own") {
    Read r(R"("tcp": {"idle_timeout": "x", "idle": 1})");
    auto tcp = r.reader.section("tcp");
    REQUIRE(tcp.has_value());
    milliseconds idle{0};
    CHECK_FALSE(tcp->duration("idle_timeout", idle));
    tcp->report_unknown_keys();
    r.reader.report_unknown_keys();
    CHECK(r.errors() ==
          "2:31: \"idle_timeout\" must be a duration such as \"10s\" or \"500ms\"\n"
          "2:36: unknown key \"idle\" (expected one of: idle_timeout)\n");
  }

  TEST_CASE("a value that is not an object has no keys") {
    const JsonSource source = JsonSource::parse("[1, 2]", "t.json");
    Diagnostics diagnostics;
    DiagnosticsSink sink(source, diagnostics);
    JsonObjectReader reader(source.root(), JsonPointer(), sink);
    CHECK_FALSE(reader.is_object());
    std::string s = "keep";
    CHECK(reader.string("s", s));
    CHECK(s == "keep");
    reader.report_unknown_keys();
    CHECK(diagnostics.empty());
  }
}
