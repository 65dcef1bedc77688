#include "config/duration.hpp"

#include <cmath>
#include <cstdint>
#include <string>

namespace meridian::config {

std::optional<std::chrono::milliseconds> parse_duration(const nlohmann::json& value) {
  using std::chrono::milliseconds;
  if (value.is_number()) {
    const double s = value.get<double>();
    if (!std::isfinite(s) || s < 0 || s > 1e9) return std::nullopt;
    return milliseconds(static_cast<int64_t>(s * 1000.0 + 0.5));
  }
  if (!value.is_string()) return std::nullopt;
  const std::string text = value.get<std::string>();
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (...) {
    return std::nullopt;
  }
  if (!std::isfinite(number) || number < 0 || number > 1e9) return std::nullopt;
  const std::string unit = text.substr(used);
  double ms;
  if (unit == "ms") ms = number;
  else if (unit == "s" || unit.empty()) ms = number * 1000;
  else if (unit == "m") ms = number * 60000;
  else if (unit == "h") ms = number * 3600000;
  else if (unit == "d") ms = number * 86400000;  // DNSSEC signature lifetimes
  else return std::nullopt;
  return milliseconds(static_cast<int64_t>(ms + 0.5));
}

}  // namespace meridian::config
