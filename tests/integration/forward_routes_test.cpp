// L7 routes against real backends: matches on host, path (prefix and exact), method,
// headers (exact, prefix, regex, present) and cookies, in order; a weighted split between
// groups (a 95/5 canary, measured on 10,000 keep-alive requests), pinned by a cookie or a
// hash; new routes on reload while a keep-alive connection goes on; settings errors.
#include <doctest/doctest.h>

#include <chrono>
#include <tuple>

#include "forward_support/backends.hpp"
#include "health/health_table.hpp"

using namespace fwdtest;
using meridian::forward::ForwardingTier;
using json = nlohmann::json;

namespace {

// stable: backend "s"; canary: backend "c".
json grouped(HttpBackend& stable, HttpBackend& canary) {
  return json::array({{{"address", stable.address()}, {"group", "stable"}},
                      {{"address", canary.address()}, {"group", "canary"}}});
}

json region(HttpBackend& stable, HttpBackend& canary, const json& routes) {
  return {{"backends", grouped(stable, canary)},
          {"forward", {{"l7", {{"listen", "127.0.0.1:0"}, {"routes", routes}}}, {"outlier", {{"consecutive_failures", 0}}}}}};
}

// Who answered: the X-Backend of a 200, else "status N".
std::string who(const Response& r) {
  return r.result_int() == 200 ? std::string(r["X-Backend"]) : "status " + std::to_string(r.result_int());
}

const json kCanary = {{"path_prefix", "/"},
                      {"split", {{{"group", "stable"}, {"weight", 95}}, {{"group", "canary"}, {"weight", 5}}}}};

}  // namespace

TEST_CASE("routes match host, path, method, headers and cookies, first match wins") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend s("s"), c("c");
  const json routes = json::array({
      {{"header", {{"x-canary", "1"}}}, {"group", "canary"}},
      {{"header", {{"X-User", {{"prefix", "beta-"}}}}}, {"group", "canary"}},
      {{"header", {{"x-build", {{"regex", "^v2\\.[0-9]+$"}}}}}, {"group", "canary"}},
      {{"header", {{"x-debug", {{"present", true}}}}}, {"group", "canary"}},
      {{"cookie", {{"tier", "gold"}}}, {"group", "canary"}},
      {{"method", "POST"}, {"path", "/submit"}, {"group", "canary"}},
      {{"method", json::array({"PUT", "DELETE"})}, {"path_prefix", "/admin/"}, {"group", "canary"}},
      {{"host", "*.canary.test"}, {"group", "canary"}},
      {{"header", {{"x-ab", "b"}}}, {"cookie", {{"seen", {{"present", false}}}}}, {"group", "canary"}},
      {{"path_prefix", "/"}, {"group", "stable"}},
  });
  tier.apply(services(region(s, c, routes)));
  Client cl(port_of(tier, "l7"));
  using H = std::map<std::string, std::string>;
  CHECK(who(cl.get("/", H{{"X-Canary", "1"}})) == "c");
  CHECK(who(cl.get("/", H{{"X-Canary", "2"}})) == "s");
  CHECK(who(cl.get("/", H{{"x-user", "beta-7"}})) == "c");
  CHECK(who(cl.get("/", H{{"x-user", "alpha-beta-7"}})) == "s");
  CHECK(who(cl.get("/", H{{"x-build", "v2.13"}})) == "c");
  CHECK(who(cl.get("/", H{{"x-build", "v2.13-rc"}})) == "s");
  CHECK(who(cl.get("/", H{{"x-debug", ""}})) == "c");
  CHECK(who(cl.get("/", H{{"Cookie", "a=1; tier=gold"}})) == "c");
  CHECK(who(cl.get("/", H{{"Cookie", "tier=golden"}})) == "s");
  CHECK(who(cl.request(http::verb::post, "/submit?x=1", {}, "body")) == "c");
  CHECK(who(cl.request(http::verb::post, "/submit/more", {}, "body")) == "s");
  CHECK(who(cl.get("/submit")) == "s");
  CHECK(who(cl.request(http::verb::delete_, "/admin/x")) == "c");
  CHECK(who(cl.get("/admin/x")) == "s");
  CHECK(who(cl.get("/", H{{"Host", "www.Canary.test:8080"}})) == "c");
  CHECK(who(cl.get("/", H{{"Host", "canary.test"}})) == "s");
  CHECK(who(cl.get("/", H{{"x-ab", "b"}})) == "c");
  CHECK(who(cl.get("/", H{{"x-ab", "b"}, {"Cookie", "seen=1"}})) == "s");
  CHECK(who(cl.get("/")) == "s");
}

