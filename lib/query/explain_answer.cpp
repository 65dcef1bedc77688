#include "query/explain_answer.hpp"

#include <string>
#include <vector>

#include "dns/constants.hpp"
#include "query/service_lookup.hpp"
#include "routing/explain.hpp"

namespace meridian::query {

using dns::MessageWriter;
using dns::Section;

uint16_t answer_explain(const Snapshot& snap, const dns::Query& q, const ClientAddress& source,
                        const routing::RouteClient& client, const AnswerClock& clock, MessageWriter& w) {
  // The peer for the explain ACL: a dual-stack socket reports an IPv4 peer as
  // ::ffff:a.b.c.d. (Routing also reads the IPv4 client in other forms: decide().)
  const ClientAddress plain = source.unmapped();
  if (!snap.routing || routing::match_net(snap.explain_allow, plain.family, plain.address) < 0) return dns::rcode::REFUSED;
  const std::string_view target = q.qname.suffix(1);
  const ServiceLookup found = find_service(*snap.zones, target);
  std::vector<std::string> lines;
  if (found.service < 0) {
    lines.push_back(found.error);
  } else {
    routing::ExplainRequest req;
    req.service = found.service;
    req.client = client;
    req.client_text = q.has_ecs ? "ecs" : "packet source";
    req.ecs_prefix = client.from_ecs ? q.ecs.source_prefix : -1;
    req.now = clock.now();
    lines = routing::explain_lines(routing::explain(*snap.routing, req));
  }
  w.set_flags(w.flags() | dns::flag::AA);
  for (const auto& line : lines) {
    std::string rdata;
    for (std::size_t at = 0; at < line.size() || at == 0; at += 255) {
      const std::string chunk = line.substr(at, 255);
      rdata.push_back(static_cast<char>(chunk.size()));
      rdata += chunk;
      if (line.empty()) break;
    }
    const auto mark = w.mark();
    if (!(w.put_name(q.qname.view()) && w.put_u16(dns::type::TXT) && w.put_u16(dns::klass::IN) && w.put_u32(0) &&
          w.put_u16(static_cast<uint16_t>(rdata.size())) && w.put_bytes(rdata.data(), rdata.size()))) {
      w.rollback(mark);
      w.set_flags(w.flags() | dns::flag::TC);
      break;
    }
    w.count(Section::answer);
  }
  return dns::rcode::NOERROR;
}

}  // namespace meridian::query
