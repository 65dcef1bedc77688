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

void PrometheusText::put_sample(Family& f, std::string_view labels, double value) {
  f.samples += f.name;
  if (!labels.empty()) {
    f.samples += '{';
    f.samples += labels;
    f.samples += '}';
  }
  f.samples += ' ';
  f.samples += prometheus_number(value);
  f.samples += '\n';
}

void PrometheusText::sample(std::string_view name, std::initializer_list<Label> labels, double value) {
  std::string text;
  for (const auto& [key, v] : labels) {
    if (!text.empty()) text += ',';
    text += key;
    text += "=\"";
    text += prometheus_escape(v);
    text += '"';
  }
  put_sample(declared(name), text, value);
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
