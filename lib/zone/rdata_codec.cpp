#include "zone/rdata_codec.hpp"

#include <ldns/ldns.h>

#include <charconv>
#include <cctype>
#include <memory>
#include <vector>

#include "dns/constants.hpp"
#include "dns/name.hpp"

namespace meridian::zone {

namespace {

struct RrDeleter {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};
struct RdfDeleter {
  void operator()(ldns_rdf* rdf) const { ldns_rdf_deep_free(rdf); }
};

// Types whose embedded names may be compressed (RFC 3597 section 4).
bool names_compressible(uint16_t type) {
  switch (type) {
    case dns::type::NS: case 3 /*MD*/: case 4 /*MF*/: case dns::type::CNAME: case dns::type::SOA:
    case 7 /*MB*/: case 8 /*MG*/: case 9 /*MR*/: case dns::type::PTR: case 14 /*MINFO*/:
    case dns::type::MX:
      return true;
    default:
      return false;
  }
}

// Index of the rdata field that names an additional-section target, or -1.
int target_field(uint16_t type) {
  switch (type) {
    case dns::type::NS: return 0;
    case dns::type::MX: return 1;
    case dns::type::SRV: return 3;
    default: return -1;
  }
}

// ldns stores numbers without range checks (MX 65536 becomes 0); the leading
// numeric fields of common types are checked here. Widths in bits per field.
std::string check_number_ranges(uint16_t type, std::string_view text) {
  std::vector<unsigned> widths;
  switch (type) {
    case dns::type::MX: widths = {16}; break;
    case dns::type::SRV: widths = {16, 16, 16}; break;
    case dns::type::NAPTR: widths = {16, 16}; break;
    case 257 /*CAA*/: widths = {8}; break;
    case dns::type::DS: case 59 /*CDS*/: widths = {16, 8, 8}; break;
    case 44 /*SSHFP*/: widths = {8, 8}; break;
    case 52 /*TLSA*/: case 53 /*SMIMEA*/: widths = {8, 8, 8}; break;
    case dns::type::SOA: widths = {0, 0, 32, 32, 32, 32, 32}; break;  // 0: a name, not checked
    default: return {};
  }
  std::size_t pos = 0;
  for (unsigned width : widths) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    std::size_t end = pos;
    while (end < text.size() && !std::isspace(static_cast<unsigned char>(text[end]))) ++end;
    const std::string_view token = text.substr(pos, end - pos);
    pos = end;
    if (width == 0 || token.empty()) continue;
    // ldns would wrap a negative number silently (MX -1 loads as 65535).
    if (token.size() > 1 && token[0] == '-' && std::isdigit(static_cast<unsigned char>(token[1]))) {
      std::string message = "\"";
      message.append(token).append("\" is negative; the field is an unsigned ").append(std::to_string(width)).append("-bit number");
      return message;
    }
    uint64_t value = 0;
    const auto [ptr, err] = std::from_chars(token.data(), token.data() + token.size(), value);
    if (ptr != token.data() + token.size()) continue;  // not a plain number (ldns judges it)
    if (err != std::errc() || value > (width == 32 ? 0xFFFFFFFFull : (1ull << width) - 1)) {
      // Built with append(): GCC 12's -Wrestrict misfires on "literal" + std::string at -O2.
      std::string message = "\"";
      message.append(token).append("\" does not fit in ").append(std::to_string(width)).append(" bits");
      return message;
    }
  }
  return {};
}

}  // namespace

std::optional<uint16_t> rr_type_from_name(std::string_view name) {
  const std::string s(name);
  const ldns_rr_type t = ldns_get_rr_type_by_name(s.c_str());
  if (t == 0) return std::nullopt;
  return static_cast<uint16_t>(t);
}

std::string rr_type_name(uint16_t type) {
  char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
  std::string out = s ? s : "TYPE" + std::to_string(type);
  free(s);
  return out;
}

ParsedRdata parse_rdata(uint16_t type, std::string_view text, std::string_view owner_wire,
                        std::string_view origin_wire) {
  ParsedRdata out;
  if (const std::string problem = check_number_ranges(type, text); !problem.empty()) {
    out.error = std::string("bad ") + rr_type_name(type) + " data \"" + std::string(text) + "\": " + problem;
    return out;
  }
  const std::string origin_text = dns::name_to_text(origin_wire);
  std::unique_ptr<ldns_rdf, RdfDeleter> origin(ldns_dname_new_frm_str(origin_text.c_str()));
  const std::string line = dns::name_to_text(owner_wire) + " 0 IN " + rr_type_name(type) + " " + std::string(text);
  ldns_rr* raw = nullptr;
  const ldns_status status = ldns_rr_new_frm_str(&raw, line.c_str(), 0, origin.get(), nullptr);
  std::unique_ptr<ldns_rr, RrDeleter> rr(raw);
  if (status != LDNS_STATUS_OK) {
    out.error = std::string("bad ") + rr_type_name(type) + " data \"" + std::string(text) + "\": " +
                ldns_get_errorstr_by_id(status);
    return out;
  }
  if (ldns_rr_get_type(rr.get()) != type) {
    out.error = "rdata does not match type " + rr_type_name(type);
    return out;
  }
  const bool compressible = names_compressible(type);
  const int target = target_field(type);
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr.get()); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr.get(), i);
    const bool is_name = ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME;
    const std::size_t at = out.rdata.wire.size();
    if (is_name && compressible && out.rdata.compressible_count < 2)
      out.rdata.compressible_at[out.rdata.compressible_count++] = static_cast<uint16_t>(at);
    if (is_name && static_cast<int>(i) == target) {
      out.rdata.has_target = true;
      out.rdata.target_at = static_cast<uint16_t>(at);
    }
    out.rdata.wire.append(reinterpret_cast<const char*>(ldns_rdf_data(rdf)), ldns_rdf_size(rdf));
  }
  if (out.rdata.wire.size() > 65535) out.error = "rdata longer than 65535 bytes";
  return out;
}

std::string rdata_to_text(uint16_t type, std::string_view wire) {
  ldns_rr* raw = nullptr;
  // Build a full RR in wire form and let ldns print its rdata.
  std::string rr_wire(1, '\0');
  uint8_t fixed[10];
  dns::write_u16(fixed, type);
  dns::write_u16(fixed + 2, dns::klass::IN);
  dns::write_u32(fixed + 4, 0);
  dns::write_u16(fixed + 8, static_cast<uint16_t>(wire.size()));
  rr_wire.append(reinterpret_cast<const char*>(fixed), 10);
  rr_wire.append(wire);
  std::size_t pos = 0;
  if (ldns_wire2rr(&raw, reinterpret_cast<const uint8_t*>(rr_wire.data()), rr_wire.size(), &pos,
                   LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
    return {};
  std::unique_ptr<ldns_rr, RrDeleter> rr(raw);
  // Empty rdata has no fields to print; RFC 3597's generic form reads back for any type.
  if (wire.empty()) return "\\# 0";
  std::string out;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr.get()); ++i) {
    char* s = ldns_rdf2str(ldns_rr_rdf(rr.get(), i));
    if (!out.empty()) out += ' ';
    if (s) out += s;
    free(s);
  }
  return out;
}

}  // namespace meridian::zone
