#include "config/json_object_reader.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "config/duration.hpp"

namespace meridian::config {

namespace {

using nlohmann::json;

// Appended piece by piece: `"\"" + std::string(key)` trips GCC 12's -Wrestrict false
// positive (GCC bug 105329) in optimised builds.
std::string in_quotes(std::string_view key) {
  std::string quoted;
  quoted.reserve(key.size() + 2);
  quoted += '"';
  quoted += key;
  quoted += '"';
  return quoted;
}

// 0.5 rather than std::to_string's 0.500000.
std::string number_text(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

}  // namespace

bool JsonObjectReader::contains(std::string_view key) const {
  return value_.is_object() && value_.contains(std::string(key));
}

void JsonObjectReader::allow(std::initializer_list<std::string_view> keys) {
  for (const std::string_view key : keys)
    if (std::find(asked_.begin(), asked_.end(), key) == asked_.end()) asked_.emplace_back(key);
}

const json* JsonObjectReader::take(std::string_view key, const KeyRules& rules) {
  allow({key});
  if (value_.is_object()) {
    const auto it = value_.find(std::string(key));
    if (it != value_.end()) return &*it;
  }
  if (rules.is_required) error(rules.missing.empty() ? "missing " + in_quotes(key) : rules.missing);
  return nullptr;
}

void JsonObjectReader::wrong(std::string_view key, const KeyRules& rules, const std::string& standard) const {
  error(key, rules.wrong_value.empty() ? in_quotes(key) + " must be " + standard : rules.wrong_value);
}

const json* JsonObjectReader::find(std::string_view key, const KeyRules& rules) { return take(key, rules); }

const json* JsonObjectReader::array(std::string_view key, const KeyRules& rules) {
  const json* v = take(key, rules);
  if (v && !v->is_array()) {
    wrong(key, rules, "an array");
    return nullptr;
  }
  return v;
}

const json* JsonObjectReader::object(std::string_view key, const KeyRules& rules) {
  const json* v = take(key, rules);
  if (v && !v->is_object()) {
    wrong(key, rules, "an object");
    return nullptr;
  }
  return v;
}

std::optional<JsonObjectReader> JsonObjectReader::section(std::string_view key, const KeyRules& rules) {
  const json* v = object(key, rules);
  if (!v) return std::nullopt;
  return JsonObjectReader(*v, pointer(key), sink_);
}

bool JsonObjectReader::string(std::string_view key, std::string& out, const KeyRules& rules,
                              bool (*valid)(const std::string&)) {
  const json* v = take(key, rules);
  if (!v) return !rules.is_required;
  if (!v->is_string() || (valid && !valid(v->get_ref<const std::string&>()))) {
    wrong(key, rules, "a string");
    return false;
  }
  out = v->get<std::string>();
  return true;
}

bool JsonObjectReader::boolean(std::string_view key, bool& out, const KeyRules& rules) {
  const json* v = take(key, rules);
  if (!v) return !rules.is_required;
  if (!v->is_boolean()) {
    wrong(key, rules, "true or false");
    return false;
  }
  out = v->get<bool>();
  return true;
}

JsonObjectReader::Got JsonObjectReader::read_integer(std::string_view key, uint64_t& out, uint64_t min,
                                                     uint64_t max, const KeyRules& rules) {
  const json* v = take(key, rules);
  if (!v) return rules.is_required ? Got::error : Got::absent;
  // Negative integers parse as signed; non-negative ones may be either (json built in code).
  const bool whole = v->is_number_unsigned() || (v->is_number_integer() && v->get<int64_t>() >= 0);
  if (!whole || v->get<uint64_t>() < min || v->get<uint64_t>() > max) {
    wrong(key, rules, "an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return Got::error;
  }
  out = v->get<uint64_t>();
  return Got::value;
}

bool JsonObjectReader::number(std::string_view key, double& out, double min, double max, const KeyRules& rules) {
  const json* v = take(key, rules);
  if (!v) return !rules.is_required;
  if (!v->is_number() || !(v->get<double>() >= min && v->get<double>() <= max)) {
    wrong(key, rules, "a number from " + number_text(min) + " to " + number_text(max));
    return false;
  }
  out = v->get<double>();
  return true;
}

bool JsonObjectReader::duration(std::string_view key, std::chrono::milliseconds& out, ZeroDuration zero,
                                const KeyRules& rules) {
  const json* v = take(key, rules);
  if (!v) return !rules.is_required;
  const auto d = parse_duration(*v);
  if (!d || (zero == ZeroDuration::rejected && d->count() <= 0)) {
    wrong(key, rules, "a duration such as \"10s\" or \"500ms\"");
    return false;
  }
  out = *d;
  return true;
}

JsonObjectReader::Got JsonObjectReader::read_choice(std::string_view key, std::size_t& index,
                                                    const std::vector<std::string_view>& names,
                                                    const KeyRules& rules) {
  const json* v = take(key, rules);
  if (!v) return rules.is_required ? Got::error : Got::absent;
  if (v->is_string()) {
    const auto it = std::find(names.begin(), names.end(), v->get_ref<const std::string&>());
    if (it != names.end()) {
      index = static_cast<std::size_t>(it - names.begin());
      return Got::value;
    }
  }
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i)
    list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + in_quotes(names[i]);
  wrong(key, rules, list);
  return Got::error;
}

void JsonObjectReader::report_unknown_keys() {
  if (!value_.is_object() || unknown_reported_) return;
  unknown_reported_ = true;
  std::string expected;
  for (const auto& key : asked_)
    if (key != kSchemaKey) expected += (expected.empty() ? "" : ", ") + key;  // allowed, not worth advertising
  for (const auto& [key, value] : value_.items()) {
    (void)value;
    if (std::find(asked_.begin(), asked_.end(), key) == asked_.end())
      sink_.report(pointer(key), "unknown key " + in_quotes(key) + " (expected one of: " + expected + ")", true);
  }
}

}  // namespace meridian::config
