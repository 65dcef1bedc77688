// The server name (SNI, RFC 6066 §3) of a TLS ClientHello, read from the first bytes of a
// connection without terminating TLS: what an L4 listener with "sni" routes on. Strict and
// bounded: TLS records of type handshake (versions 3.0-3.4 on the record layer, 1 to 2^14
// bytes each) carrying one ClientHello (legacy version TLS 1.0-1.2, as TLS 1.3 sends too),
// possibly over several records; every length is checked against what contains it. Stand-alone
// (no other meridian code), so the fuzz target builds it alone.
#pragma once
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace meridian::forward::l4 {

// The ClientHello's handshake message may be at most this long (a post-quantum key share
// makes it about 1.8 KiB; padded ones reach 2 KiB): anything longer is refused.
inline constexpr std::size_t kMaxClientHelloBytes = 16384;
// A ClientHello is one or two records in practice; spread over more than this, it is refused.
inline constexpr int kMaxClientHelloRecords = 32;
// Handshake and record headers included: the most bytes a listener ever needs to look at
// (by then the parser has said complete or invalid).
inline constexpr std::size_t kMaxClientHelloWire = 4 + kMaxClientHelloBytes + 5 * kMaxClientHelloRecords;

struct ClientHello {
  enum class Status {
    incomplete,  // valid so far: more bytes are needed
    complete,    // a whole, valid ClientHello (server_name empty when it has no SNI)
    invalid,     // not TLS, not a ClientHello, malformed, or larger than kMaxClientHelloBytes
  };
  Status status = Status::incomplete;
  std::string server_name;  // the host_name, lower case, without a trailing dot
  const char* error = "";   // for invalid: what was wrong (a static string)
};

// Parses the bytes a client sent first (all of them so far).
ClientHello parse_client_hello(std::span<const uint8_t> bytes);

}  // namespace meridian::forward::l4
