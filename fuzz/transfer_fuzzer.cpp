// The AXFR/TSIG path: one message received over TCP, handled as the TCP server does
// (a transfer request to answer_transfer, anything else to answer_query and, when
// signed, answer_signed_query) against the fixed snapshot (fuzz/snapshot/: the zone
// fuzz.test. transferable with the key fuzz-key from 127.0.0.0/8 or unsigned from
// 10.0.0.0/8, child.fuzz.test. refusing its dynamic names).
// Input: byte 0 picks how (bit 0: sign the message with fuzz-key first, at the
// current time as the server verifies it, so the checks after TSIG verification are
// reached; bits 1-2: the source address; bit 3:
// a 1200-byte message limit, so a transfer splits into many messages), the rest is
// the message. Every message sent must re-parse with ldns, echo the ID with QR set
// and fit 65535 bytes (a transfer's, the message limit); every message of a transfer answering a request we signed
// must end with a TSIG record.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "net/answer.hpp"
#include "snapshot_state.hpp"
#include "transfer/transfer.hpp"
#include "util/ip_address.hpp"

// After the standard headers: ldns's headers define bool/false macros.
#include <ldns/ldns.h>

namespace {

using namespace meridian;

[[noreturn]] void fail(const char* why) {
  std::fprintf(stderr, "transfer_fuzzer: %s\n", why);
  std::abort();
}

const query::Snapshot& snapshot() { return *fuzz::snapshot_state().snapshot; }

util::IpAddress source(unsigned index) {
  static const util::IpAddress kSources[4] = {
      *util::IpAddress::parse("127.0.0.1"),    // allowed with fuzz-key
      *util::IpAddress::parse("10.1.2.3"),     // allowed unsigned
      *util::IpAddress::parse("192.0.2.200"),  // not allowed
      *util::IpAddress::parse("::ffff:127.0.0.9")};
  return kSources[index & 3];
}

const query::TsigKey& fuzz_key() {
  for (const auto& key : snapshot().tsig_keys)
    if (key.name == "fuzz-key.") return key;
  fail("fuzz/snapshot/meridian.json has no tsig key fuzz-key");
}

// The last additional record's type is TSIG.
bool ends_with_tsig(const uint8_t* message, std::size_t size) {
  transfer::TsigRecord tsig;
  return transfer::find_tsig(message, size, tsig) == transfer::TsigFound::found;
}

void check_reply(const uint8_t* reply, std::size_t n, const std::vector<uint8_t>& query) {
  if (n > 65535) fail("message larger than 65535 bytes");
  if (n < 12) fail("message shorter than a header");
  if (query.size() >= 2 && (reply[0] != query[0] || reply[1] != query[1])) fail("message ID differs from the query's");
  if (!(reply[2] & 0x80)) fail("message without QR");
  ldns_pkt* parsed = nullptr;
  if (ldns_wire2pkt(&parsed, reply, n) != LDNS_STATUS_OK) fail("message does not parse with ldns");
  ldns_pkt_free(parsed);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const query::Snapshot& snap = snapshot();
  if (size < 1 || size - 1 > 65535) return 0;
  const uint8_t control = data[0];
  std::vector<uint8_t> query(data + 1, data + size);
  const bool signed_by_us = (control & 1) && query.size() >= 12;
  if (signed_by_us && !transfer::sign_request(query, fuzz_key())) fail("fuzz-key cannot sign");
  if (query.size() > 65535) return 0;
  const util::IpAddress client = source(control >> 1);

  if (transfer::is_transfer_request(query.data(), query.size())) {
    transfer::TransferOptions options;
    if (control & 8) options.max_message = 1200;  // above the TSIG reserve (606 bytes)
    const transfer::TransferReply reply = transfer::answer_transfer(snap, query.data(), query.size(), client, options);
    for (const auto& message : reply.messages) {
      check_reply(message.data(), message.size(), query);
      if (message.size() > options.max_message) fail("a transfer message over the message limit");
      const bool transferred = reply.outcome == "axfr" || reply.outcome == "ixfr-as-axfr" || reply.outcome == "ixfr-up-to-date";
      if (signed_by_us && transferred && !ends_with_tsig(message.data(), message.size()))
        fail("a transfer message to a signed request is not signed");
    }
    if (reply.rcode == 0 && reply.messages.empty() && reply.outcome != "dropped") fail("a transfer without messages");
    return 0;
  }
  static std::vector<uint8_t> out(65535);
  query::AnswerInfo info;
  const query::AnswerClock clock(std::chrono::steady_clock::time_point(std::chrono::hours(1000)));
  const std::size_t n = net::answer_dns_query(snap, query.data(), query.size(), client, query::Transport::tcp, clock,
                                              out.data(), out.size(), info);
  if (n == 0) return 0;
  check_reply(out.data(), n, query);
  return 0;
}
