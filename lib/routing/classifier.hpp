// Compiles a service's client classification into address tries at load time:
// database networks, ASN overlays and custom CIDRs resolved once, so a query
// only walks a trie (no database lookup on the query path). The tries of all
// services come from one walk of the database (routing/geo_trie_builder.hpp).
#pragma once
#include <memory>
#include <vector>

#include "geo/geoip_database.hpp"
#include "routing/client_key.hpp"
#include "routing/geo_trie_builder.hpp"
#include "routing/prefix_trie.hpp"
#include "routing/service.hpp"

namespace meridian::routing {

// Leaves hold the index of the key that applies (net > asn > subdivision >
// country > continent > default), or keys.size() when none does.
using KeyTries = PrefixTrie;
KeyTries classify_by_keys(const std::vector<ClientKey>& keys, const GeoSources& geo);

// The key explain reports for one address: same precedence as the tries.
struct KeyMatch {
  int key = -1;  // -1: none
  geo::GeoLookup city;
  geo::GeoLookup asn;
};
KeyMatch match_address(const std::vector<ClientKey>& keys, const GeoSources& geo, int family, const uint8_t* address);

// Fills classes and the trie of services[i] for every i in `which` for its policy,
// reading the databases once for all of them. keys[i] are services[i]'s geo map
// or latency table keys.
void compile_classes(std::vector<Service>& services, const std::vector<std::vector<ClientKey>>& keys,
                     const GeoSources& geo, const std::vector<std::size_t>& which);
// The same for every service.
void compile_classes(std::vector<Service>& services, const std::vector<std::vector<ClientKey>>& keys,
                     const GeoSources& geo);

// Great-circle distance in km.
double distance_km(const Location& a, const Location& b);

}  // namespace meridian::routing
