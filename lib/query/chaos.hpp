// CHAOS-class answers: server version and identity (RFC 4892), when enabled.
#pragma once
#include <cstdint>

#include "dns/query.hpp"
#include "dns/writer.hpp"
#include "query/snapshot.hpp"

namespace meridian::query {

// Writes the TXT answer for version.bind, version.server, id.server or
// hostname.bind into w; returns the rcode (REFUSED for other names or when the
// configuration switches the answer off).
uint16_t answer_chaos(const Snapshot& snapshot, const dns::Query& q, dns::MessageWriter& w);

}  // namespace meridian::query
