// Signed ordinary queries: a secondary signs its SOA refresh with the transfer
// key and rejects an unsigned answer, so such a query is answered like any other
// and the answer signed (RFC 8945 5.3). Rare (secondaries only), so the copies
// and allocations here stay off the fast path's budget.
#include <algorithm>
#include <cstring>
#include <ctime>

#include "dns/constants.hpp"
#include "dns/query.hpp"
#include "transfer/transfer.hpp"
#include "transfer/transfer_counters.hpp"

namespace meridian::transfer {

std::size_t answer_signed_query(const query::Snapshot& snapshot, const uint8_t* message, std::size_t length,
                                const util::IpAddress& client, query::Transport transport, uint8_t* out,
                                std::size_t out_capacity, uint64_t now) {
  if (!now) now = static_cast<uint64_t>(std::time(nullptr));
  TsigRecord tsig;
  if (length < dns::kHeaderSize) return 0;
  const TsigFound found = find_tsig(message, length, tsig);
  // Everything but the TSIG record (its ARCOUNT taken off).
  std::vector<uint8_t> unsigned_query;
  if (found == TsigFound::found) {
    unsigned_query.assign(message, message + tsig.start);
    dns::write_u16(unsigned_query.data() + 10, static_cast<uint16_t>(dns::read_u16(unsigned_query.data() + 10) - 1));
  }
  std::vector<uint8_t> reply;
  const auto bare = [&](uint16_t rcode) {
    dns::Query q;
    const auto status = dns::parse_query(unsigned_query.data(), unsigned_query.size(), q);
    const std::size_t question_end = status == dns::QueryStatus::ok ? q.question_end : dns::kHeaderSize;
    reply.assign(message, message + std::min(question_end, length));
    reply[2] = static_cast<uint8_t>(0x80 | (message[2] & 0x78));
    reply[3] = static_cast<uint8_t>(rcode);
    dns::write_u16(reply.data() + 4, question_end > dns::kHeaderSize ? 1 : 0);
    std::memset(reply.data() + 6, 0, 6);
  };
  if (found != TsigFound::found) {
    unsigned_query.assign(message, message + dns::kHeaderSize);
    bare(dns::rcode::FORMERR);
  } else {
    TsigSession session;
    const uint16_t error = verify_request(message, length, tsig, snapshot.tsig_keys, now, session);
    if (error != 0) {
      counters().count_tsig_failure(error);
      bare(kNotAuth);
      if (error == tsig_error::BADTIME) sign_message(reply, session, now, error);
      else append_unsigned_tsig(reply, tsig, error, now);
    } else {
      // Room for the TSIG record: the key and algorithm names, the fixed fields, the MAC.
      const std::size_t reserve = tsig.key_name.size() + tsig.algorithm.size() + 26 + 64;
      if (out_capacity <= reserve + dns::kHeaderSize) return 0;
      std::vector<uint8_t> answer(out_capacity);
      const std::size_t n = query::answer_query(snapshot, unsigned_query.data(), unsigned_query.size(), client,
                                                transport, query::AnswerClock(), answer.data(),
                                                out_capacity - reserve);
      if (n == 0) return 0;
      reply.assign(answer.begin(), answer.begin() + static_cast<std::ptrdiff_t>(n));
      sign_message(reply, session, now);
    }
  }
  if (reply.size() > out_capacity) return 0;
  std::memcpy(out, reply.data(), reply.size());
  return reply.size();
}

}  // namespace meridian::transfer
