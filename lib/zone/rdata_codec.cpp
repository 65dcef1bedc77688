#include "zone/rdata_codec.hpp"

#include <arpa/inet.h>
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
// A TXT or SPF character-string holds at most 255 bytes (RFC 1035 3.3); ldns says only
// "could not parse". Long values (DKIM keys) are written as several strings.
std::string check_character_strings(uint16_t type, std::string_view text) {
  if (type != dns::type::TXT && type != 99 /*SPF*/) return {};
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && std::isspace(static_cast<unsigned char>(text[pos]))) ++pos;
    if (pos >= text.size()) break;
    const bool quoted = text[pos] == '"';
    if (quoted) ++pos;
    std::size_t bytes = 0;
    while (pos < text.size()) {
      const char c = text[pos];
      if (quoted ? c == '"' : std::isspace(static_cast<unsigned char>(c))) break;
      if (c == '\\' && pos + 1 < text.size()) {
        // \DDD is one byte, \X is X
        const bool decimal = pos + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[pos + 1]));
        pos += decimal ? 4 : 2;
      } else {
        ++pos;
      }
      ++bytes;
    }
    if (quoted && pos < text.size()) ++pos;  // the closing quote
    if (bytes > 255)
      return "a character-string holds at most 255 bytes, this one " + std::to_string(bytes) +
             "; write a long value as several quoted strings (\"first 255 bytes\" \"the rest\"), which "
             "receivers join";
  }
  return {};
}

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

struct GenericRdata {
  std::size_t length = 0;  // as the text says
  std::string bytes;       // as the hex holds
};

// RFC 3597 generic rdata (`\# 3 abcdef`, hex may hold spaces), or nullopt when
// text is not in generic form (ldns judges that).
std::optional<GenericRdata> generic_rdata(std::string_view text) {
  std::size_t pos = text.find_first_not_of(" \t");
  if (pos == std::string_view::npos || text.substr(pos, 2) != "\\#") return std::nullopt;
  pos = text.find_first_not_of(" \t", pos + 2);
  if (pos == std::string_view::npos) return std::nullopt;
  GenericRdata out;
  const auto [end, err] = std::from_chars(text.data() + pos, text.data() + text.size(), out.length);
  if (err != std::errc()) return std::nullopt;
  pos = static_cast<std::size_t>(end - text.data());
  std::string& bytes = out.bytes;
  int high = -1;
  for (; pos < text.size(); ++pos) {
    const char c = text[pos];
    if (c == ' ' || c == '\t') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    if (high < 0) {
      high = v;
    } else {
      bytes.push_back(static_cast<char>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) return std::nullopt;
  return out;
}

// Fewer fields than the type needs: ldns reads generic rdata (`\# 0` for an
// A, `\# 2 000a` for an MX) into what fits. NULL may hold anything (RFC 1035
// 3.3.10); types ldns does not know are opaque.
bool too_few_fields(uint16_t type, std::size_t fields) {
  if (type == 10 /*NULL*/) return false;
  const ldns_rr_descriptor* d = ldns_rr_descript(type);
  if (!d || d->_type != type) return false;
  std::size_t needed = ldns_rr_descriptor_minimum(d);
  // A type bitmap may be empty (CSYNC with no types), though ldns counts it.
  if (needed > 0 && ldns_rr_descriptor_field_type(d, needed - 1) == LDNS_RDF_TYPE_BITMAP) --needed;
  return fields < needed;
}

// A name as ldns reads it in the plainest form only: "@", or letters, digits,
// '-', '_', '*' and dots (no escapes, quotes or spaces, which ldns judges).
bool plain_name_text(std::string_view text) {
  if (text == "@") return true;
  if (text.empty()) return false;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '-' && c != '_' && c != '*' && c != '.') return false;
  }
  return true;
}

// The rdata of one plain name (NS, CNAME, PTR) or of a preference and a plain
// name (MX), with the offsets parse_rdata records for those types.
std::optional<Rdata> name_rdata(uint16_t type, std::string_view prefix_wire, std::string_view name_text,
                                std::string_view origin_wire) {
  if (!plain_name_text(name_text)) return std::nullopt;
  auto name = dns::name_from_text(name_text, origin_wire);
  if (!name) return std::nullopt;
  Rdata rdata;
  rdata.wire.reserve(prefix_wire.size() + name->size());
  rdata.wire.append(prefix_wire);
  rdata.wire.append(*name);
  const auto at = static_cast<uint16_t>(prefix_wire.size());
  if (names_compressible(type)) rdata.compressible_at[rdata.compressible_count++] = at;
  if (target_field(type) >= 0) {
    rdata.has_target = true;
    rdata.target_at = at;
  }
  return rdata;
}

