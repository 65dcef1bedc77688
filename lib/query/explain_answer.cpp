#include "query/explain_answer.hpp"

#include <string>
#include <vector>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "dnssec/keys.hpp"
#include "query/service_lookup.hpp"
#include "routing/explain.hpp"

namespace meridian::query {

using dns::MessageWriter;
using dns::Section;

namespace {

void dnssec_lines(const Snapshot& snap, std::string_view name, std::vector<std::string>& lines) {
  snap.zones->for_each_zone([&](const zone::Zone& z) {
    const zone::ZoneSignatures* sigs = snap.signatures_for(z);
    if (!sigs || !z.signed_zone() || !dns::is_subdomain(name, z.origin())) return;
    std::string keys;
    const dnssec::KeySet& set = *z.dnssec().keys;
    for (const auto& k : set.keys)
      keys += (keys.empty() ? "" : ", ") + std::string(!set.has_zsk() ? "CSK " : k.ksk() ? "KSK " : "ZSK ") +
              std::to_string(k.tag) + " " + dnssec::algorithm_name(k.algorithm);
    lines.push_back("dnssec: zone " + dns::name_to_text(z.origin()) + " signed with " + keys + "; signatures expire at " +
                    std::to_string(sigs->expiration()) + " (unix), refreshed from " + std::to_string(sigs->refresh_at()) +
                    "; " + std::to_string(snap.answer_signatures ? snap.answer_signatures->size() : 0) +
                    " dynamic answers signed; denial " + (z.dnssec().compact_denial ? "compact" : "nsec") +
                    " (up to " + std::to_string(snap.online_signatures_per_second) +
                    " compact NSECs signed per second per DNS thread)");
  });
}

}  // namespace

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
  // A signed zone: its keys, when its signatures expire, and the dynamic answers signed.
  dnssec_lines(snap, target, lines);
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
