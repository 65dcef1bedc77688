// The keys of geo maps and latency tables, most specific first:
// net:CIDR, asn:N, country:CC/SUB, country:CC, a continent code, default.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "geo/geoip_database.hpp"
#include "util/ip_address.hpp"

namespace meridian::routing {

// net keys: the network is the IpNetwork part (unused by the other kinds).
struct ClientKey : util::IpNetwork {
  enum Kind { by_net = 0, by_asn = 1, by_subdivision = 2, by_country = 3, by_continent = 4, by_default = 5 } kind = by_default;
  std::string text;          // as written
  uint32_t asn_number = 0;
  std::string country;       // "IE"
  std::string subdivision;   // "L"
  std::string continent;     // "EU"
};

// Parses one key; nullopt with error set when malformed.
std::optional<ClientKey> parse_client_key(const std::string& text, std::string& error);

// Index of the most specific non-net key matching a database record, or -1.
// net keys are applied by address and beat everything (see classifier).
int match_record(const std::vector<ClientKey>& keys, const geo::GeoRecord& record, bool asn_allowed = true);
// Index of the "default" key, or -1.
int fallback_key(const std::vector<ClientKey>& keys);
// Longest net key containing the address, or -1.
int match_net(const std::vector<ClientKey>& keys, int family, const uint8_t* address);

}  // namespace meridian::routing
