#include "geo/geodata_build.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string_view>

#include "geo/geo_csv.hpp"
#include "geo/mmdb_writer.hpp"

namespace meridian::geo {
namespace {

MmdbOptions geodata_options(const std::string& csv_path, uint64_t build_epoch) {
  MmdbOptions options;
  options.database_type = "Meridian-City";
  options.languages = {"en"};
  // Only the file name: the same CSV built from another folder gives the same bytes.
  options.description = {
      {"en", "meridian geodata built from " + std::filesystem::path(csv_path).filename().string()}};
  options.build_epoch = build_epoch;
  options.record_size = 28;
  options.alias_ipv4 = true;
  return options;
}

bool write_file_atomically(const std::string& path, const std::string& bytes, std::string& error) {
  const std::string temporary = path + ".tmp-" + std::to_string(getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out || !out.write(bytes.data(), static_cast<std::streamsize>(bytes.size())) || !out.flush()) {
      error = path + ": cannot write " + temporary + ": " + std::strerror(errno);
      std::remove(temporary.c_str());
      return false;
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    error = path + ": cannot replace: " + std::strerror(errno);
    std::remove(temporary.c_str());
    return false;
  }
  return true;
}

}  // namespace

std::optional<uint64_t> default_build_epoch(std::string* error) {
  const char* text = std::getenv("SOURCE_DATE_EPOCH");
  if (text == nullptr) return kDefaultGeodataEpoch;
  const std::string_view digits(text);
  uint64_t epoch = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), epoch);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) {
    if (error) *error = "SOURCE_DATE_EPOCH='" + std::string(digits) + "' is not a number of seconds";
    return std::nullopt;
  }
  return epoch;
}

std::optional<std::string> build_geodata(const std::string& csv_path, uint64_t build_epoch, std::ostream& err) {
  GeoCsv csv = load_geo_csv(csv_path);
  if (csv.errors.empty() && csv.rows.empty()) csv.errors.push_back(csv_path + ": no networks");
  if (!csv.errors.empty()) {
    for (const std::string& e : csv.errors) err << e << '\n';
    return std::nullopt;
  }
  // Wider networks first, so more specific rows override them (stable: ties keep file order).
  std::stable_sort(csv.rows.begin(), csv.rows.end(), [](const GeoCsvRow& a, const GeoCsvRow& b) {
    return a.network.prefix_length < b.network.prefix_length;
  });
  MmdbWriter writer(geodata_options(csv_path, build_epoch));
  for (const GeoCsvRow& row : csv.rows) {
    // The CSV check already refused networks inside the IPv4 alias ranges.
    writer.insert(row.network, row.record);
  }
  std::string error;
  std::optional<std::string> bytes = writer.serialize(&error);
  if (!bytes) err << csv_path << ": " << error << '\n';
  return bytes;
}

int run_geodata_build(const std::string& csv, const std::string& out, uint64_t build_epoch, std::ostream& err) {
  const std::optional<std::string> bytes = build_geodata(csv, build_epoch, err);
  if (!bytes) return 1;
  std::string error;
  if (!write_file_atomically(out, *bytes, error)) {
    err << error << '\n';
    return 1;
  }
  return 0;
}

}  // namespace meridian::geo
