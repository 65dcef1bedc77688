// Durations as operators write them in meridian.json: "2s", "500ms", "1m", "1h", "14d",
// or a number of seconds.
#pragma once
#include <chrono>
#include <optional>

#include <nlohmann/json.hpp>

namespace meridian::config {

// nullopt for anything else, negative or NaN values, and more than 1e9 of a unit.
std::optional<std::chrono::milliseconds> parse_duration(const nlohmann::json& value);

}  // namespace meridian::config
