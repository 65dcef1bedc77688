#include "config/json_source.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "util/file_text.hpp"

namespace meridian::config {

namespace {

// Keys repeated within one object (nlohmann keeps the last of two silently), found
// by a second, event-only pass over text already parsed. A parse callback could
// see them in the first pass, but nlohmann's callback parser rescans each parent
// object whenever a child object closes: quadratic in the records of a zone.
class DuplicateKeys : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<std::string> found;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    open_.emplace_back();
    return true;
  }
  bool key(string_t& key) override {
    if (!open_.empty() && !open_.back().insert(key).second) found.push_back(key);
    return true;
  }
  bool end_object() override {
    if (!open_.empty()) open_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  std::vector<std::unordered_set<std::string>> open_;
};

// A small scanner over JSON text, enough to find where a JSON pointer's value is.
class Scanner {
 public:
  explicit Scanner(const std::string& text) : t_(text) {}

  void skip_ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  std::size_t pos() const { return i_; }
  bool at(char c) const { return i_ < t_.size() && t_[i_] == c; }
  void advance() { ++i_; }
  bool done() const { return i_ >= t_.size(); }

  // Reads a string token and returns its decoded value (escapes decoded roughly:
  // enough to compare against keys).
  std::string read_string() {
    std::string out;
    if (!at('"')) return out;
    ++i_;
    while (i_ < t_.size() && t_[i_] != '"') {
      if (t_[i_] == '\\' && i_ + 1 < t_.size()) {
        const char e = t_[i_ + 1];
        switch (e) {
          case 'n': out.push_back('\n'); break;
          case 't': out.push_back('\t'); break;
          case 'r': out.push_back('\r'); break;
          case 'b': out.push_back('\b'); break;
          case 'f': out.push_back('\f'); break;
          case 'u': out.push_back('?'); i_ += 4; break;
          default: out.push_back(e);
        }
        i_ += 2;
      } else {
        out.push_back(t_[i_++]);
      }
    }
    ++i_;
    return out;
  }

  void skip_value() {
    skip_ws();
    if (at('"')) {
      read_string();
      return;
    }
    if (at('{') || at('[')) {
      int depth = 0;
      while (i_ < t_.size()) {
        const char c = t_[i_];
        if (c == '"') {
          read_string();
          continue;
        }
        if (c == '{' || c == '[') ++depth;
        if (c == '}' || c == ']') {
          if (--depth == 0) {
            ++i_;
            return;
          }
        }
        ++i_;
      }
      return;
    }
    while (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '}' && t_[i_] != ']' && t_[i_] != ' ' &&
           t_[i_] != '\n' && t_[i_] != '\t' && t_[i_] != '\r')
      ++i_;
  }

 private:
  const std::string& t_;
  std::size_t i_ = 0;
};

// Finds the offset of the value (or its key) named by tokens; best effort.
std::size_t find_offset(const std::string& text, const std::vector<std::string>& tokens, bool want_key) {
  Scanner s(text);
  s.skip_ws();
  std::size_t last_key = s.pos();
  for (std::size_t depth = 0; depth < tokens.size(); ++depth) {
    const std::string& token = tokens[depth];
    const std::size_t container = s.pos();
    if (s.at('{')) {
      s.advance();
      bool found = false;
      for (;;) {
        s.skip_ws();
        if (!s.at('"')) return container;
        const std::size_t key_pos = s.pos();
        const std::string key = s.read_string();
        s.skip_ws();
        if (!s.at(':')) return container;
        s.advance();
        s.skip_ws();
        if (key == token) {
          last_key = key_pos;
          found = true;
          break;
        }
        s.skip_value();
        s.skip_ws();
        if (!s.at(',')) return container;
        s.advance();
      }
      if (!found) return container;
    } else if (s.at('[')) {
      s.advance();
      std::size_t index = 0;
      try {
        index = std::stoul(token);
      } catch (...) {
        return container;
      }
      for (std::size_t k = 0; k < index; ++k) {
        s.skip_value();
        s.skip_ws();
        if (!s.at(',')) return container;
        s.advance();
      }
      s.skip_ws();
      last_key = s.pos();
    } else {
      return container;
    }
  }
  return want_key ? last_key : s.pos();
}

}  // namespace

