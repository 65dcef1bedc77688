// HealthKey: the one parse and format of health keys (README "Health").
#include <doctest/doctest.h>

#include <unordered_set>

#include "health/health_key.hpp"

using meridian::health::HealthKey;
using Kind = HealthKey::Kind;

TEST_CASE("health key: the three forms parse and format back byte for byte") {
  struct Case {
    const char* text;
    Kind kind;
    const char* service;
    const char* region;
    const char* address;
  };
  const Case cases[] = {
      {"web/eu-west", Kind::region, "web", "eu-west", ""},
      {"web/us-east/127.0.0.21", Kind::endpoint, "web", "us-east", "127.0.0.21"},
      {"web/us-east/2001:db8::1", Kind::endpoint, "web", "us-east", "2001:db8::1"},
      {"web/eu-west/backend/127.0.0.1:9001", Kind::backend, "web", "eu-west", "127.0.0.1:9001"},
      {"web/eu-west/backend/[2001:db8::1]:443", Kind::backend, "web", "eu-west", "[2001:db8::1]:443"},
      {"web/eu/backend", Kind::endpoint, "web", "eu", "backend"},  // no "/" after it: an endpoint's text
  };
  for (const Case& c : cases) {
    CAPTURE(c.text);
    const auto k = HealthKey::parse(c.text);
    REQUIRE(k.has_value());
    CHECK(k->kind() == c.kind);
    CHECK(k->service() == c.service);
    CHECK(k->region_name() == c.region);
    CHECK(k->address() == c.address);
    CHECK(k->to_string() == c.text);
    CHECK(k->region_key() == HealthKey::region(c.service, c.region));
  }
}

TEST_CASE("health key: the constructors write what the health files and /status show") {
  CHECK(HealthKey::region("web", "eu-west").to_string() == "web/eu-west");
  CHECK(HealthKey::endpoint("web", "us-east", "127.0.0.21").to_string() == "web/us-east/127.0.0.21");
  CHECK(HealthKey::backend("web", "eu-west", "127.0.0.1:9001").to_string() == "web/eu-west/backend/127.0.0.1:9001");
}

TEST_CASE("health key: malformed text is rejected") {
  for (const char* text : {"", "web", "/eu", "web/", "web//192.0.2.1", "web/eu/", "web/eu/backend/", "web/eu/a/b",
                           "web/eu/backend/127.0.0.1:1/x", "/", "//"}) {
    CAPTURE(text);
    CHECK_FALSE(HealthKey::parse(text).has_value());
  }
}

TEST_CASE("health key: equality, order and hash tell the kinds apart") {
  const HealthKey endpoint = HealthKey::endpoint("web", "eu", "127.0.0.1");
  const HealthKey backend = HealthKey::backend("web", "eu", "127.0.0.1");
  CHECK(endpoint != backend);
  CHECK(endpoint == *HealthKey::parse("web/eu/127.0.0.1"));
  CHECK((endpoint < backend) != (backend < endpoint));
  std::unordered_set<HealthKey> set{endpoint, backend, HealthKey::region("web", "eu"), *HealthKey::parse("web/eu/127.0.0.1")};
  CHECK(set.size() == 3);
  CHECK(set.count(*HealthKey::parse("web/eu/backend/127.0.0.1")) == 1);
}
