// The geodata CSV: one network per row, turned into GeoIP2-City-shaped
// records for the mmdb writer.
//
//   network,continent,country,subdivision,city,latitude,longitude[,asn]
//   127.1.0.0/16,EU,IE,L,Dublin,53.35,-6.26,64497
//
// The header row is required (the asn column is optional); '#' lines and
// blank lines are skipped; any field but network may be empty, and empty
// parts are left out of the record. Fields may be quoted ("Washington, D.C.").
// A record looks like
//   {"continent": {"code": "EU", "names": {"en": "Europe"}},
//    "country": {"iso_code": "IE", "names": {"en": "Ireland"}},
//    "subdivisions": [{"iso_code": "L"}], "city": {"names": {"en": "Dublin"}},
//    "location": {"latitude": 53.35, "longitude": -6.26},
//    "autonomous_system_number": 64497}
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "geo/mmdb_network.hpp"
#include "geo/mmdb_value.hpp"

namespace meridian::geo {

struct GeoCsvRow {
  IpNetwork network;
  DataValue record;
  unsigned line = 0;
  unsigned network_column = 1;  // where the network field starts, for later errors
};

struct GeoCsv {
  std::vector<GeoCsvRow> rows;      // valid rows, in file order
  std::vector<std::string> errors;  // every problem, "file:line:column: message", in file order
};

// file_name only labels the errors.
GeoCsv parse_geo_csv(std::string_view text, const std::string& file_name);
// Reads path; an unreadable file is one error, "path: cannot read: reason".
GeoCsv load_geo_csv(const std::string& path);

}  // namespace meridian::geo
