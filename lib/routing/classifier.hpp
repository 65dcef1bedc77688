// Compiles a service's client classification into address tries at load time:
// database networks, ASN overlays and custom CIDRs resolved once, so a query
// only walks a trie (no database lookup on the query path).
#pragma once
#include <memory>
#include <vector>

#include "geo/geoip_database.hpp"
#include "routing/client_key.hpp"
#include "routing/prefix_trie.hpp"
#include "routing/service.hpp"

namespace meridian::routing {

struct GeoSources {
  std::shared_ptr<const geo::GeoipDatabase> city;  // City or Country database
  std::shared_ptr<const geo::GeoipDatabase> asn;   // optional ASN database
};

// Leaves hold the index of the key that applies (net > asn > subdivision >
// country > continent > default), or keys.size() when none does.
struct KeyTries {
  PrefixTrie v4{32, 0};
  PrefixTrie v6{128, 0};
};
KeyTries classify_by_keys(const std::vector<ClientKey>& keys, const GeoSources& geo);

// The key explain reports for one address: same precedence as the tries.
struct KeyMatch {
  int key = -1;  // -1: none
  geo::GeoLookup city;
  geo::GeoLookup asn;
};
KeyMatch match_address(const std::vector<ClientKey>& keys, const GeoSources& geo, int family, const uint8_t* address);

// Fills service.classes/v4/v6 for its policy. keys/rows come from the service's
// geo map or latency table.
void compile_classes(Service& service, const std::vector<ClientKey>& keys, const GeoSources& geo);

// Great-circle distance in km.
double distance_km(const Location& a, const Location& b);

}  // namespace meridian::routing