TEST_CASE("a 95/5 split over 10,000 keep-alive requests is within one point of its weights") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend s("s"), c("c");
  for (const std::string sticky : {"", "cookie:meridian-grp"}) {
    CAPTURE(sticky);
    json route = kCanary;
    if (!sticky.empty()) route["sticky"] = sticky;
    tier.apply(services(region(s, c, json::array({route}))));
    const auto started = std::chrono::steady_clock::now();
    std::map<std::string, int> n;
    int pins = 0;
    Client cl(port_of(tier, "l7"));
    for (int i = 0; i < 10000; ++i) {
      const Response r = cl.get("/");
      ++n[who(r)];
      if (r.count(http::field::set_cookie)) ++pins;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    MESSAGE("10,000 requests in " << seconds << " s: stable " << n["s"] << ", canary " << n["c"]);
    CHECK(n["s"] + n["c"] == 10000);
    CHECK(std::abs(n["s"] / 100.0 - 95) <= 1);
    CHECK(std::abs(n["c"] / 100.0 - 5) <= 1);
    CHECK(pins == (sticky.empty() ? 0 : 10000));  // a client without the cookie is pinned by every answer
  }
}

TEST_CASE("sticky splits: a cookie pins a client to its group; a hash keeps a key on one group") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend s("s"), c("c");
  json route = kCanary;
  route["sticky"] = "cookie:meridian-grp";
  tier.apply(services(region(s, c, json::array({route}))));
  Client cl(port_of(tier, "l7"));

  // first visits until one lands on the canary: its cookie names the group
  std::string canary_cookie, stable_cookie;
  for (int i = 0; i < 200 && (canary_cookie.empty() || stable_cookie.empty()); ++i) {
    const Response r = cl.get("/");
    const std::string set(r[http::field::set_cookie]);
    (who(r) == "c" ? canary_cookie : stable_cookie) = set;
  }
  CHECK(canary_cookie == "meridian-grp=canary; Path=/");
  CHECK(stable_cookie == "meridian-grp=stable; Path=/");
  // a pinned client stays, and is not told again
  for (int i = 0; i < 100; ++i) {
    const Response r = cl.get("/", {{"Cookie", "x=1; meridian-grp=canary"}});
    REQUIRE(who(r) == "c");
    CHECK(r.count(http::field::set_cookie) == 0);
  }
  for (int i = 0; i < 100; ++i) REQUIRE(who(cl.get("/", {{"Cookie", "meridian-grp=stable"}})) == "s");
  // a cookie naming no group of the split is chosen anew (and replaced)
  CHECK(cl.get("/", {{"Cookie", "meridian-grp=gone"}}).count(http::field::set_cookie) == 1);

  // by a hash of a header: one user always on one group, the users shared about 95/5
  route["sticky"] = "hash:header:x-user";
  tier.apply(services(region(s, c, json::array({route}))));
  std::map<std::string, int> users_on;
  for (int u = 0; u < 2000; ++u) {
    const std::string user = "user-" + std::to_string(u);
    const std::string first = who(cl.get("/", {{"x-user", user}}));
    for (int k = 0; k < 2; ++k) REQUIRE(who(cl.get("/", {{"x-user", user}})) == first);
    ++users_on[first];
  }
  CHECK(users_on["s"] + users_on["c"] == 2000);
  CHECK(std::abs(users_on["c"] / 20.0 - 5) <= 2);  // 100 ± 40 of 2,000 users
}

TEST_CASE("routes and splits change on reload; a keep-alive connection goes on") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend s("s"), c("c");
  tier.apply(services(region(s, c, json::array({{{"path_prefix", "/"}, {"group", "stable"}}}))));
  Client cl(port_of(tier, "l7"));
  for (int i = 0; i < 10; ++i) REQUIRE(who(cl.get("/")) == "s");
  const auto connections = [&] { return tier.status()["listeners"][0]["connections_total"].get<int>(); };
  const int before = connections();

  json all_canary = kCanary;
  all_canary["split"][0]["weight"] = 0;
  all_canary["split"][1]["weight"] = 1;
  tier.apply(services(region(s, c, json::array({all_canary}))));
  for (int i = 0; i < 10; ++i) CHECK(who(cl.get("/")) == "c");
  tier.apply(services(region(s, c, json::array({{{"header", {{"x-canary", "1"}}}, {"group", "canary"}},
                                                  {{"path_prefix", "/"}, {"group", "stable"}}}))));
  CHECK(who(cl.get("/")) == "s");
  CHECK(who(cl.get("/", {{"x-canary", "1"}})) == "c");
  CHECK(connections() == before);  // the same connection throughout
}

