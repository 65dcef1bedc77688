// English names for continent and country codes, so a CSV row that says "EU"
// and "IE" gives records with names.en like MaxMind's GeoIP2 databases.
#pragma once
#include <string_view>

namespace meridian::geo {

// "EU" -> "Europe"; empty for anything but the seven GeoIP2 continent codes.
std::string_view continent_name(std::string_view code);
// "IE" -> "Ireland" (ISO 3166-1 alpha-2); empty when the code is unknown.
std::string_view country_name(std::string_view iso_code);

}  // namespace meridian::geo
