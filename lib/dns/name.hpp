// Domain names in uncompressed wire form: reading from packets (with pointers),
// case folding, comparison and conversion to and from presentation text.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dns/constants.hpp"

namespace meridian::dns {

// ASCII lower-casing table; DNS names compare case-insensitively (RFC 4343).
extern const uint8_t kLowerTable[256];
inline uint8_t to_lower(uint8_t c) { return kLowerTable[c]; }

// A name in uncompressed wire form, fixed storage so the query path never allocates.
struct NameBuffer {
  uint8_t data[kMaxNameLength];
  uint8_t length = 0;   // bytes used, including the root label
  uint8_t labels = 0;   // labels, not counting the root
  uint8_t label_offsets[kMaxLabels];  // where each label starts

  std::string_view view() const { return {reinterpret_cast<const char*>(data), length}; }
  // The suffix that starts at label i (i == labels gives the root name).
  std::string_view suffix(unsigned i) const {
    const unsigned off = i < labels ? label_offsets[i] : length - 1u;
    return {reinterpret_cast<const char*>(data) + off, length - off};
  }
};

enum class NameStatus { ok, truncated, bad_label, too_long, bad_pointer };

// Reads a possibly compressed name at pos; on success pos moves past the name as it
// appears in the packet. With fold_case, the copy is lower-cased.
NameStatus read_name(const uint8_t* packet, std::size_t packet_len, std::size_t& pos,
                     NameBuffer& out, bool fold_case);

// Length of the uncompressed wire name at p (including root); 0 when malformed within max.
std::size_t wire_name_length(const uint8_t* p, std::size_t max);
// Number of labels (excluding root) of a well-formed uncompressed wire name.
unsigned wire_name_labels(std::string_view wire);
// Lower-cases a wire name's label bytes.
std::string fold_wire_name(std::string_view wire);

// Case-insensitive comparison of two uncompressed wire names.
bool wire_names_equal(std::string_view a, std::string_view b);
// True when name is equal to or below ancestor (both uncompressed, lower-case).
bool is_subdomain(std::string_view name, std::string_view ancestor);
// Strips the first label (name must not be the root).
std::string_view parent_name(std::string_view name);

// Presentation form <-> wire. Text may be relative to origin (wire form) unless it
// ends in '.', and '@' means the origin. Escapes (\. \DDD) follow RFC 1035 5.1.
std::optional<std::string> name_from_text(std::string_view text, std::string_view origin = {});
std::string name_to_text(std::string_view wire);

}  // namespace meridian::dns
