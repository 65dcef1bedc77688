// A JSON file kept with its text so that any value can be traced back to the
// line and column where the operator wrote it (nlohmann/json keeps no positions).
#pragma once
#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

#include "config/diagnostics.hpp"

namespace meridian::config {

struct TextPosition {
  std::size_t line = 1;
  std::size_t column = 1;
};

class JsonSource {
 public:
  // Reads and parses a file; syntax errors throw LoadError naming file:line:column.
  static JsonSource load_file(const std::string& path);
  // Parses text that claims to come from `name` (tests, stdin).
  static JsonSource parse(std::string text, std::string name);

  const nlohmann::json& root() const { return root_; }
  const std::string& path() const { return path_; }

  // Where the value at pointer starts; with key=true, where its member name starts.
  // Falls back to the nearest enclosing value the text still has.
  TextPosition locate(const nlohmann::json::json_pointer& pointer, bool key = false) const;
  // Builds a diagnostic at the value (or key) at pointer.
  Diagnostic error_at(const nlohmann::json::json_pointer& pointer, std::string message, bool key = false) const;

  static TextPosition position_of_offset(const std::string& text, std::size_t offset);

 private:
  std::string path_;
  std::string text_;
  nlohmann::json root_;
};

}  // namespace meridian::config
