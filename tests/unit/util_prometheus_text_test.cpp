// The Prometheus text writer shared by /metrics and the forwarding tier: label
// escaping, number format, HELP/TYPE once per family with its samples together.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/prometheus_text.hpp"

using meridian::util::prometheus_escape;
using meridian::util::prometheus_number;
using meridian::util::PrometheusText;

namespace {

std::size_t count_of(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("label values escape backslash, double quote and newline") {
  CHECK(prometheus_escape("plain /path:53") == "plain /path:53");
  CHECK(prometheus_escape("a\\b") == "a\\\\b");
  CHECK(prometheus_escape("say \"hi\"") == "say \\\"hi\\\"");
  CHECK(prometheus_escape("two\nlines") == "two\\nlines");
  CHECK(prometheus_escape("\\\"\n") == "\\\\\\\"\\n");
  CHECK(prometheus_escape("") == "");
}

TEST_CASE("numbers: integers whole, others shortest round-trip, special values as the format spells them") {
  CHECK(prometheus_number(0) == "0");
  CHECK(prometheus_number(-0.0) == "0");
  CHECK(prometheus_number(1) == "1");
  CHECK(prometheus_number(1000000) == "1000000");
  CHECK(prometheus_number(-42) == "-42");
  CHECK(prometheus_number(2026010102.0) == "2026010102");
  CHECK(prometheus_number(9007199254740992.0) == "9007199254740992");
  CHECK(prometheus_number(0.1) == "0.1");
  CHECK(prometheus_number(0.25) == "0.25");
  CHECK(prometheus_number(1.5e-7) == "1.5e-07");
  CHECK(std::stod(prometheus_number(0.1 + 0.2)) == 0.1 + 0.2);  // round-trips, no rounding to 9 digits
  CHECK(prometheus_number(1e300) == "1e+300");
  CHECK(prometheus_number(std::numeric_limits<double>::infinity()) == "+Inf");
  CHECK(prometheus_number(-std::numeric_limits<double>::infinity()) == "-Inf");
  CHECK(prometheus_number(std::nan("")) == "NaN");
}

TEST_CASE("each family's HELP and TYPE come once, with its samples together") {
  PrometheusText m;
  m.family("a_total", "counter", "A things.");
  m.family("b", "gauge", "B now.");
  m.sample("a_total", {{"k", "x"}}, 1);
  m.sample("b", {}, 2.5);
  m.sample("a_total", {{"k", "y"}, {"j", "q\"uote"}}, 3);
  m.family("a_total", "gauge", "declared again: ignored");
  m.add("c_total", "counter", "C things.", "tier=\"l7\",listener=\"127.0.0.1:80\"", 4);
  m.add("c_total", "counter", "C things.", "tier=\"l4\",listener=\"127.0.0.1:81\"", 5);
  m.family("empty", "gauge", "No samples.");
  CHECK(m.render() ==
        "# HELP a_total A things.\n# TYPE a_total counter\n"
        "a_total{k=\"x\"} 1\n"
        "a_total{k=\"y\",j=\"q\\\"uote\"} 3\n"
        "# HELP b B now.\n# TYPE b gauge\n"
        "b 2.5\n"
        "# HELP c_total C things.\n# TYPE c_total counter\n"
        "c_total{tier=\"l7\",listener=\"127.0.0.1:80\"} 4\n"
        "c_total{tier=\"l4\",listener=\"127.0.0.1:81\"} 5\n"
        "# HELP empty No samples.\n# TYPE empty gauge\n");
  CHECK(count_of(m.render(), "# TYPE a_total") == 1);
}

TEST_CASE("HELP text escapes backslash and newline but not quotes") {
  PrometheusText m;
  m.family("x", "gauge", "zone=\"\" for a\\b,\nnext");
  CHECK(m.render() == "# HELP x zone=\"\" for a\\\\b,\\nnext\n# TYPE x gauge\n");
}

TEST_CASE("a sample of a family never declared is a programming error") {
  PrometheusText m;
  CHECK_THROWS_AS(m.sample("nope", {}, 1), std::logic_error);
}

TEST_CASE("labels known at run time, and a histogram's cumulative buckets, sum and count") {
  PrometheusText m;
  m.family("up", "gauge", "Up.");
  const std::vector<PrometheusText::Label> labels = {{"service", "web"}, {"backend", "127.0.0.1:9001"}};
  m.sample_with("up", labels, 1);
  m.family("took_seconds", "histogram", "How long.");
  const double bounds[] = {0.01, 0.5, 2};
  const uint64_t counts[] = {3, 0, 2, 1};  // the last: above 2 s
  m.histogram("took_seconds", bounds, counts, 4.25);
  CHECK(m.render() ==
        "# HELP up Up.\n# TYPE up gauge\n"
        "up{service=\"web\",backend=\"127.0.0.1:9001\"} 1\n"
        "# HELP took_seconds How long.\n# TYPE took_seconds histogram\n"
        "took_seconds_bucket{le=\"0.01\"} 3\n"
        "took_seconds_bucket{le=\"0.5\"} 3\n"
        "took_seconds_bucket{le=\"2\"} 5\n"
        "took_seconds_bucket{le=\"+Inf\"} 6\n"
        "took_seconds_sum 4.25\n"
        "took_seconds_count 6\n");
}