TEST_CASE("route settings: errors at their key") {
  HttpBackend s("s"), c("c");
  auto errors_of = [&](const json& route) {
    meridian::forward::RegionForward out;
    std::map<std::string, std::string> errors;
    meridian::forward::parse_region(region(s, c, json::array({route})), out,
                                    [&](const json::json_pointer& at, const std::string& m) { errors[at.to_string()] = m; });
    return errors;
  };
  const std::string at = "/forward/l7/routes/0/";
  CHECK(errors_of({{"header", {{"x", {{"regex", "(unclosed"}}}}}, {"group", "canary"}}).count(at + "header/x/regex") == 1);
  CHECK(errors_of({{"header", {{"x", {{"suffix", "a"}}}}}, {"group", "canary"}}).count(at + "header/x") == 1);
  CHECK(errors_of({{"cookie", "a=b"}, {"group", "canary"}}).count(at + "cookie") == 1);
  CHECK(errors_of({{"method", "get"}, {"group", "canary"}}).count(at + "method") == 1);
  CHECK(errors_of({{"path", "x"}, {"group", "canary"}}).count(at + "path") == 1);
  CHECK(errors_of({{"group", "canary"}, {"split", kCanary["split"]}}).count(at + "split") == 1);
  CHECK(errors_of({{"split", {{{"group", "nope"}, {"weight", 1}}}}}).count(at + "split/0/group") == 1);
  CHECK(errors_of({{"split", {{{"group", "stable"}, {"weight", 0}}}}}).count(at + "split") == 1);
  CHECK(errors_of({{"group", "canary"}, {"sticky", "cookie:g"}}).count(at + "sticky") == 1);
  json bad_sticky = kCanary;
  bad_sticky["sticky"] = "ip";
  CHECK(errors_of(bad_sticky).count(at + "sticky") == 1);
  json good = kCanary;
  good["sticky"] = "hash:cookie:session";
  good["header"] = {{"x-a", {{"present", true}}}, {"x-b", {{"regex", "^a+$"}}}};
  good["method"] = json::array({"GET", "HEAD"});
  CHECK(errors_of(good).empty());
}

TEST_CASE("gRPC requests are retried only on a route marked idempotent; other POSTs likewise") {
  meridian::health::HealthTable health;
  ForwardingTier tier(health);
  HttpBackend bad("bad"), good("good");
  bad.set_reply(Reply::status_code(503));
  good.set([](const meridian::test::HttpRequest&) { return Reply(200, "good", {{"X-Backend", "good"}}); });
  const json routes = json::array({{{"path_prefix", "/idem/"}, {"group", "default"}, {"idempotent", true}},
                                   {{"path_prefix", "/"}, {"group", "default"}}});
  tier.apply(services({{"backends", backend_list({&bad, &good})},
                       {"forward", {{"l7", {{"listen", "127.0.0.1:0"}, {"routes", routes},
                                            {"retry", {{"budget", {{"min_retries", 1000}}}}}}},
                                    {"outlier", {{"consecutive_failures", 0}}},
                                    {"circuit_breaker", {{"enabled", false}}}}}}));
  Client cl(port_of(tier, "l7"));
  using H = std::map<std::string, std::string>;
  const H grpc{{"Content-Type", "application/grpc"}, {"TE", "trailers"}};
  const auto sent = [&] { return bad.requests() + good.requests(); };
  // Counts the answers of n requests and checks how many reached backends.
  const auto run = [&](http::verb method, const std::string& path, const H& headers, uint64_t& ok) {
    ok = 0;
    const uint64_t before = sent();
    for (int i = 0; i < 10; ++i) ok += cl.request(method, path, headers, "x").result_int() == 200;
    return sent() - before;
  };
  uint64_t ok = 0;
  CHECK(run(http::verb::post, "/pkg.Svc/Call", grpc, ok) == 10);  // never retried
  CHECK(ok == 5);
  CHECK(run(http::verb::get, "/pkg.Svc/Call", grpc, ok) == 10);  // gRPC, even as GET
  CHECK(ok == 5);
  // retried: every 503 is retried on the other backend (how many first picks were the bad
  // one depends on how round robin steps over the retries)
  for (const auto& [method, path, headers] : {std::tuple{http::verb::get, "/plain", H{}},  // a GET
                                              std::tuple{http::verb::post, "/idem/pkg.Svc/Call", grpc},
                                              std::tuple{http::verb::post, "/idem/form", H{}}}) {
    const uint64_t n = run(method, path, headers, ok);
    CHECK_MESSAGE(ok == 10, path);
    CHECK_MESSAGE(n > 10, path);
    CHECK_MESSAGE(n <= 20, path);
  }
}
