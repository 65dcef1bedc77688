// An IP network as an mmdb search tree sees it: 128 address bits, with IPv4
// stored under ::/96 (the layout of MaxMind's IPv6 databases), and a prefix
// length in those bits.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meridian::geo {

struct IpNetwork {
  std::array<uint8_t, 16> bytes{};  // IPv4 a.b.c.d is ::a.b.c.d
  unsigned prefix_length = 0;       // tree bits: IPv4 /n is 96 + n
  bool ipv4 = false;                // remembered for printing only

  // Bit i of the address, counted from the most significant (0..127).
  bool bit(unsigned i) const { return (bytes[i / 8] >> (7 - i % 8)) & 1u; }
  // The prefix in the family's own terms: "10.0.0.0/8", "2001:db8::/32".
  std::string to_string() const;
  bool operator==(const IpNetwork&) const = default;
};

// Parses "a.b.c.d/n", "x:y::/n" or a bare address (a host route). Host bits
// set below the prefix are an error (a likely typo), and so is a prefix out
// of range. IPv4-mapped networks (::ffff:a.b.c.d/n, n >= 96) come back as
// IPv4, since the tree stores them there. On failure, *error says why.
std::optional<IpNetwork> parse_network(std::string_view text, std::string* error);

}  // namespace meridian::geo
