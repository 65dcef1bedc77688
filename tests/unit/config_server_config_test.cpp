// meridian.json: parse_duration and read_server_config, errors with positions.
#include <doctest/doctest.h>

#include <string>

#include "config/server_config.hpp"

using namespace meridian::config;
using nlohmann::json;
using std::chrono::milliseconds;

namespace {

struct Read {
  JsonSource source;
  Diagnostics diagnostics;
  ServerConfig config;
  explicit Read(const std::string& text, const std::string& name = "/etc/meridian/meridian.json")
      : source(JsonSource::parse(text, name)) {
    config = read_server_config(source, diagnostics);
  }
  // Every diagnostic as "line:column: message", one per line.
  std::string errors() const {
    std::string s;
    for (const auto& d : diagnostics.items())
      s += std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message + "\n";
    return s;
  }
  bool has(const std::string& line) const { return errors().find(line + "\n") != std::string::npos; }
  // Some diagnostic starts with this text.
  bool has_prefix(const std::string& start) const {
    for (const auto& d : diagnostics.items())
      if ((std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message).rfind(start, 0) == 0) return true;
    return false;
  }
};

// A valid config whose line 3 is the "dns" object's body line given.
std::string with_dns(const std::string& dns_line) {
  return "{\n"
         "  \"dns\": {\n" +
         dns_line +
         "\n"
         "  },\n"
         "  \"zones\": \"zones/\"\n"
         "}\n";
}

}  // namespace

TEST_SUITE("config.duration") {
  TEST_CASE("parse_duration: units and plain seconds") {
    CHECK(parse_duration(json("2s")) == milliseconds(2000));
    CHECK(parse_duration(json("500ms")) == milliseconds(500));
    CHECK(parse_duration(json("1m")) == milliseconds(60000));
    CHECK(parse_duration(json("2h")) == milliseconds(7200000));
    CHECK(parse_duration(json("1.5s")) == milliseconds(1500));
    CHECK(parse_duration(json("0.25")) == milliseconds(250));
    CHECK(parse_duration(json("10")) == milliseconds(10000));
    CHECK(parse_duration(json("0s")) == milliseconds(0));
    CHECK(parse_duration(json(3)) == milliseconds(3000));
    CHECK(parse_duration(json(0.5)) == milliseconds(500));
    CHECK(parse_duration(json(0.0004)) == milliseconds(0));
  }

  TEST_CASE("parse_duration: rejected values") {
    CHECK_FALSE(parse_duration(json("")).has_value());
    CHECK_FALSE(parse_duration(json("s")).has_value());
    CHECK_FALSE(parse_duration(json("5x")).has_value());
    CHECK_FALSE(parse_duration(json("5 s")).has_value());
    CHECK_FALSE(parse_duration(json("5sec")).has_value());
    CHECK_FALSE(parse_duration(json("-1s")).has_value());
    CHECK_FALSE(parse_duration(json(-1)).has_value());
    CHECK_FALSE(parse_duration(json("2e9s")).has_value());
    CHECK_FALSE(parse_duration(json("inf")).has_value());
    CHECK_FALSE(parse_duration(json(true)).has_value());
    CHECK_FALSE(parse_duration(json(nullptr)).has_value());
    CHECK_FALSE(parse_duration(json::array({1})).has_value());
  }

  // std::stod accepts "nan"; NaN passes both range checks (every comparison is
  // false) and is then converted to int64_t, which is undefined behaviour.
  TEST_CASE("parse_duration: NaN is rejected") {
    CHECK_FALSE(parse_duration(json("nan")).has_value());
    CHECK_FALSE(parse_duration(json("nanms")).has_value());
  }
}

