// The Prometheus text exposition format (0.0.4): every /metrics line, from the
// admin server and the forwarding tier, is written here so that both escape label
// values and print numbers the same way.
#pragma once
#include <initializer_list>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meridian::util {

// A label value with backslash, double quote and newline escaped (\\, \", \n).
std::string prometheus_escape(std::string_view value);

// A sample value: an integer as an integer, any other finite value as the shortest
// text that reads back as the same double, and +Inf, -Inf, NaN.
std::string prometheus_number(double value);

// Collects samples and prints each family's samples together under its HELP and
// TYPE lines, as the format requires, whatever order they were added in.
class PrometheusText {
 public:
  using Label = std::pair<std::string_view, std::string_view>;

  // Declares a family (type "counter", "gauge", ...): its HELP and TYPE lines are
  // printed even when it gets no sample. A family declared again keeps its first
  // type and help.
  void family(std::string_view name, std::string_view type, std::string_view help);
  // One sample of a declared family; the label values are escaped here.
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  // The same with labels known only at run time (some samples carry one more).
  void sample_with(std::string_view name, std::span<const Label> labels, double value);
  // The _bucket (cumulative, with le=), _sum and _count samples of a declared
  // histogram family; bucket_counts[i] counts observations in (bounds[i-1], bounds[i]],
  // and bucket_counts[bounds.size()] those above the last bound.
  void histogram(std::string_view name, std::span<const double> bounds, std::span<const uint64_t> bucket_counts,
                 double sum);
  // Declares the family and adds one sample whose labels are already written as
  // name="escaped value",... (empty: none).
  void add(std::string_view name, std::string_view type, std::string_view help, std::string_view labels,
           double value);

  std::string render() const;

 private:
  struct Family {
    std::string name, type, help;
    std::string samples;
  };
  Family& declared(std::string_view name);
  static void put_sample(Family& f, std::string_view labels, double value, std::string_view suffix = {});
  static std::string label_text(std::span<const Label> labels);

  std::vector<Family> families_;
  std::map<std::string, std::size_t, std::less<>> index_;
};

}  // namespace meridian::util
