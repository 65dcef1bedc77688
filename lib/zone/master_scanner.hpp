// Reads an RFC 1035 master file record by record with Knot's libzscanner
// ($ORIGIN, $TTL and $INCLUDE as Knot reads them). A record zscanner cannot read
// (a type it does not know: MD, WKS, NULL, GPOS, HIP, ...) is given to ldns, as
// the importer read every record before, so files ldns read still import.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "config/diagnostics.hpp"

namespace meridian::zone {

struct MasterRecord {
  std::string_view owner;  // wire, case as written
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string_view rdata;  // wire
  std::string_view file;   // the file the record is in ($INCLUDE)
  std::size_t line = 0;    // the line where the record ends
};

// Calls on_record for each record in file order; a record that neither reader
// can read is an error in diagnostics naming file:line. Stops after 100 errors.
// False when the file could not be read at all (the reason is in diagnostics).
bool scan_master_file(const std::string& path, const std::string& origin_text, config::Diagnostics& diagnostics,
                      const std::function<void(const MasterRecord&)>& on_record);
// The same for text in memory that claims to come from `name` (the fuzz target);
// a relative $INCLUDE is read from the current folder.
bool scan_master_text(std::string_view text, const std::string& name, const std::string& origin_text,
                      config::Diagnostics& diagnostics, const std::function<void(const MasterRecord&)>& on_record);

}  // namespace meridian::zone
