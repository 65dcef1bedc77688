// Errors found while loading operator-edited files, each pinned to file:line:column,
// collected so `meridian check` can report all of them at once. Warnings (data
// that loads but is never served, say) are kept apart: size() and empty() count
// errors only, so a load with warnings alone succeeds.
#pragma once
#include <cstddef>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace meridian::config {

struct Diagnostic {
  std::string file;
  std::size_t line = 0;    // 1-based; 0 when the error concerns the whole file
  std::size_t column = 0;  // 1-based
  std::string message;

  std::string to_string() const;
};

class Diagnostics {
 public:
  void add(Diagnostic d) { items_.push_back(std::move(d)); }
  void add(const std::string& file, std::size_t line, std::size_t column, std::string message) {
    items_.push_back({file, line, column, std::move(message)});
  }
  void add_warning(Diagnostic d) { warnings_.push_back(std::move(d)); }
  void append(const Diagnostics& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
    warnings_.insert(warnings_.end(), other.warnings_.begin(), other.warnings_.end());
  }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }
  // Errors, then warnings as "file:line:col: warning: message".
  void print(std::ostream& out) const;
  // All error messages joined by newlines.
  std::string to_string() const;

 private:
  std::vector<Diagnostic> items_;
  std::vector<Diagnostic> warnings_;
};

// Thrown when a load must stop; carries everything found so far.
class LoadError : public std::runtime_error {
 public:
  explicit LoadError(Diagnostics d) : std::runtime_error(d.to_string()), diagnostics_(std::move(d)) {}
  const Diagnostics& diagnostics() const { return diagnostics_; }

 private:
  Diagnostics diagnostics_;
};

}  // namespace meridian::config
