// Rdata wire -> presentation text exactly as ldns prints it (the form `zone
// import` writes), without ldns for the types large zones are made of: A, AAAA,
// NS, CNAME, PTR, DNAME and MX. Every other type is printed by ldns.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace meridian::zone {

// A wire name as ldns prints it ("a\.b.example.com.", "\032x."); empty when the
// wire is not one whole uncompressed name.
std::string ldns_name_text(std::string_view wire);

// Empty when ldns cannot print the rdata.
std::string presentation_text(uint16_t type, std::string_view wire);

}  // namespace meridian::zone
