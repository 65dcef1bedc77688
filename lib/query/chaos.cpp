#include "query/chaos.hpp"

#include <string>
#include <string_view>

#include "dns/constants.hpp"

namespace meridian::query {

using dns::MessageWriter;
using dns::Section;

uint16_t answer_chaos(const Snapshot& snap, const dns::Query& q, MessageWriter& w) {
  static const std::string_view kVersionBind("\x07version\x04" "bind\x00", 14);
  static const std::string_view kVersionServer("\x07version\x06server\x00", 16);
  static const std::string_view kIdServer("\x02id\x06server\x00", 11);
  static const std::string_view kHostnameBind("\x08hostname\x04" "bind\x00", 15);
  const std::string_view name = q.qname.view();
  const std::string* text = nullptr;
  if ((name == kVersionBind || name == kVersionServer) && snap.identity.chaos_version)
    text = &snap.identity.version;
  else if ((name == kIdServer || name == kHostnameBind) && snap.identity.chaos_identity)
    text = &snap.identity.identity;
  if (!text) return dns::rcode::REFUSED;
  // No AA: the server is not an authority for a CH zone (Knot and NSD leave it clear; BIND sets it).
  if (q.qtype != dns::type::TXT && q.qtype != dns::type::ANY) return dns::rcode::NOERROR;
  const uint8_t len = static_cast<uint8_t>(text->size() > 255 ? 255 : text->size());
  const auto mark = w.mark();
  if (!(w.put_name(name) && w.put_u16(dns::type::TXT) && w.put_u16(dns::klass::CH) && w.put_u32(0) &&
        w.put_u16(static_cast<uint16_t>(len + 1u)) && w.put_bytes(&len, 1) && w.put_bytes(text->data(), len))) {
    w.rollback(mark);
    w.set_flags(w.flags() | dns::flag::TC);
    return dns::rcode::NOERROR;
  }
  w.count(Section::answer);
  return dns::rcode::NOERROR;
}

}  // namespace meridian::query
