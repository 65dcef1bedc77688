// "forward.l4.sni" and "forward.l7.websocket": defaults, values and errors at their keys.
#include <doctest/doctest.h>

#include <map>
#include <string>

#include "forward/forwarding_tier.hpp"

using namespace meridian::forward;
using json = nlohmann::json;

namespace {

std::map<std::string, std::string> errors_of(const json& region) {
  std::map<std::string, std::string> out;
  validate_region(region, [&](const json::json_pointer& at, const std::string& m) { out[at.to_string()] = m; });
  return out;
}

json region_with(const json& forward) {
  return {{"backends", {{{"address", "127.0.0.1:9001"}, {"group", "web"}}, "127.0.0.1:9002"}}, {"forward", forward}};
}

}  // namespace

TEST_CASE("forward.l4.sni: names to groups, lower-cased; off by default") {
  RegionForward f;
  REQUIRE(parse_region(region_with({{"l4", {{"listen", "127.0.0.1:0"}}}}), f, nullptr));
  CHECK(f.l4->sni.empty());
  REQUIRE(parse_region(
      region_with({{"l4", {{"listen", "127.0.0.1:0"}, {"sni", {{"WWW.Example.com", "web"}, {"*.api.example.com", "web"}, {"*", "default"}}}}}}),
      f, nullptr));
  std::map<std::string, std::string> got;
  for (const auto& r : f.l4->sni) got[r.name] = r.group;
  CHECK(got == std::map<std::string, std::string>{{"www.example.com", "web"}, {"*.api.example.com", "web"}, {"*", "default"}});
}

TEST_CASE("forward.l4.sni: errors at the name") {
  const auto e = errors_of(region_with(
      {{"l4", {{"listen", "127.0.0.1:0"},
               {"sni", {{"www.*.com", "web"}, {"a..b", "web"}, {"trailing.", "web"}, {"x.example.com", "nogroup"},
                        {"y.example.com", 3}, {"Z.example.com", "web"}, {"z.example.com", "web"}}}}}}));
  CHECK(e.count("/forward/l4/sni/www.*.com"));
  CHECK(e.count("/forward/l4/sni/a..b"));
  CHECK(e.count("/forward/l4/sni/trailing."));
  CHECK(e.at("/forward/l4/sni/x.example.com").find("nogroup") != std::string::npos);
  CHECK(e.count("/forward/l4/sni/y.example.com"));
  CHECK(e.count("/forward/l4/sni/z.example.com"));  // the same name as Z.example.com
  CHECK(errors_of(region_with({{"l4", {{"listen", "127.0.0.1:0"}, {"sni", json::object()}}}})).count("/forward/l4/sni"));
  CHECK(errors_of(region_with({{"l4", {{"listen", "127.0.0.1:0"}, {"sni", "web"}}}})).count("/forward/l4/sni"));
}

TEST_CASE("forward.l7.websocket.idle_timeout: 300s by default") {
  RegionForward f;
  REQUIRE(parse_region(region_with({{"l7", {{"listen", "127.0.0.1:0"}}}}), f, nullptr));
  CHECK(f.l7->websocket_idle_timeout == Ms(300000));
  REQUIRE(parse_region(region_with({{"l7", {{"listen", "127.0.0.1:0"}, {"websocket", {{"idle_timeout", "2m"}}}}}}), f,
                       nullptr));
  CHECK(f.l7->websocket_idle_timeout == Ms(120000));
  CHECK(errors_of(region_with({{"l7", {{"listen", "127.0.0.1:0"}, {"websocket", {{"idle", "2m"}}}}}}))
            .count("/forward/l7/websocket/idle"));
  CHECK(errors_of(region_with({{"l7", {{"listen", "127.0.0.1:0"}, {"websocket", {{"idle_timeout", "soon"}}}}}}))
            .count("/forward/l7/websocket/idle_timeout"));
}