// The forms that make up the bulk of large zones, read without ldns: an A or
// AAAA address, a plain name (NS, CNAME, PTR), an MX with a plain name. Gives
// the bytes ldns gives (unit-tested side by side) at a fraction of the cost;
// nullopt for anything else and for every error, which ldns then reads and words.
std::optional<Rdata> read_common_rdata(uint16_t type, std::string_view text, std::string_view origin_wire) {
  switch (type) {
    case dns::type::A:
    case dns::type::AAAA: {
      char buffer[64];  // inet_pton reads a C string; longer text is not an address
      if (text.empty() || text.size() >= sizeof buffer) return std::nullopt;
      text.copy(buffer, text.size());
      buffer[text.size()] = '\0';
      uint8_t bytes[16];
      const bool v4 = type == dns::type::A;
      if (inet_pton(v4 ? AF_INET : AF_INET6, buffer, bytes) != 1) return std::nullopt;
      Rdata rdata;
      rdata.wire.assign(reinterpret_cast<const char*>(bytes), v4 ? 4 : 16);
      return rdata;
    }
    case dns::type::NS:
    case dns::type::CNAME:
    case dns::type::PTR:
      return name_rdata(type, {}, text, origin_wire);
    case dns::type::MX: {
      const std::size_t space = text.find_first_of(" \t");
      if (space == std::string_view::npos || space == 0) return std::nullopt;
      const std::size_t name_at = text.find_first_not_of(" \t", space);
      if (name_at == std::string_view::npos) return std::nullopt;
      unsigned preference = 0;
      const auto [end, err] = std::from_chars(text.data(), text.data() + space, preference);
      if (err != std::errc() || end != text.data() + space || preference > 0xFFFF) return std::nullopt;
      const char prefix[2] = {static_cast<char>(preference >> 8), static_cast<char>(preference & 0xFF)};
      return name_rdata(type, {prefix, 2}, text.substr(name_at), origin_wire);
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

std::optional<uint16_t> rr_type_from_name(std::string_view name) {
  const std::string s(name);
  const ldns_rr_type t = ldns_get_rr_type_by_name(s.c_str());
  if (t == 0) return std::nullopt;
  return static_cast<uint16_t>(t);
}

namespace {

std::string rr_type_name_from_ldns(uint16_t type) {
  char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
  std::string out = s ? s : "TYPE" + std::to_string(type);
  free(s);
  return out;
}

}  // namespace

std::string rr_type_name(uint16_t type) {
  // Loading and importing a large zone asks for the same few names millions of
  // times; the types below 300 (every one in common use) are printed once.
  static const std::vector<std::string> kLowTypes = [] {
    std::vector<std::string> names;
    for (uint16_t t = 0; t < 300; ++t) names.push_back(rr_type_name_from_ldns(t));
    return names;
  }();
  return type < kLowTypes.size() ? kLowTypes[type] : rr_type_name_from_ldns(type);
}

bool storable_type(uint16_t type) {
  switch (type) {
    case dns::type::OPT: case 249 /*TKEY*/: case 250 /*TSIG*/: case dns::type::IXFR: case dns::type::AXFR:
    case dns::type::MAILB: case dns::type::MAILA: case dns::type::ANY:
    case dns::type::RRSIG: case dns::type::NSEC:
      return false;
    default:
      return true;
  }
}

std::string generic_rdata_text(std::string_view wire) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\\# " + std::to_string(wire.size());
  if (!wire.empty()) out += ' ';
  for (const char c : wire) {
    out += kHex[static_cast<uint8_t>(c) >> 4];
    out += kHex[static_cast<uint8_t>(c) & 0xF];
  }
  return out;
}

ParsedRdata parse_rdata(uint16_t type, std::string_view text, std::string_view owner_wire,
                        std::string_view origin_wire) {
  if (auto common = read_common_rdata(type, text, origin_wire)) return ParsedRdata{std::move(*common), {}};
  return parse_rdata_with_ldns(type, text, owner_wire, origin_wire);
}

ParsedRdata parse_rdata_with_ldns(uint16_t type, std::string_view text, std::string_view owner_wire,
                                  std::string_view origin_wire) {
  ParsedRdata out;
  std::string problem = check_number_ranges(type, text);
  if (problem.empty()) problem = check_character_strings(type, text);
  if (!problem.empty()) {
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
  const std::string bad = std::string("bad ") + rr_type_name(type) + " data \"" + std::string(text) + "\": ";
  if (too_few_fields(type, ldns_rr_rd_count(rr.get()))) {
    out.error = bad + "too short for type " + rr_type_name(type);
    return out;
  }
  // ldns drops generic bytes past what the type's fields take, and does not
  // hold the hex to the length.
  if (const auto generic = generic_rdata(text)) {
    if (generic->length != generic->bytes.size())
      out.error = bad + "the length says " + std::to_string(generic->length) + " bytes, the data holds " +
                  std::to_string(generic->bytes.size());
    else if (generic->bytes != out.rdata.wire)
      out.error = bad + std::to_string(generic->length) + " bytes do not make one record of type " + rr_type_name(type);
  }
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
  if (wire.empty()) return generic_rdata_text(wire);
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
