// Errors found while loading operator-edited files, each pinned to file:line:column,
// collected so `meridian check` can report all of them at once.
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
  void append(const Diagnostics& other) { items_.insert(items_.end(), other.items_.begin(), other.items_.end()); }
  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  void print(std::ostream& out) const;
  // All messages joined by newlines.
  std::string to_string() const;

 private:
  std::vector<Diagnostic> items_;
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
