// One IP address as the DNS query path, the routing tables and the forwarders
// carry it: the family and the bytes in network order. Trivially copyable, no
// allocation, the same 17 bytes the per-query client always had.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace boost::asio::ip {
class address;
}

namespace meridian::util {

struct IpAddress {
  uint8_t family = 0;        // 4 or 6; 0: not known
  uint8_t address[16] = {};  // IPv4 in the first 4 bytes, the rest zero

  std::size_t size() const { return family == 4 ? 4 : 16; }
  const uint8_t* bytes() const { return address; }

  static IpAddress v4(const void* four_bytes) {
    IpAddress a;
    a.family = 4;
    std::memcpy(a.address, four_bytes, 4);
    return a;
  }
  static IpAddress v6(const void* sixteen_bytes) {
    IpAddress a;
    a.family = 6;
    std::memcpy(a.address, sixteen_bytes, 16);
    return a;
  }
  static IpAddress from_asio(const boost::asio::ip::address& a);
  boost::asio::ip::address to_asio() const;  // family 0 gives the IPv6 ::
  std::string to_string() const;
  // "192.0.2.1", "2001:db8::1"; nullopt for anything else.
  static std::optional<IpAddress> parse(std::string_view text);

  // ::ffff:a.b.c.d: an IPv6 address that carries an IPv4 client (RFC 4291 2.5.5.2).
  bool is_ipv4_mapped() const {
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    return family == 6 && std::memcmp(address, kMapped, sizeof kMapped) == 0;
  }
  // The IPv4 address a mapped one carries; any other address as it is.
  IpAddress unmapped() const { return is_ipv4_mapped() ? v4(address + 12) : *this; }

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// The same for asio addresses (peers of a dual-stack listener), keeping the text
// form asio gives them.
boost::asio::ip::address unmapped(const boost::asio::ip::address& a);

// ADDRESS/PREFIX with no address bits set beyond the prefix.
struct IpNetwork : IpAddress {
  unsigned prefix_len = 0;
  // Whether an address of the same family lies in the network.
  bool contains(const uint8_t* other) const {
    const unsigned full = prefix_len / 8;
    if (std::memcmp(address, other, full) != 0) return false;
    if (prefix_len % 8 == 0) return true;
    const uint8_t mask = static_cast<uint8_t>(0xFF << (8 - prefix_len % 8));
    return (address[full] & mask) == (other[full] & mask);
  }
};

// Parses "ADDRESS/PREFIX"; nullopt with error set when malformed. The error
// quotes shown_as (what the operator wrote, e.g. a whole "net:..." key), or the
// text itself when shown_as is empty.
std::optional<IpNetwork> parse_network(std::string_view text, std::string& error, std::string_view shown_as = {});

}  // namespace meridian::util
