// Presentation-format rdata -> wire Rdata, through ldns, so every RR type ldns
// knows is accepted; the commonest forms (A, AAAA, plain names, MX) are read
// directly, to the same bytes, because large zones are mostly those. Load-time only.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "zone/zone.hpp"

namespace meridian::zone {

// RR type from its mnemonic ("MX", "TYPE65534"); nullopt when unknown.
std::optional<uint16_t> rr_type_from_name(std::string_view name);
std::string rr_type_name(uint16_t type);

// Meta types and QTYPEs (OPT, TKEY, TSIG, IXFR, AXFR, MAILB, MAILA, ANY: RFC
// 6895 3.1) and the DNSSEC records meridian does not serve (RRSIG, NSEC: it does
// not sign) cannot be stored in a zone.
bool storable_type(uint16_t type);

// RFC 3597 generic rdata (`\# 0`, `\# 2 abcd`): reads back for any type.
std::string generic_rdata_text(std::string_view wire);

struct ParsedRdata {
  Rdata rdata;
  std::string error;  // set when parsing failed
};

// Parses the rdata text of an RR of `type` owned by owner_wire; relative names in
// rdata are relative to origin_wire.
ParsedRdata parse_rdata(uint16_t type, std::string_view text, std::string_view owner_wire,
                        std::string_view origin_wire);

// The same through ldns alone, for every form: what parse_rdata's own readers of
// common forms are tested against.
ParsedRdata parse_rdata_with_ldns(uint16_t type, std::string_view text, std::string_view owner_wire,
                                  std::string_view origin_wire);

// Rdata wire -> presentation text (for zone import output, explain and tests).
std::string rdata_to_text(uint16_t type, std::string_view wire);

}  // namespace meridian::zone
