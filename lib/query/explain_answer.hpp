// `_explain.NAME TXT`: the routing explanation of NAME's service for this client,
// as TXT strings. A diagnostic path for allowed sources only; it may allocate.
#pragma once
#include <cstdint>
#include <string_view>

#include "dns/constants.hpp"
#include "dns/query.hpp"
#include "dns/writer.hpp"
#include "query/responder.hpp"
#include "query/snapshot.hpp"

namespace meridian::query {

// Asked of every IN query: inline, so the common answer pays no call for it.
inline bool is_explain_query(const dns::Query& q) {
  static constexpr std::string_view kLabel("\x08_explain", 9);
  return q.qtype == dns::type::TXT && q.qname.labels > 1 && q.qname.view().substr(0, kLabel.size()) == kLabel;
}

// Answers an explain query (REFUSED unless the source is in explain_allow);
// client is the address routing decides on for this query.
uint16_t answer_explain(const Snapshot& snapshot, const dns::Query& q, const ClientAddress& source,
                        const routing::RouteClient& client, const AnswerClock& clock, dns::MessageWriter& w);

}  // namespace meridian::query
