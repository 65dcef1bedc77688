// The forwarding settings of every region ("backends" + "forward") are read once,
// when meridian.json is loaded (runtime::load_state), into typed values the
// loaded state carries for the forwarding tier; a bad value is reported at its
// file:line:column, with the forwarding tier's message.
#include <doctest/doctest.h>

#include <string>

#include "runtime/state_loader.hpp"
#include "unit/support/temp_dir.hpp"
#include "unit/support/text_position.hpp"

using namespace meridian;

namespace {

using meridian::test::where;

using TempDir = meridian::test::UnitTempDir;

std::string services_file(const std::string& eu_region) {
  return R"({
  "dns": {"listen": ["127.0.0.1:0"]},
  "zones": "zones/",
  "services": {
    "web": {"policy": "failover", "regions": {
      "eu": )" + eu_region + R"(,
      "us": {"endpoints": ["192.0.2.2"], "backends": ["127.0.0.1:9101"]},
      "ap": {"endpoints": ["192.0.2.3"]}}}}
}
)";
}

const char* const kForwardingEu = R"({"endpoints": ["192.0.2.1"],
        "backends": [{"address": "127.0.0.1:9001", "weight": 2, "group": "api"}, "127.0.0.1:9002"],
        "forward": {"l7": {"listen": "127.0.0.1:0", "balance": "least_conn"}, "drain_timeout": "2s"}})";

}  // namespace

TEST_CASE("forwarding settings: the loaded state carries them typed, for the regions that forward") {
  TempDir dir;
  dir.write("zones/.keep", "");
  const std::string path = dir.write("meridian.json", services_file(kForwardingEu));
  config::Diagnostics d;
  const auto state = runtime::load_state(path, d);
  INFO(d.to_string());
  REQUIRE(state);
  REQUIRE(state->forwarding);
  // "us" has backends but no "forward" (health only); "ap" has neither.
  REQUIRE(state->forwarding->size() == 1);
  const forward::ForwardedRegion& eu = state->forwarding->front();
  CHECK(eu.service == "web");
  CHECK(eu.region == "eu");
  REQUIRE(eu.settings.backends.size() == 2);
  CHECK(eu.settings.backends[0].address == "127.0.0.1:9001");
  CHECK(eu.settings.backends[0].weight == 2);
  CHECK(eu.settings.backends[0].group == "api");
  CHECK(eu.settings.backends[1].port == 9002);
  REQUIRE(eu.settings.l7);
  CHECK(eu.settings.l7->balance.algorithm == forward::Algorithm::least_conn);
  CHECK_FALSE(eu.settings.l4);
  CHECK(eu.settings.drain_timeout == forward::Ms(2000));
  // Routing keeps what it needs of the backends (health keys), from the same file.
  const routing::Service& web = state->services->services.front();
  const int us = web.region_index("us");
  REQUIRE(us >= 0);
  REQUIRE(web.regions[static_cast<std::size_t>(us)].backends.size() == 1);
}

TEST_CASE("forwarding settings: no forwarding region, an empty plan") {
  TempDir dir;
  dir.write("zones/.keep", "");
  const std::string path = dir.write("meridian.json", services_file(R"({"endpoints": ["192.0.2.1"]})"));
  config::Diagnostics d;
  const auto state = runtime::load_state(path, d);
  INFO(d.to_string());
  REQUIRE(state);
  REQUIRE(state->forwarding);
  CHECK(state->forwarding->empty());
}

TEST_CASE("forwarding settings: a bad value fails the load at its file:line:column") {
  TempDir dir;
  dir.write("zones/.keep", "");
  const std::string text = services_file(R"({"endpoints": ["192.0.2.1"], "backends": ["127.0.0.1:9001"],
        "forward": {"l7": {"listen": "127.0.0.1:0", "balance": "fastest"},
                    "outlier": {"base_ejection": "1m", "max_ejection": "10s"}}})");
  const std::string path = dir.write("meridian.json", text);
  config::Diagnostics d;
  CHECK_FALSE(runtime::load_state(path, d));
  INFO(d.to_string());
  REQUIRE(d.size() == 2);
  const auto balance = where(text, "\"fastest\"");
  const auto max_ejection = where(text, "\"10s\"");
  // In the order the forwarding reader meets them: "outlier" before "l7".
  CHECK(d.items()[0].to_string() == path + ":" + std::to_string(max_ejection.first) + ":" +
                                        std::to_string(max_ejection.second) +
                                        ": \"max_ejection\" must not be below \"base_ejection\"");
  CHECK(d.items()[1].to_string() == path + ":" + std::to_string(balance.first) + ":" + std::to_string(balance.second) +
                                        ": \"balance\" is one of round_robin, weighted_round_robin, least_conn, "
                                        "weighted_least_conn, ip_hash, consistent_hash, p2c");
}

TEST_CASE("forwarding settings: backends are read once, with the services; a mistyped key is reported at the key") {
  TempDir dir;
  dir.write("zones/.keep", "");
  const std::string text = services_file(R"({"endpoints": ["192.0.2.1"],
        "backends": [{"address": "127.0.0.1:9001", "wieght": 2}],
        "forward": {"l4": {"listen": "127.0.0.1:0"}}})");
  const std::string path = dir.write("meridian.json", text);
  config::Diagnostics d;
  CHECK_FALSE(runtime::load_state(path, d));
  INFO(d.to_string());
  REQUIRE(d.size() == 1);
  // The services loader reads "backends" for routing and the forwarding tier
  // alike, with the shared reader's wording, at the key as in the rest of the file.
  const auto key = where(text, "\"wieght\"");
  CHECK(d.items()[0].to_string() == path + ":" + std::to_string(key.first) + ":" + std::to_string(key.second) +
                                        ": unknown key \"wieght\" (expected one of: address, weight, group, max_connections, tls, protocol, h2_max_sessions)");
}
