// JsonSource: syntax errors with line:column, and locate() for any JSON pointer.
#include <doctest/doctest.h>

#include <string>

#include "config/json_source.hpp"

using namespace meridian::config;
using nlohmann::json;

namespace {

// "line:column: message" of the syntax error text raises, or "ok".
std::string syntax_error(const std::string& text) {
  try {
    JsonSource::parse(text, "bad.json");
  } catch (const LoadError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    const Diagnostic& d = e.diagnostics().items().front();
    CHECK(d.file == "bad.json");
    return std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message;
  }
  return "ok";
}

std::string at(const JsonSource& src, const char* pointer, bool key = false) {
  const TextPosition p = src.locate(json::json_pointer(pointer), key);
  return std::to_string(p.line) + ":" + std::to_string(p.column);
}

const char* const kDoc =
    "{\n"                                              // 1
    "  \"a\": {\n"                                     // 2
    "    \"b\": [10, {\"c\": \"x\"}, [1, 2]],\n"       // 3
    "    \"d e\": true\n"                              // 4
    "  },\n"                                           // 5
    "  \"list\": [\"p\", \"q\"],\n"                    // 6
    "  \"s\": \"}{][,:\\\"\", \"x/y\": {\"~t\": 5},\n" // 7
    "\t\"q\\\"k\": -1.5e3,\r\n"                        // 8
    "  \"last\": null\n"                               // 9
    "}\n";

}  // namespace

