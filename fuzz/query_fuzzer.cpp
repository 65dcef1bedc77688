// The DNS query path: one message answered against a fixed snapshot (fuzz/snapshot/:
// static, wildcard, delegated, CNAME/DNAME and geo/dynamic names, explain open to every
// source, cookies with a fixed secret), as the UDP or TCP server would answer it.
// Input: byte 0 picks how (bit 0: TCP, bit 1: answer over the query's own buffer as
// the UDP server does, bits 2-4: the source address), the rest is the message.
// Every reply must re-parse with ldns, echo the ID with QR set, and fit the size
// limit (512 without EDNS, the advertised payload (at least 512) with it, 65535 TCP).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <vector>

#include "dns/query.hpp"
#include "query/responder.hpp"
#include "snapshot_state.hpp"
#include "util/ip_address.hpp"

// After the standard headers: ldns's headers define bool/false macros.
#include <ldns/ldns.h>

namespace {

using namespace meridian;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "query_fuzzer: %s\n", why);
  std::abort();
}

const query::Snapshot& snapshot() { return *fuzz::snapshot_state().snapshot; }

// Sources the geo map, ECS and explain rules tell apart (see geodata/demo-city.csv).
util::IpAddress source(unsigned index) {
  static const util::IpAddress kSources[8] = {
      *util::IpAddress::parse("127.0.0.1"),   *util::IpAddress::parse("10.1.2.3"),
      *util::IpAddress::parse("127.1.0.9"),   *util::IpAddress::parse("198.51.100.7"),
      *util::IpAddress::parse("2001:db8::1"), *util::IpAddress::parse("2001:db8:2::5"),
      *util::IpAddress::parse("::ffff:127.2.0.1"), *util::IpAddress::parse("203.0.113.5")};
  return kSources[index & 7];
}

// The payload the query advertises, as ldns reads it; meridian's parser where ldns
// refuses the message (meridian answers some messages ldns rejects, e.g. with trailing bytes).
std::optional<uint16_t> advertised_payload(const uint8_t* message, std::size_t size) {
  ldns_pkt* parsed = nullptr;
  if (ldns_wire2pkt(&parsed, message, size) == LDNS_STATUS_OK) {
    const bool edns = ldns_pkt_edns(parsed);
    const uint16_t payload = ldns_pkt_edns_udp_size(parsed);
    ldns_pkt_free(parsed);
    if (edns) return payload;
    return std::nullopt;
  }
  dns::Query q;
  const dns::QueryStatus status = dns::parse_query(message, size, q);
  if (status != dns::QueryStatus::drop && q.has_edns) return q.edns_payload;
  return std::nullopt;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const query::Snapshot& snap = snapshot();
  if (size < 1) return 0;
  const uint8_t control = data[0];
  const uint8_t* message = data + 1;
  const std::size_t length = size - 1;
  if (length > 65535) return 0;
  const auto transport = (control & 1) ? query::Transport::tcp : query::Transport::udp;
  const bool in_place = control & 2;

  // The reply buffer is always 64 KiB: the limit is the responder's to keep, not the buffer's.
  static std::vector<uint8_t> out(65535);
  const uint8_t* packet = message;
  if (in_place) {
    std::memcpy(out.data(), message, length);
    packet = out.data();
  }
  // Copied out before answering: the in-place answer overwrites the query.
  std::vector<uint8_t> original(message, message + length);

  const query::AnswerClock clock(std::chrono::steady_clock::time_point(std::chrono::hours(1000)), 1'780'000'000u);
  query::AnswerInfo info;
  const std::size_t n = query::answer_query(snap, packet, length, source(control >> 2), transport, clock, out.data(),
                                            out.size(), &info);
  if (n == 0) return 0;

  std::size_t limit = 65535;
  if (transport == query::Transport::udp) {
    limit = 512;
    if (const auto payload = advertised_payload(original.data(), original.size()); payload && *payload > 512)
      limit = *payload;
  }
  if (n > limit) fail("reply larger than the size limit");
  if (n < 12) fail("reply shorter than a header");
  if (length >= 2 && (out[0] != original[0] || out[1] != original[1])) fail("reply ID differs from the query's");
  if (!(out[2] & 0x80)) fail("reply without QR");
  ldns_pkt* reply = nullptr;
  if (ldns_wire2pkt(&reply, out.data(), n) != LDNS_STATUS_OK) fail("reply does not parse with ldns");
  ldns_pkt_free(reply);
  return 0;
}
