// One query answered for a listener, UDP or TCP alike: the responder's fast path,
// and a TSIG-signed query (a secondary's SOA refresh), which the responder leaves
// alone, verified, answered and signed by lib/transfer out of line.
#pragma once
#include <cstddef>
#include <cstdint>

#include "query/responder.hpp"
#include "transfer/transfer.hpp"

namespace meridian::net {

inline std::size_t answer_dns_query(const query::Snapshot& snapshot, const uint8_t* packet, std::size_t length,
                                    const query::ClientAddress& client, query::Transport transport,
                                    const query::AnswerClock& clock, uint8_t* out, std::size_t out_capacity,
                                    query::AnswerInfo& info) {
  const std::size_t n = query::answer_query(snapshot, packet, length, client, transport, clock, out, out_capacity, &info);
  if (info.signed_request) [[unlikely]]
    return transfer::answer_signed_query(snapshot, packet, length, client, transport, out, out_capacity);
  return n;
}

}  // namespace meridian::net