TextPosition JsonSource::position_of_offset(const std::string& text, std::size_t offset) {
  TextPosition p;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++p.line;
      p.column = 1;
    } else {
      ++p.column;
    }
  }
  return p;
}

JsonSource JsonSource::load_file(const std::string& path) {
  std::optional<std::string> text = util::read_file_text(path);
  if (!text) {
    Diagnostics d;
    d.add(path, 0, 0, "cannot open file");
    throw LoadError(std::move(d));
  }
  return parse(std::move(*text), path);
}

JsonSource JsonSource::parse(std::string text, std::string name) {
  JsonSource src;
  src.path_ = std::move(name);
  src.text_ = std::move(text);
  try {
    src.root_ = nlohmann::json::parse(src.text_);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based: the byte at which the parser gave up.
    const std::size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    const TextPosition p = position_of_offset(src.text_, offset);
    std::string what = e.what();
    // Drop nlohmann's "[json.exception.parse_error.101] parse error at line 1, column 2: " prefix.
    if (const auto colon = what.find(": "); colon != std::string::npos) what = what.substr(colon + 2);
    Diagnostics d;
    d.add(src.path_, p.line, p.column, "invalid JSON: " + what);
    throw LoadError(std::move(d));
  } catch (const nlohmann::json::out_of_range& e) {
    // A number too large for a double (406: "number overflow parsing '1e999'") has no
    // byte offset: the error points at the first place that number is written.
    std::string what = e.what();
    std::size_t offset = 0;
    if (const auto open = what.find('\''), close = what.rfind('\''); open != std::string::npos && close > open)
      offset = std::min(src.text_.find(what.substr(open + 1, close - open - 1)), src.text_.size());
    if (const auto bracket = what.find("] "); bracket != std::string::npos) what = what.substr(bracket + 2);
    const TextPosition p = position_of_offset(src.text_, offset);
    Diagnostics d;
    d.add(src.path_, p.line, p.column, "invalid JSON: " + what);
    throw LoadError(std::move(d));
  }
  // nlohmann keeps the last of two equal keys silently; operators get an error.
  DuplicateKeys keys;
  nlohmann::json::sax_parse(src.text_, &keys);
  const std::vector<std::string>& duplicates = keys.found;
  if (!duplicates.empty()) {
    Diagnostics d;
    std::map<std::string, std::size_t> seen;  // occurrences reported so far, per key
    for (const auto& key : duplicates) {
      // Point at the repeated occurrence: the (n+1)th "key": in the text.
      const std::string quoted = nlohmann::json(key).dump();
      std::size_t at = std::string::npos, from = 0;
      for (std::size_t n = 0; n <= seen[key] + 1; ++n) {
        for (at = src.text_.find(quoted, from); at != std::string::npos; at = src.text_.find(quoted, at + 1)) {
          std::size_t k = at + quoted.size();
          while (k < src.text_.size() && std::isspace(static_cast<unsigned char>(src.text_[k]))) ++k;
          if (k < src.text_.size() && src.text_[k] == ':') break;
        }
        if (at == std::string::npos) break;
        from = at + 1;
      }
      ++seen[key];
      const TextPosition p = position_of_offset(src.text_, at == std::string::npos ? 0 : at);
      d.add(src.path_, p.line, p.column, "key \"" + key + "\" appears twice in the same object");
    }
    throw LoadError(std::move(d));
  }
  return src;
}

TextPosition JsonSource::locate(const nlohmann::json::json_pointer& pointer, bool key) const {
  std::vector<std::string> tokens;
  for (auto p = pointer; !p.empty(); p = p.parent_pointer()) tokens.insert(tokens.begin(), p.back());
  return position_of_offset(text_, find_offset(text_, tokens, key));
}

Diagnostic JsonSource::error_at(const nlohmann::json::json_pointer& pointer, std::string message, bool key) const {
  const TextPosition p = locate(pointer, key);
  return {path_, p.line, p.column, std::move(message)};
}

}  // namespace meridian::config
