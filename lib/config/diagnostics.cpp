#include "config/diagnostics.hpp"

#include <sstream>

namespace meridian::config {

std::string Diagnostic::to_string() const {
  std::ostringstream out;
  out << file;
  if (line) out << ':' << line << ':' << column;
  out << ": " << message;
  return out.str();
}

void Diagnostics::print(std::ostream& out) const {
  for (const auto& d : items_) out << d.to_string() << '\n';
  for (const auto& d : warnings_) {
    Diagnostic w = d;
    w.message = "warning: " + w.message;
    out << w.to_string() << '\n';
  }
}

std::string Diagnostics::to_string() const {
  std::string s;
  for (const auto& d : items_) {
    if (!s.empty()) s += '\n';
    s += d.to_string();
  }
  return s;
}

}  // namespace meridian::config