TEST_SUITE("config.json_source") {
  TEST_CASE("syntax errors name the line and column") {
    CHECK(syntax_error("{\"a\": 1}") == "ok");
    CHECK(syntax_error("{\"a\": 1,}").rfind("1:9: invalid JSON: ", 0) == 0);
    CHECK(syntax_error("{\n  \"a\": 1,\n}").rfind("3:1: invalid JSON: ", 0) == 0);
    CHECK(syntax_error("{\"a\" 1}").rfind("1:6: invalid JSON: ", 0) == 0);
    CHECK(syntax_error("{} x").rfind("1:4: invalid JSON: ", 0) == 0);
    CHECK(syntax_error("").rfind("1:1: invalid JSON: ", 0) == 0);
    // a multi-byte token: the column falls on the unexpected string "b" (3:3 to 3:5)
    const std::string tok = syntax_error("{\n  \"a\": [1, 2\n  \"b\": 3\n}");
    CHECK((tok.rfind("3:3: ", 0) == 0 || tok.rfind("3:4: ", 0) == 0 || tok.rfind("3:5: ", 0) == 0));
    CHECK(tok.find("invalid JSON: ") != std::string::npos);
    CHECK(syntax_error("{\"a\": \"x").rfind("1:9: invalid JSON: ", 0) == 0);  // runs off the end
    CHECK(syntax_error("{\n\t\"zones\": 'x'\n}").rfind("2:11: invalid JSON: ", 0) == 0);
    // the message is nlohmann's, without its "[json.exception...] parse error at ...:" prefix
    const std::string e = syntax_error("[1, 2");
    CHECK(e.find("json.exception") == std::string::npos);
    CHECK(e.find("expected ']'") != std::string::npos);
  }

  TEST_CASE("load_file: a missing file is a LoadError") {
    try {
      JsonSource::load_file("/nonexistent/meridian.json");
      FAIL("no exception");
    } catch (const LoadError& e) {
      CHECK(std::string(e.what()) == "/nonexistent/meridian.json: cannot open file");
      CHECK(e.diagnostics().items().front().line == 0);
    }
  }

  TEST_CASE("locate: values and keys of nested objects") {
    const JsonSource src = JsonSource::parse(kDoc, "doc.json");
    CHECK(src.path() == "doc.json");
    CHECK(src.root()["a"]["b"][1]["c"] == "x");
    CHECK(at(src, "") == "1:1");
    CHECK(at(src, "/a") == "2:8");
    CHECK(at(src, "/a", true) == "2:3");
    CHECK(at(src, "/a/b") == "3:10");
    CHECK(at(src, "/a/b", true) == "3:5");
    CHECK(at(src, "/a/d e") == "4:12");
    CHECK(at(src, "/a/d e", true) == "4:5");
    CHECK(at(src, "/list") == "6:11");
    CHECK(at(src, "/last") == "9:11");
    CHECK(at(src, "/last", true) == "9:3");
  }

  TEST_CASE("locate: array elements") {
    const JsonSource src = JsonSource::parse(kDoc, "doc.json");
    CHECK(at(src, "/a/b/0") == "3:11");
    CHECK(at(src, "/a/b/1") == "3:15");
    CHECK(at(src, "/a/b/1/c") == "3:21");
    CHECK(at(src, "/a/b/1/c", true) == "3:16");
    CHECK(at(src, "/a/b/2") == "3:27");
    CHECK(at(src, "/a/b/2/1") == "3:31");
    CHECK(at(src, "/list/0") == "6:12");
    CHECK(at(src, "/list/1") == "6:17");
    // for an array element, key=true is the element itself
    CHECK(at(src, "/list/1", true) == "6:17");
  }

  TEST_CASE("locate: strings with brackets, escaped keys, tabs and CRLF") {
    const JsonSource src = JsonSource::parse(kDoc, "doc.json");
    CHECK(at(src, "/s") == "7:8");
    CHECK(at(src, "/x~1y") == "7:27");
    CHECK(at(src, "/x~1y", true) == "7:20");
    CHECK(at(src, "/x~1y/~0t") == "7:34");
    CHECK(at(src, "/q\"k") == "8:10");
    CHECK(at(src, "/q\"k", true) == "8:2");
  }

  TEST_CASE("locate falls back to the nearest enclosing value") {
    const JsonSource src = JsonSource::parse(kDoc, "doc.json");
    CHECK(at(src, "/a/missing") == "2:8");
    CHECK(at(src, "/a/missing", true) == "2:8");
    CHECK(at(src, "/list/5") == "6:11");
    CHECK(at(src, "/a/b/0/x") == "3:11");
    CHECK(at(src, "/nothing/deeper") == "1:1");
  }

  // nlohmann/json would keep the last of duplicated keys silently (a zone naming
  // "www" twice would lose the first records): the parse refuses them, naming
  // the second occurrence.
  TEST_CASE("a duplicated key is an error at the second occurrence") {
    try {
      (void)JsonSource::parse("{\n  \"www\": 1,\n  \"www\": \"x\"\n}", "dup.json");
      FAIL("duplicate key accepted");
    } catch (const std::exception& e) {
      CHECK(std::string(e.what()) == "dup.json:3:3: key \"www\" appears twice in the same object");
    }
  }

  TEST_CASE("keys repeat freely across objects; a repeat inside a nested object is found") {
    CHECK_NOTHROW((void)JsonSource::parse(R"({"a": {"x": 1, "y": [{"x": 2}, {"x": 3}]}, "b": {"x": 4}, "x": 5})", "ok.json"));
    try {
      (void)JsonSource::parse("{\"a\": [1, {\"b\": {\"c\": 1,\n \"c\": 2}}], \"c\": 3}", "deep.json");
      FAIL("nested duplicate accepted");
    } catch (const std::exception& e) {
      CHECK(std::string(e.what()) == "deep.json:2:2: key \"c\" appears twice in the same object");
    }
  }

  // A zone's records are one object of many objects: loading must stay linear in
  // them (nlohmann's parse callback rescanned the object per child: 10k names took
  // a second, 100k more than ten minutes). Not timed here: this guards the result.
  TEST_CASE("an object of 20,000 objects parses, every key kept") {
    std::string text = "{";
    for (int i = 0; i < 20000; ++i) text += (i ? ",\"h" : "\"h") + std::to_string(i) + "\": {\"A\": \"192.0.2.1\"}";
    text += "}";
    const JsonSource src = JsonSource::parse(text, "big.json");
    CHECK(src.root().size() == 20000);
    CHECK(src.root()["h19999"]["A"] == "192.0.2.1");
  }

  TEST_CASE("error_at builds a diagnostic") {
    const JsonSource src = JsonSource::parse(kDoc, "doc.json");
    const Diagnostic d = src.error_at(json::json_pointer("/a/b/2"), "bad list");
    CHECK(d.file == "doc.json");
    CHECK(d.line == 3);
    CHECK(d.column == 27);
    CHECK(d.to_string() == "doc.json:3:27: bad list");
    CHECK(src.error_at(json::json_pointer("/a/d e"), "k", true).to_string() == "doc.json:4:5: k");
    Diagnostic whole{"f.json", 0, 0, "whole file"};
    CHECK(whole.to_string() == "f.json: whole file");
  }

  TEST_CASE("position_of_offset") {
    const std::string t = "ab\ncd\n\nx";
    CHECK(JsonSource::position_of_offset(t, 0).line == 1);
    CHECK(JsonSource::position_of_offset(t, 0).column == 1);
    CHECK(JsonSource::position_of_offset(t, 2).column == 3);
    CHECK(JsonSource::position_of_offset(t, 3).line == 2);
    CHECK(JsonSource::position_of_offset(t, 3).column == 1);
    CHECK(JsonSource::position_of_offset(t, 7).line == 4);
    CHECK(JsonSource::position_of_offset(t, 100).line == 4);  // clamped to the text
    CHECK(JsonSource::position_of_offset(t, 100).column == 2);
  }

  TEST_CASE("Diagnostics collects and joins") {
    Diagnostics d;
    CHECK(d.empty());
    d.add("a.json", 1, 2, "one");
    Diagnostics other;
    other.add({"b.json", 3, 4, "two"});
    d.append(other);
    CHECK(d.size() == 2);
    CHECK(d.to_string() == "a.json:1:2: one\nb.json:3:4: two");
  }
}

TEST_CASE("a number too large for a double is a load error at its position, not an escaping exception (found by fuzzing)") {
  try {
    meridian::config::JsonSource::parse("{\n  \"a\": 2e+308\n}", "big.json");
    FAIL("parse accepted 2e+308");
  } catch (const meridian::config::LoadError& e) {
    const std::string text = e.diagnostics().to_string();
    CHECK(text.find("big.json:2:8") != std::string::npos);
    CHECK(text.find("number overflow") != std::string::npos);
  }
}
