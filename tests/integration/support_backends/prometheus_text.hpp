// A strict parser for the Prometheus text exposition format (0.0.4), header-only,
// for tests: every sample belongs to a family declared by "# TYPE" before it,
// a family's lines are contiguous, HELP/TYPE appear at most once per family,
// metric and label names follow the grammar, label values are quoted with only
// \\ \" \n escapes, no label repeats, no series repeats, values are floats
// (NaN, +Inf, -Inf allowed; counters not negative), an optional integer
// timestamp, and the text ends with a newline.
#pragma once
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace meridian::test::prom {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
  int line = 0;
};

struct Family {
  std::string type;  // counter, gauge, histogram, summary, untyped
  std::string help;
  bool has_help = false;
};

struct Exposition {
  std::map<std::string, Family> families;
  std::vector<Sample> samples;
  std::vector<std::string> errors;  // "line N: message"

  bool ok() const { return errors.empty(); }
  std::string error_text() const {
    std::string out;
    for (const auto& e : errors) out += e + "\n";
    return out;
  }
  // The value of the one sample with exactly these labels.
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }
  // The sum over samples of a name whose labels include `match`.
  double sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const {
    double total = 0;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool all = true;
      for (const auto& [k, v] : match) {
        const auto it = s.labels.find(k);
        all = all && it != s.labels.end() && it->second == v;
      }
      if (all) total += s.value;
    }
    return total;
  }
};