TEST_SUITE("config.server") {
  TEST_CASE("a good configuration") {
    const Read r(R"({
  "dns": {"listen": ["127.0.0.1:5300", "[::1]:5300"], "threads": 2, "tcp_threads": 3,
          "max_udp_payload": 1400, "nsid": "node-1",
          "tcp": {"idle_timeout": "30s", "message_timeout": 2, "max_connections": 10},
          "chaos": {"version": "v1", "identity": false}},
  "zones": ["zones/", "/abs/other.json"],
  "health": "health/", "services": {}, "checks": {}
})");
    INFO(r.errors());
    CHECK(r.diagnostics.empty());
    const ServerConfig& c = r.config;
    CHECK(c.path == "/etc/meridian/meridian.json");
    CHECK(c.base_dir == "/etc/meridian");
    CHECK(c.dns.listen == std::vector<std::string>{"127.0.0.1:5300", "[::1]:5300"});
    CHECK(c.dns.threads == 2);
    CHECK(c.dns.tcp_threads == 3);
    CHECK(c.dns.max_udp_payload == 1400);
    CHECK(c.dns.nsid == "node-1");
    CHECK(c.dns.tcp_idle_timeout == milliseconds(30000));
    CHECK(c.dns.tcp_message_timeout == milliseconds(2000));
    CHECK(c.dns.tcp_max_connections == 10);
    CHECK(c.dns.chaos_version == "v1");
    CHECK_FALSE(c.dns.chaos_identity.has_value());
    CHECK(c.zone_paths == std::vector<std::string>{"/etc/meridian/zones/", "/abs/other.json"});
    CHECK(c.source == &r.source);
  }

  TEST_CASE("defaults") {
    const Read r(R"({"dns": {"listen": "127.0.0.1:53"}, "zones": "z"})", "meridian.json");
    INFO(r.errors());
    CHECK(r.diagnostics.empty());
    CHECK(r.config.base_dir == ".");
    CHECK(r.config.zone_paths == std::vector<std::string>{"z"});
    CHECK(r.config.dns.listen == std::vector<std::string>{"127.0.0.1:53"});
    CHECK(r.config.dns.threads == 1);
    CHECK(r.config.dns.max_udp_payload == 1232);
    CHECK(r.config.dns.tcp_idle_timeout == milliseconds(10000));
    CHECK(r.config.dns.nsid.empty());
    REQUIRE(r.config.dns.chaos_version.has_value());
    CHECK(r.config.dns.chaos_version->rfind("meridian ", 0) == 0);
    CHECK(r.config.dns.chaos_identity.has_value());
    const Read off(R"({"dns": {"listen": "127.0.0.1:53", "chaos": false}, "zones": "z"})");
    CHECK_FALSE(off.config.dns.chaos_version.has_value());
    CHECK_FALSE(off.config.dns.chaos_identity.has_value());
  }

  TEST_CASE("unknown keys, at their key") {
    const Read r("{\n  \"dns\": {\"listen\": \"127.0.0.1:53\", \"thread\": 2},\n  \"zones\": \"z\",\n  \"zone\": \"y\"\n}");
    INFO(r.errors());
    CHECK(r.diagnostics.size() == 2);
    CHECK(r.has_prefix("4:3: unknown key \"zone\" (expected one of: dns, zones, "));
    CHECK(r.has_prefix("2:37: unknown key \"thread\" (expected one of: listen, threads, tcp_threads, "));
  }

  TEST_CASE("bad listen addresses, at the array element") {
    const Read r(with_dns("    \"listen\": [\"127.0.0.1:5300\", \"localhost:53\", \"[::1]:99999\", \"127.0.0.1:5300\"]"));
    INFO(r.errors());
    CHECK(r.has("3:34: \"localhost:53\" is not an address:port such as 127.0.0.1:53 or [::1]:53"));
    CHECK(r.has("3:50: \"[::1]:99999\" is not an address:port such as 127.0.0.1:53 or [::1]:53"));
    CHECK(r.has("3:65: listen address given twice"));
    CHECK(r.diagnostics.size() == 3);
    CHECK(r.config.dns.listen == std::vector<std::string>{"127.0.0.1:5300"});

    const Read one(with_dns("    \"listen\": \"127.0.0.1\""));
    CHECK(one.errors() == "3:15: \"127.0.0.1\" is not an address:port such as 127.0.0.1:53 or [::1]:53\n"
                          "2:10: \"listen\" needs at least one address\n");
    const Read wrong(with_dns("    \"listen\": 53"));
    CHECK(wrong.has("3:15: \"listen\" must be an address string or an array of them"));
  }

  // A non-string element is skipped before the addresses are checked, so the
  // index used for the position is shifted: the bad address at index 1 is
  // reported at index 0.
  TEST_CASE("listen: positions after a non-string element") {
    const Read r(with_dns("    \"listen\": [5300, \"nonsense\"]"));
    INFO(r.errors());
    CHECK(r.has("3:16: a listen address is a string"));
    CHECK(r.has("3:22: \"nonsense\" is not an address:port such as 127.0.0.1:53 or [::1]:53"));
  }

  TEST_CASE("threads out of range, at the value") {
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"threads\": 0")).errors() ==
          "3:42: \"threads\" must be an integer from 1 to 64\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"threads\": 65")).errors() ==
          "3:42: \"threads\" must be an integer from 1 to 64\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"threads\": -2")).errors() ==
          "3:42: \"threads\" must be an integer from 1 to 64\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"threads\": \"2\"")).errors() ==
          "3:42: \"threads\" must be an integer from 1 to 64\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"threads\": 64")).errors() == "");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"max_udp_payload\": 511")).errors() ==
          "3:50: \"max_udp_payload\" must be an integer from 512 to 4096\n");
  }

  TEST_CASE("durations and other dns settings") {
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"tcp\": {\"idle_timeout\": \"5x\"}")).errors() ==
          "3:55: \"idle_timeout\" must be a duration such as \"10s\" or \"500ms\"\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"tcp\": {\"idle_timeout\": \"0s\"}")).errors() ==
          "3:55: \"idle_timeout\" must be a duration such as \"10s\" or \"500ms\"\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"tcp\": {\"idle\": 1}")).errors() ==
          "3:39: unknown key \"idle\" (expected one of: idle_timeout, message_timeout, max_connections, max_per_client, max_transfers)\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"tcp\": {\"max_per_client\": -1}")).errors() ==
          "3:57: \"max_per_client\" must be an integer from 0 to 1000000\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"tcp\": {\"max_per_client\": 16}")).config.dns.tcp_max_per_client == 16);
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"tcp\": 5")).errors() == "3:38: \"tcp\" must be an object\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"nsid\": 5")).errors() ==
          "3:39: \"nsid\" must be a string of at most 128 bytes\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"chaos\": {\"version\": 1}")).errors() ==
          "3:52: \"version\" must be a string, or false to disable it\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"chaos\": true")).errors() ==
          "3:40: \"chaos\" must be an object {\"version\": ..., \"identity\": ...} or false\n");
  }

  TEST_CASE("dns.cookies: defaults, keys, the secret file's path resolved, errors at their key") {
    const Read defaults(with_dns("    \"listen\": \"127.0.0.1:53\""));
    CHECK(defaults.config.dns.cookies.enabled);
    CHECK_FALSE(defaults.config.dns.cookies.require);
    CHECK(defaults.config.dns.cookies.secret_file.empty());
    const Read set(with_dns("    \"listen\": \"127.0.0.1:53\", \"cookies\": {\"enabled\": true, "
                            "\"secret_file\": \"keys/cookie.secret\", \"require\": true}"));
    CHECK(set.errors().empty());
    CHECK(set.config.dns.cookies.require);
    CHECK(set.config.dns.cookies.secret_file == "/etc/meridian/keys/cookie.secret");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"cookies\": {\"secret\": \"x\"}")).errors() ==
          "3:43: unknown key \"secret\" (expected one of: enabled, secret_file, require)\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"cookies\": {\"require\": \"yes\"}")).has_prefix("3:54: "));
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"cookies\": {\"secret_file\": \"\"}")).errors() ==
          "3:58: \"secret_file\" is the path of a file holding 32 hex digits\n");
    CHECK(Read(with_dns("    \"listen\": \"127.0.0.1:53\", \"cookies\": true")).has_prefix("3:42: \"cookies\" must be an object"));
  }

  TEST_CASE("admin settings, at the value or the key") {
    CHECK(Read(R"({"dns": {"listen": "127.0.0.1:53"}, "zones": "z", "admin": {"listen": "x", "ready_after_checks": 1, )"
               R"("tokn": "t"}})")
              .errors() ==
          "1:71: \"listen\" is an address:port such as 127.0.0.1:9153\n"
          "1:98: \"ready_after_checks\" must be true or false\n"
          "1:101: unknown key \"tokn\" (expected one of: listen, token, ready_after_checks)\n");
    CHECK(Read(R"({"dns": {"listen": "127.0.0.1:53"}, "zones": "z", "admin": []})").errors() ==
          "1:60: \"admin\" must be an object {\"listen\": \"127.0.0.1:9153\"}\n");
  }

  TEST_CASE("required sections") {
    CHECK(Read("{\n  \"zones\": \"z\"\n}").errors() == "1:1: \"dns\": {\"listen\": [...]} is required\n");
    CHECK(Read("{\"dns\": {\"listen\": \"127.0.0.1:53\"}}").errors() ==
          "1:1: \"zones\" is required: a folder of zone files (e.g. \"zones/\")\n");
    CHECK(Read("{\"dns\": {}, \"zones\": \"z\"}").errors() == "1:9: \"listen\" needs at least one address\n");
    CHECK(Read("{\"dns\": [], \"zones\": \"z\"}").errors() ==
          "1:9: \"dns\" must be an object\n1:9: \"listen\" needs at least one address\n");
    CHECK(Read("{\"dns\": {\"listen\": \"127.0.0.1:53\"}, \"zones\": [\"a\", 2]}").errors() ==
          "1:52: a zone path is a string\n");
    CHECK(Read("{\"dns\": {\"listen\": \"127.0.0.1:53\"}, \"zones\": 2}").errors() ==
          "1:46: \"zones\" must be a folder or file path, or an array of them\n");
    CHECK(Read("[]").errors() == "1:1: the configuration must be a JSON object\n");
  }
}
