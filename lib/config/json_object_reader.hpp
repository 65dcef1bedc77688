// One JSON object of an operator-edited file, read key by key. The typed getters
// report a value of the wrong type or range, or a missing required key, at its
// file:line:column; report_unknown_keys() then names every key no getter asked
// for, so that a typo ("thread" for "threads") is an error and not ignored.
//
// Standard wordings (a getter's KeyRules can replace them with a hint of its own):
//   missing "KEY"                                  (at the object)
//   "KEY" must be a string | true or false | an object | an array
//   "KEY" must be an integer from MIN to MAX
//   "KEY" must be a number from MIN to MAX
//   "KEY" must be a duration such as "10s" or "500ms"
//   "KEY" must be "a", "b" or "c"
//   unknown key "KEY" (expected one of: a, b, c)   (at the key)
#pragma once
#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/diagnostics.hpp"
#include "config/json_source.hpp"

namespace meridian::config {

using JsonPointer = nlohmann::json::json_pointer;

// Where a reader's errors go. Readers of big files cap how many they report.
class JsonErrorSink {
 public:
  // at_key: the position is the member's name rather than its value.
  virtual void report(const JsonPointer& at, const std::string& message, bool at_key) = 0;

 protected:
  ~JsonErrorSink() = default;
};

// Each error becomes a Diagnostic at the source's file:line:column.
class DiagnosticsSink final : public JsonErrorSink {
 public:
  DiagnosticsSink(const JsonSource& source, Diagnostics& diagnostics) : source_(source), diagnostics_(diagnostics) {}
  void report(const JsonPointer& at, const std::string& message, bool at_key) override {
    diagnostics_.add(source_.error_at(at, message, at_key));
  }

 private:
  const JsonSource& source_;
  Diagnostics& diagnostics_;
};

// How one key is read: required or not, and wordings that replace the standard ones.
struct KeyRules {
  bool is_required = false;
  std::string wrong_value;  // empty: the standard wording for a wrong value
  std::string missing;      // empty: missing "KEY"

  // An optional key whose wrong value is reported as wrong_value.
  static KeyRules optional(std::string wrong_value) { return {false, std::move(wrong_value), {}}; }
  static KeyRules required(std::string missing = {}, std::string wrong_value = {}) {
    return {true, std::move(wrong_value), std::move(missing)};
  }
};

enum class ZeroDuration { rejected, allowed };

// The top-level key editors read a JSON Schema's address from; every file an
// operator edits may carry it, and meridian ignores it.
inline constexpr std::string_view kSchemaKey = "$schema";

class JsonObjectReader {
 public:
  // value need not be an object: is_object() tells, and a non-object has no keys.
  JsonObjectReader(const nlohmann::json& value, JsonPointer at, JsonErrorSink& sink)
      : value_(value), at_(std::move(at)), sink_(sink) {}

  bool is_object() const { return value_.is_object(); }
  const JsonPointer& pointer() const { return at_; }
  JsonPointer pointer(std::string_view key) const { return at_ / std::string(key); }
  JsonErrorSink& sink() const { return sink_; }

  // Errors at this object, and at a key's value.
  void error(const std::string& message) const { sink_.report(at_, message, false); }
  void error(std::string_view key, const std::string& message) const { sink_.report(pointer(key), message, false); }

  // Whether the key is there; does not count as reading it.
  bool contains(std::string_view key) const;
  // Keys this object may hold that another part of meridian validates.
  void allow(std::initializer_list<std::string_view> keys);

  // These return the value, or nullptr when it is absent or (reported) of the wrong
  // type. find() takes any type, for values with a syntax of their own.
  const nlohmann::json* find(std::string_view key, const KeyRules& rules = {});
  const nlohmann::json* array(std::string_view key, const KeyRules& rules = {});
  const nlohmann::json* object(std::string_view key, const KeyRules& rules = {});
  // A reader for an object-valued key; nullopt when absent or not an object.
  std::optional<JsonObjectReader> section(std::string_view key, const KeyRules& rules = {});

  // These return false when they reported an error (an absent optional key returns
  // true); the output changes only when a valid value was read.
  // valid: further checks on the text; a string it refuses is reported with
  // rules.wrong_value, which should then say what valid wants.
  bool string(std::string_view key, std::string& out, const KeyRules& rules = {},
              bool (*valid)(const std::string&) = nullptr);
  bool boolean(std::string_view key, bool& out, const KeyRules& rules = {});
  template <std::integral T>
  bool integer(std::string_view key, T& out, uint64_t min, uint64_t max, const KeyRules& rules = {}) {
    uint64_t value = 0;
    const Got got = read_integer(key, value, min, std::min<uint64_t>(max, std::numeric_limits<T>::max()), rules);
    if (got == Got::value) out = static_cast<T>(value);
    return got != Got::error;
  }
  bool number(std::string_view key, double& out, double min, double max, const KeyRules& rules = {});
  bool duration(std::string_view key, std::chrono::milliseconds& out, ZeroDuration zero = ZeroDuration::rejected,
                const KeyRules& rules = {});
  // A string naming one of the choices.
  template <typename T>
  bool one_of(std::string_view key, T& out, std::initializer_list<std::pair<std::string_view, T>> choices,
              const KeyRules& rules = {}) {
    std::vector<std::string_view> names;
    for (const auto& choice : choices) names.push_back(choice.first);
    std::size_t index = 0;
    const Got got = read_choice(key, index, names, rules);
    if (got == Got::value) out = std::data(choices)[index].second;
    return got != Got::error;
  }

  // Reports each key no getter, find() or allow() asked for, at the key (once:
  // later calls do nothing).
  void report_unknown_keys();

 private:
  enum class Got { absent, value, error };
  // Marks key as asked for; the value or nullptr. Reports a missing required key.
  const nlohmann::json* take(std::string_view key, const KeyRules& rules);
  void wrong(std::string_view key, const KeyRules& rules, const std::string& standard) const;
  Got read_integer(std::string_view key, uint64_t& out, uint64_t min, uint64_t max, const KeyRules& rules);
  Got read_choice(std::string_view key, std::size_t& index, const std::vector<std::string_view>& names,
                   const KeyRules& rules);

  const nlohmann::json& value_;
  JsonPointer at_;
  JsonErrorSink& sink_;
  std::vector<std::string> asked_;  // in the order first asked: the "expected" list of unknown keys
  bool unknown_reported_ = false;
};

}  // namespace meridian::config
