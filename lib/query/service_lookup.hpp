// Finds the service behind a name (following CNAMEs and wildcards inside the
// served zones), for explain. Not on the query path.
#pragma once
#include <string>
#include <string_view>

#include "zone/zone.hpp"

namespace meridian::query {

struct ServiceLookup {
  int service = -1;      // service slot, or -1
  std::string name;      // the name that holds the service (after CNAMEs)
  std::string error;     // why there is none
};

ServiceLookup find_service(const zone::ZoneSet& zones, std::string_view lower_wire_name);

}  // namespace meridian::query