namespace detail {

inline bool metric_name_ok(const std::string& n) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!(alpha || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

inline bool label_name_ok(const std::string& n) {
  if (n.empty() || n.rfind("__", 0) == 0) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!(alpha || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

inline std::optional<double> parse_value(const std::string& t) {
  if (t == "NaN") return std::nan("");
  if (t == "+Inf" || t == "Inf") return HUGE_VAL;
  if (t == "-Inf") return -HUGE_VAL;
  if (t.empty()) return std::nullopt;
  for (char c : t)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(t.c_str(), &end);
  if (end != t.c_str() + t.size()) return std::nullopt;
  return v;
}

// The family a sample name belongs to, given the declared types.
inline std::string family_of(const std::string& name, const std::map<std::string, Family>& families) {
  if (families.count(name)) return name;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0) {
      const std::string base = name.substr(0, name.size() - s.size());
      const auto it = families.find(base);
      if (it != families.end() && (it->second.type == "histogram" || it->second.type == "summary")) {
        if (s == "_bucket" && it->second.type != "histogram") return "";
        return base;
      }
    }
  }
  return "";
}

}  // namespace detail

inline Exposition parse(const std::string& text) {
  Exposition out;
  std::set<std::string> closed;  // families whose block has ended
  std::string current;           // family of the block being read
  std::set<std::string> series;
  auto error = [&](int line, const std::string& m) { out.errors.push_back("line " + std::to_string(line) + ": " + m); };
  if (!text.empty() && text.back() != '\n') error(0, "the text does not end with a newline");
  auto enter = [&](int line, const std::string& family) {
    if (family == current) return;
    if (closed.count(family)) error(line, "family " + family + " is not contiguous (its lines appear again later)");
    if (!current.empty()) closed.insert(current);
    current = family;
  };

  int lineno = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    ++lineno;
    if (line.empty()) continue;
    if (line[0] == '#') {
      // "# HELP name text", "# TYPE name type", else a plain comment.
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        const bool help = line[2] == 'H';
        const std::string rest = line.substr(7);
        const auto sp = rest.find(' ');
        const std::string name = rest.substr(0, sp);
        const std::string arg = sp == std::string::npos ? "" : rest.substr(sp + 1);
        if (!detail::metric_name_ok(name)) {
          error(lineno, "bad metric name \"" + name + "\"");
          continue;
        }
        enter(lineno, name);
        Family& f = out.families[name];
        if (help) {
          if (f.has_help) error(lineno, "second HELP for " + name);
          f.has_help = true;
          f.help = arg;
        } else {
          if (!f.type.empty()) error(lineno, "second TYPE for " + name);
          static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
          if (!kTypes.count(arg)) error(lineno, "unknown type \"" + arg + "\" for " + name);
          for (const auto& s : out.samples)
            if (detail::family_of(s.name, {{name, Family{arg, "", false}}}) == name)
              error(lineno, "TYPE for " + name + " after its samples");
          f.type = arg;
        }
      }
      continue;
    }
    // A sample: name [{labels}] value [timestamp]
    Sample s;
    s.line = lineno;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!detail::metric_name_ok(s.name)) {
      error(lineno, "bad metric name \"" + s.name + "\"");
      continue;
    }
    bool bad = false;
    if (i < line.size() && line[i] == '{') {
      ++i;
      for (;;) {
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        std::size_t j = i;
        while (j < line.size() && line[j] != '=' && line[j] != '}' && line[j] != ',') ++j;
        const std::string lname = line.substr(i, j - i);
        if (!detail::label_name_ok(lname)) {
          error(lineno, "bad label name \"" + lname + "\"");
          bad = true;
          break;
        }
        if (j >= line.size() || line[j] != '=' || j + 1 >= line.size() || line[j + 1] != '"') {
          error(lineno, "label " + lname + " needs =\"value\"");
          bad = true;
          break;
        }
        i = j + 2;
        std::string value;
        bool closed_quote = false;
        while (i < line.size()) {
          const char c = line[i];
          if (c == '\\') {
            if (i + 1 >= line.size()) break;
            const char e = line[i + 1];
            if (e == '\\') value += '\\';
            else if (e == '"') value += '"';
            else if (e == 'n') value += '\n';
            else {
              error(lineno, std::string("bad escape \\") + e + " in label " + lname);
              bad = true;
            }
            i += 2;
            continue;
          }
          if (c == '"') {
            closed_quote = true;
            ++i;
            break;
          }
          value += c;
          ++i;
        }
        if (bad) break;
        if (!closed_quote) {
          error(lineno, "unterminated value of label " + lname);
          bad = true;
          break;
        }
        if (!s.labels.emplace(lname, value).second) {
          error(lineno, "label " + lname + " repeated");
          bad = true;
          break;
        }
        if (i < line.size() && line[i] == ',') {
          ++i;
          if (i < line.size() && line[i] == '}') {
            error(lineno, "trailing comma in labels");
            bad = true;
            break;
          }
          continue;
        }
        if (i < line.size() && line[i] == '}') {
          ++i;
          break;
        }
        error(lineno, "expected , or } after label " + lname);
        bad = true;
        break;
      }
    }
    if (bad) continue;
    if (i >= line.size() || line[i] != ' ') {
      error(lineno, "expected a space before the value");
      continue;
    }
    const std::string rest = line.substr(i + 1);
    const auto sp = rest.find(' ');
    const std::string vtext = rest.substr(0, sp);
    const auto v = detail::parse_value(vtext);
    if (!v) {
      error(lineno, "value \"" + vtext + "\" is not a number");
      continue;
    }
    s.value = *v;
    if (sp != std::string::npos) {
      const std::string ts = rest.substr(sp + 1);
      bool digits = !ts.empty();
      for (std::size_t k = 0; k < ts.size(); ++k) digits = digits && ((ts[k] >= '0' && ts[k] <= '9') || (k == 0 && ts[k] == '-'));
      if (!digits) {
        error(lineno, "trailing text \"" + ts + "\" is not a timestamp");
        continue;
      }
    }
    const std::string family = detail::family_of(s.name, out.families);
    if (family.empty() || out.families[family].type.empty()) {
      error(lineno, "sample " + s.name + " has no # TYPE before it");
      continue;
    }
    enter(lineno, family);
    if (out.families[family].type == "counter" && (std::isnan(s.value) || s.value < 0))
      error(lineno, "counter " + s.name + " is negative or NaN");
    std::string id = s.name + "{";
    for (const auto& [k, val] : s.labels) id += k + "=" + val + "\x1f";
    if (!series.insert(id + "}").second) error(lineno, "series repeated: " + line);
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace meridian::test::prom
