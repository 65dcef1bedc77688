#include "geo/geo_csv.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "geo/csv_fields.hpp"
#include "geo/geo_names.hpp"
#include "geo/mmdb_search_tree.hpp"

namespace meridian::geo {
namespace {

constexpr std::array<std::string_view, 8> kColumnNames = {
    "network", "continent", "country", "subdivision", "city", "latitude", "longitude", "asn"};
constexpr std::size_t kRequiredColumns = 7;
constexpr std::string_view kHeaderHint = "network,continent,country,subdivision,city,latitude,longitude[,asn]";
enum Column : std::size_t { kNetwork, kContinent, kCountry, kSubdivision, kCity, kLatitude, kLongitude, kAsn };

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Codes are ASCII whatever the locale says.
bool is_ascii_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool is_ascii_letter_or_digit(char c) { return is_ascii_letter(c) || (c >= '0' && c <= '9'); }

bool all_of(std::string_view text, bool (*predicate)(char)) {
  for (const char c : text) {
    if (!predicate(c)) return false;
  }
  return true;
}

// Record strings are utf8_string values; readers may reject invalid UTF-8.
bool valid_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t length = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += length;
  }
  return true;
}

std::optional<double> parse_double(std::string_view text) {
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// "64500" or "AS64500".
std::optional<uint32_t> parse_asn(std::string_view text) {
  if (text.size() > 2 && upper(text.substr(0, 2)) == "AS") text.remove_prefix(2);
  uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The validated content of one row; empty strings and nullopt mean absent.
struct CityFields {
  std::string continent, country, subdivision, city;
  std::optional<double> latitude, longitude;
  std::optional<uint32_t> asn;
};

DataValue names_map(std::string_view english) {
  return DataValue::map({{"en", DataValue::string(std::string(english))}});
}

DataValue make_record(const CityFields& f) {
  std::vector<std::pair<std::string, DataValue>> record;
  if (!f.continent.empty()) {
    record.emplace_back("continent", DataValue::map({{"code", DataValue::string(f.continent)},
                                                     {"names", names_map(continent_name(f.continent))}}));
  }
  if (!f.country.empty()) {
    std::vector<std::pair<std::string, DataValue>> country = {{"iso_code", DataValue::string(f.country)}};
    if (const std::string_view name = country_name(f.country); !name.empty()) {
      country.emplace_back("names", names_map(name));
    }
    record.emplace_back("country", DataValue::map(std::move(country)));
  }
  if (!f.subdivision.empty()) {
    record.emplace_back("subdivisions",
                        DataValue::array({DataValue::map({{"iso_code", DataValue::string(f.subdivision)}})}));
  }
  if (!f.city.empty()) record.emplace_back("city", DataValue::map({{"names", names_map(f.city)}}));
  if (f.latitude && f.longitude) {
    record.emplace_back("location", DataValue::map({{"latitude", DataValue::float64(*f.latitude)},
                                                    {"longitude", DataValue::float64(*f.longitude)}}));
  }
  if (f.asn) record.emplace_back("autonomous_system_number", DataValue::uint32(*f.asn));
  return DataValue::map(std::move(record));
}

class GeoCsvParser {
 public:
  explicit GeoCsvParser(const std::string& file_name) : file_name_(file_name) {}

  void add_line(std::string_view text, unsigned number) {
    if (header_failed_) return;
    const std::string_view trimmed = text.substr(std::min(text.find_first_not_of(" \t"), text.size()));
    if (trimmed.empty() || trimmed.front() == '#') return;
    const CsvLine line = split_csv_line(text);
    if (!line.error.empty()) {
      report(number, line.error_column, line.error);
      if (columns_ == 0) header_failed_ = true;
      return;
    }
    if (columns_ == 0) {
      read_header(line, number);
    } else {
      read_row(line, number);
    }
  }

  GeoCsv finish() {
    if (columns_ == 0 && !header_failed_) {
      report(1, 1, "missing header row (" + std::string(kHeaderHint) + ")");
    }
    return std::move(result_);
  }

 private:
  void report(unsigned line, unsigned column, const std::string& message) {
    result_.errors.push_back(file_name_ + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " +
                             message);
  }

  void read_header(const CsvLine& line, unsigned number) {
    const auto& fields = line.fields;
    for (std::size_t i = 0; i < fields.size() && i < kColumnNames.size(); ++i) {
      if (upper(fields[i].text) != upper(kColumnNames[i])) {
        report(number, fields[i].column,
               "expected column '" + std::string(kColumnNames[i]) + "', found '" + fields[i].text +
                   "' (the header is " + std::string(kHeaderHint) + ")");
        header_failed_ = true;
        return;
      }
    }
    if (fields.size() < kRequiredColumns || fields.size() > kColumnNames.size()) {
      const unsigned column = fields.size() > kColumnNames.size() ? fields[kColumnNames.size()].column
                                                                  : line.end_column;
      report(number, column,
             "the header has " + std::to_string(fields.size()) + " columns; it is " + std::string(kHeaderHint));
      header_failed_ = true;
      return;
    }
    columns_ = fields.size();
  }

  void read_row(const CsvLine& line, unsigned number) {
    const auto& fields = line.fields;
    if (fields.size() != columns_) {
      const unsigned column = fields.size() > columns_ ? fields[columns_].column : line.end_column;
      report(number, column,
             "expected " + std::to_string(columns_) + " fields, found " + std::to_string(fields.size()));
      return;
    }
    const std::size_t errors_before = result_.errors.size();
    std::string why;
    const std::optional<IpNetwork> network = parse_network(fields[kNetwork].text, &why);
    if (!network) {
      report(number, fields[kNetwork].column, "bad network '" + fields[kNetwork].text + "': " + why);
    } else if (is_inside_ipv4_alias(*network)) {
      report(number, fields[kNetwork].column,
             "network " + network->to_string() +
                 " is inside an IPv6 range that maps to IPv4 (::ffff:0:0/96, 2001::/32 or 2002::/16); "
                 "write the IPv4 network instead");
    } else if (const auto [it, added] = first_lines_.emplace(network->to_string(), number); !added) {
      report(number, fields[kNetwork].column,
             "duplicate network " + it->first + " (first on line " + std::to_string(it->second) + ")");
    }
    CityFields city_fields = read_fields(fields, number);
    if (result_.errors.size() != errors_before) return;
    result_.rows.push_back({*network, make_record(city_fields), number, fields[kNetwork].column});
  }

  CityFields read_fields(const std::vector<CsvField>& fields, unsigned number) {
    CityFields out;
    const CsvField& continent = fields[kContinent];
    out.continent = upper(continent.text);
    if (!out.continent.empty() && continent_name(out.continent).empty()) {
      report(number, continent.column,
             "unknown continent code '" + continent.text + "' (use AF, AN, AS, EU, NA, OC or SA)");
    }
    const CsvField& country = fields[kCountry];
    out.country = upper(country.text);
    if (!out.country.empty() && (out.country.size() != 2 || !all_of(out.country, is_ascii_letter))) {
      report(number, country.column,
             "bad country code '" + country.text + "' (want ISO 3166-1 alpha-2, such as US)");
    }
    read_subdivision(fields[kSubdivision], out, number);
    const CsvField& city = fields[kCity];
    if (!valid_utf8(city.text)) report(number, city.column, "the city name is not valid UTF-8");
    out.city = city.text;
    out.latitude = read_coordinate(fields[kLatitude], "latitude", 90, number);
    out.longitude = read_coordinate(fields[kLongitude], "longitude", 180, number);
    if (fields[kLatitude].text.empty() != fields[kLongitude].text.empty()) {
      const CsvField& missing = fields[kLatitude].text.empty() ? fields[kLatitude] : fields[kLongitude];
      report(number, missing.column, "give both latitude and longitude, or neither");
    }
    if (columns_ > kAsn && !fields[kAsn].text.empty()) {
      out.asn = parse_asn(fields[kAsn].text);
      if (!out.asn) {
        report(number, fields[kAsn].column,
               "bad number '" + fields[kAsn].text + "' for asn (want 0 to 4294967295, optionally after AS)");
      }
    }
    return out;
  }

  // ISO 3166-2 subdivision code: the part after the dash ("VA"); "US-VA" is
  // accepted when it matches the row's country.
  void read_subdivision(const CsvField& field, CityFields& out, unsigned number) {
    std::string code = upper(field.text);
    if (const std::size_t dash = code.find('-'); dash != std::string::npos) {
      if (!out.country.empty() && code.substr(0, dash) != out.country) {
        report(number, field.column,
               "subdivision '" + field.text + "' does not belong to country '" + out.country + "'");
        return;
      }
      code.erase(0, dash + 1);
    }
    if (!code.empty() && (code.size() > 3 || !all_of(code, is_ascii_letter_or_digit))) {
      report(number, field.column,
             "bad subdivision code '" + field.text + "' (want the ISO 3166-2 part after the dash, such as VA)");
      return;
    }
    out.subdivision = std::move(code);
  }

  std::optional<double> read_coordinate(const CsvField& field, const char* what, double limit, unsigned number) {
    if (field.text.empty()) return std::nullopt;
    const std::optional<double> value = parse_double(field.text);
    if (!value) {
      report(number, field.column, "bad number '" + field.text + "' for " + what);
    } else if (*value < -limit || *value > limit) {
      std::ostringstream range;
      range << what << ' ' << field.text << " is out of range (" << -limit << " to " << limit << ")";
      report(number, field.column, range.str());
      return std::nullopt;
    }
    return value;
  }

  const std::string& file_name_;
  std::size_t columns_ = 0;  // 0 until the header has been read
  bool header_failed_ = false;
  std::unordered_map<std::string, unsigned> first_lines_;  // network text -> line
  GeoCsv result_;
};

}  // namespace

GeoCsv parse_geo_csv(std::string_view text, const std::string& file_name) {
  constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) text.remove_prefix(kUtf8Bom.size());
  GeoCsvParser parser(file_name);
  unsigned number = 0;
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    parser.add_line(line, ++number);
  }
  return parser.finish();
}

GeoCsv load_geo_csv(const std::string& path) {
  auto unreadable = [&](const std::string& reason) {
    GeoCsv result;
    result.errors.push_back(path + ": cannot read: " + reason);
    return result;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return unreadable("it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return unreadable(std::strerror(errno));
  const std::string content{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return unreadable(std::strerror(errno));
  return parse_geo_csv(content, path);
}

}  // namespace meridian::geo
