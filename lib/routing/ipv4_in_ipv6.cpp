#include "routing/ipv4_in_ipv6.hpp"

#include <cstring>

namespace meridian::routing {

namespace {

constexpr std::size_t kForms = sizeof kIpv4InIpv6Forms / sizeof kIpv4InIpv6Forms[0];

std::size_t active_forms(bool all_forms) { return all_forms ? kForms : 1; }

// Index of the first bit where a and b differ within their first `bits` bits, or `bits`.
unsigned first_difference(const uint8_t* a, const uint8_t* b, unsigned bits) {
  for (unsigned byte = 0; byte * 8 < bits; ++byte) {
    const unsigned diff = a[byte] ^ b[byte];
    if (diff == 0) continue;
    const unsigned at = byte * 8 + static_cast<unsigned>(__builtin_clz(diff << 24));
    return at < bits ? at : bits;
  }
  return bits;
}

// Every form's prefix is 16 bits or longer, so an address whose first 16 bits
// start none of them is in no form, and no network of 16 bits or more around it
// overlaps one: most IPv6 clients are decided here, without the per-form compares.
bool starts_a_form(const uint8_t* v6) {
  for (const Ipv4InIpv6Form& f : kIpv4InIpv6Forms)
    if (v6[0] == f.prefix[0] && v6[1] == f.prefix[1]) return true;
  return false;
}
static_assert([] {
  for (const Ipv4InIpv6Form& f : kIpv4InIpv6Forms)
    if (f.prefix_len < 16) return false;
  return true;
}());

}  // namespace

const Ipv4InIpv6Form* ipv4_in_ipv6_form(const uint8_t* v6, bool all_forms) {
  if (!starts_a_form(v6)) return nullptr;
  for (std::size_t i = 0; i < active_forms(all_forms); ++i) {
    const Ipv4InIpv6Form& f = kIpv4InIpv6Forms[i];
    if (std::memcmp(v6, f.prefix, f.prefix_len / 8u) == 0) return &f;
  }
  return nullptr;
}

void embedded_ipv4(const Ipv4InIpv6Form& form, const uint8_t* v6, uint8_t* v4) {
  std::memcpy(v4, v6 + form.v4_at / 8u, 4);
  if (form.inverted)
    for (int i = 0; i < 4; ++i) v4[i] = static_cast<uint8_t>(~v4[i]);
}

unsigned scope_outside_forms(const uint8_t* v6, unsigned scope, bool all_forms) {
  if (scope >= 16 && !starts_a_form(v6)) return scope;
  for (std::size_t i = 0; i < active_forms(all_forms); ++i) {
    const Ipv4InIpv6Form& f = kIpv4InIpv6Forms[i];
    if (scope >= f.prefix_len) continue;  // the network is inside the form or apart from it
    const unsigned at = first_difference(v6, f.prefix, f.prefix_len);
    // The scope's network overlaps the form while they agree on its bits: lengthen
    // it to the first bit that tells them apart (none: v6 is in the form).
    if (at >= scope && at < f.prefix_len) scope = at + 1;
  }
  return scope;
}

}  // namespace meridian::routing
