// IPv6 addresses that carry an IPv4 client, routed as that IPv4 client (as gdnsd
// does): IPv4 database networks, IPv4 net: keys and the IPv4 ECS cap decide, and
// the ECS scope is the bits before the IPv4 address plus the IPv4 scope.
// Query path: a few byte compares, no allocation.
#pragma once
#include <cstdint>
#include <string_view>

namespace meridian::routing {

struct Ipv4InIpv6Form {
  std::string_view name;
  uint8_t prefix[12];  // the form's prefix, zero-padded
  uint8_t prefix_len;  // bits that identify the form (a multiple of 8)
  uint8_t v4_at;       // bit where the IPv4 address starts
  bool inverted;       // Teredo stores the client's address with every bit flipped
};

// The first one is always on (a dual-stack socket reports IPv4 peers so); the
// others only with dns.ecs.ipv4_in_ipv6. Disjoint prefixes.
inline constexpr Ipv4InIpv6Form kIpv4InIpv6Forms[] = {
    {"IPv4-mapped", {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, 96, 96, false},  // ::ffff:0:0/96, RFC 4291
    {"IPv4-compatible", {}, 96, 96, false},                                     // ::/96 (:: and ::1 too)
    {"SIIT", {0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0}, 96, 96, false},         // ::ffff:0:0:0/96, RFC 2765
    {"NAT64", {0, 0x64, 0xFF, 0x9B}, 96, 96, false},                            // 64:ff9b::/96, RFC 6052
    {"Teredo", {0x20, 0x01, 0, 0}, 32, 96, true},                               // 2001::/32, RFC 4380
    {"6to4", {0x20, 0x02}, 16, 16, false},                                      // 2002::/16, RFC 3056
};

// The form whose prefix holds this IPv6 address, or nullptr. all_forms false:
// IPv4-mapped only.
const Ipv4InIpv6Form* ipv4_in_ipv6_form(const uint8_t* v6, bool all_forms);

// The IPv4 address inside (4 bytes, big-endian).
void embedded_ipv4(const Ipv4InIpv6Form& form, const uint8_t* v6, uint8_t* v4);

// The shortest prefix length, at least `scope`, whose network around v6 holds no
// address of a form v6 is not in (so a scope never covers clients that are routed
// by another IPv4 address, or by none).
unsigned scope_outside_forms(const uint8_t* v6, unsigned scope, bool all_forms);

}  // namespace meridian::routing
