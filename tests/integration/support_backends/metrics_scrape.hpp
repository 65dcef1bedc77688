// /metrics of a running meridian, parsed as Prometheus text; the test stops
// (with the text) when it does not parse.
#pragma once
#include <doctest/doctest.h>

#include <string>

#include "integration/support_backends/meridian_fixture.hpp"
#include "integration/support_backends/prometheus_text.hpp"

namespace meridian::test::backends {

inline prom::Exposition scrape(const Meridian& m) {
  const HttpResponse r = m.get("/metrics");
  REQUIRE(r.ok);
  REQUIRE(r.status == 200);
  prom::Exposition e = prom::parse(r.body);
  INFO(r.body);
  REQUIRE_MESSAGE(e.ok(), e.error_text());
  return e;
}

}  // namespace meridian::test::backends
