// `meridian geodata build CSV -o OUT [--epoch N]`: a geodata CSV (see
// geo/geo_csv.hpp) in, a GeoIP2-City-shaped .mmdb out. The output depends
// only on the CSV's rows, its file name and the build epoch, so rebuilding
// gives the same bytes.
#pragma once
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace meridian::geo {

// The epoch used when neither --epoch nor SOURCE_DATE_EPOCH is given:
// 2026-01-01T00:00:00Z. Fixed, so that a plain rebuild is reproducible.
inline constexpr uint64_t kDefaultGeodataEpoch = 1767225600;

// SOURCE_DATE_EPOCH (https://reproducible-builds.org/specs/source-date-epoch/)
// when set, else kDefaultGeodataEpoch. nullopt with *error when the variable
// is set but not a non-negative integer.
std::optional<uint64_t> default_build_epoch(std::string* error);

// The .mmdb file for the CSV at csv_path. Rows apply shortest prefix first,
// so a more specific network wins whatever the row order. On failure every
// error goes to err, one per line, and the result is nullopt.
std::optional<std::string> build_geodata(const std::string& csv_path, uint64_t build_epoch, std::ostream& err);

// build_geodata, then writes out_path atomically (a temporary file beside it,
// renamed over it). Returns the exit status: 0 on success, 1 on any error.
int run_geodata_build(const std::string& csv, const std::string& out, uint64_t build_epoch, std::ostream& err);

}  // namespace meridian::geo
