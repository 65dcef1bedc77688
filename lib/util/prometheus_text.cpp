#include "util/prometheus_text.hpp"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace meridian::util {

std::string prometheus_escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (const char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

// HELP text escapes backslash and newline (quotes stay as they are).
std::string escape_help(std::string_view help) {
  std::string out;
  for (const char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string prometheus_number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integers up to 2^53 are exact in a double: print them whole (1000000, not 1e+06).
  constexpr double kExactIntegers = 9007199254740992.0;
  if (std::fabs(value) <= kExactIntegers && value == std::trunc(value))
    return std::to_string(static_cast<long long>(value));
  char text[32];
  const auto end = std::to_chars(text, text + sizeof text, value).ptr;
  return std::string(text, end);
}

PrometheusText::Family& PrometheusText::declared(std::string_view name) {
  const auto it = index_.find(name);
  if (it == index_.end()) throw std::logic_error("metric family not declared: " + std::string(name));
  return families_[it->second];
}

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  if (index_.find(name) != index_.end()) return;
  index_.emplace(std::string(name), families_.size());
  families_.push_back({std::string(name), std::string(type), std::string(help), {}});
}

void PrometheusText::put_sample(Family& f, std::string_view labels, double value, std::string_view suffix) {
  f.samples += f.name;
  f.samples += suffix;
  if (!labels.empty()) {
    f.samples += '{';
    f.samples += labels;
    f.samples += '}';
  }
  f.samples += ' ';
  f.samples += prometheus_number(value);
  f.samples += '\n';
}

std::string PrometheusText::label_text(std::span<const Label> labels) {
  std::string text;
  for (const auto& [key, v] : labels) {
    if (!text.empty()) text += ',';
    text += key;
    text += "=\"";
    text += prometheus_escape(v);
    text += '"';
  }
  return text;
}

void PrometheusText::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  put_sample(declared(name), label_text({labels.begin(), labels.size()}), value);
}

void PrometheusText::sample_with(std::string_view name, std::span<const Label> labels, double value) {
  put_sample(declared(name), label_text(labels), value);
}

void PrometheusText::histogram(std::string_view name, std::span<const double> bounds,
                               std::span<const uint64_t> bucket_counts, double sum) {
  Family& f = declared(name);
  uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < bucket_counts.size() ? bucket_counts[i] : 0;
    put_sample(f, "le=\"" + prometheus_number(bounds[i]) + '"', static_cast<double>(cumulative), "_bucket");
  }
  if (bucket_counts.size() > bounds.size()) cumulative += bucket_counts[bounds.size()];
  put_sample(f, "le=\"+Inf\"", static_cast<double>(cumulative), "_bucket");
  put_sample(f, {}, sum, "_sum");
  put_sample(f, {}, static_cast<double>(cumulative), "_count");
}

void PrometheusText::add(std::string_view name, std::string_view type, std::string_view help,
                         std::string_view labels, double value) {
  family(name, type, help);
  put_sample(declared(name), labels, value);
}

std::string PrometheusText::render() const {
  std::string out;
  for (const auto& f : families_) {
    out += "# HELP " + f.name + ' ' + escape_help(f.help) + "\n# TYPE " + f.name + ' ' + f.type + '\n';
    out += f.samples;
  }
  return out;
}

}  // namespace meridian::util
