// Parses the query, handles what every answer shares (errors, EDNS, the UDP size
// limit) and answers by class: IN here, so that the hot path stays in one
// translation unit and inlines (moving the IN answer to its own file cost 38
// instructions per geo query under tools/bench.d/callgrind-geo.sh); CH in
// chaos.cpp and `_explain.NAME TXT` in explain_answer.cpp.
#include "query/responder.hpp"

#include <cstring>
#include <type_traits>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "query/chaos.hpp"
#include "query/compact_denial.hpp"
#include "query/explain_answer.hpp"

namespace meridian::query {

namespace {

using dns::MessageWriter;
using dns::Section;
using zone::NodeHead;
using zone::RRsetView;
using zone::Zone;

constexpr unsigned kMaxCnameChain = 12;  // hops followed before giving up (loops, long chains)
constexpr uint16_t kNxnameType = 128;    // RFC 9824 NXNAME

// Writes every record of rrset with the given owner; all or nothing. A record
// whose rdata holds compressible names gets them compressed against the message.
// rdata_at receives where the first record's rdata starts.
bool put_rrset(MessageWriter& w, std::string_view owner, const RRsetView& rrset, uint32_t ttl, Section section,
               std::size_t* rdata_at) {
  const auto mark = w.mark();
  uint16_t owner_ptr = 0;  // after the first record, owners point at the first one's
  bool first = true;
  for (const zone::RecordView rd : rrset.rdata) {
    const std::size_t owner_at = w.size();
    const bool owner_ok = owner_ptr ? w.put_u16(static_cast<uint16_t>(0xC000 | owner_ptr)) : w.put_name(owner);
    if (!owner_ok || !w.put_u16(rrset.type) || !w.put_u16(dns::klass::IN) || !w.put_u32(ttl) || !w.put_u16(0)) {
      w.rollback(mark);
      return false;
    }
    if (!owner_ptr) {
      // The name just written: in full (its start) or as one pointer (its target).
      const uint8_t first = w.data()[owner_at];
      owner_ptr = (first & 0xC0) == 0xC0 ? static_cast<uint16_t>(dns::read_u16(w.data() + owner_at) & 0x3FFF)
                                         : static_cast<uint16_t>(owner_at < 0x4000 ? owner_at : 0);
      if (owner.size() == 1) owner_ptr = 0;  // the root is one byte: no pointer
    }
    const std::size_t rdlen_at = w.size() - 2;
    if (rdata_at && first) *rdata_at = rdlen_at + 2;
    first = false;
    bool ok;
    if (rd.compressible_count == 0) {
      ok = w.put_bytes(rd.wire.data(), rd.wire.size());
    } else {
      ok = true;
      std::size_t done = 0;
      const auto* base = reinterpret_cast<const uint8_t*>(rd.wire.data());
      for (unsigned i = 0; ok && i < rd.compressible_count; ++i) {
        const std::size_t at = rd.compressible_at[i];
        const std::size_t name_len = dns::wire_name_length(base + at, rd.wire.size() - at);
        ok = w.put_bytes(base + done, at - done) &&
             w.put_name({rd.wire.data() + at, name_len});
        done = at + name_len;
      }
      ok = ok && w.put_bytes(base + done, rd.wire.size() - done);
    }
    if (!ok) {
      w.rollback(mark);
      return false;
    }
    w.patch_u16(rdlen_at, static_cast<uint16_t>(w.size() - rdlen_at - 2));
    w.count(section);
  }
  return true;
}

// Copies a precompiled image of `records` records with its pointers filled in.
bool put_image(MessageWriter& w, const zone::WireImage& image, std::size_t records, uint16_t owner_ptr,
               uint16_t origin_ptr, Section section) {
  const uint16_t targets[2] = {owner_ptr, origin_ptr};
  if (!w.put_image(image.bytes(), image.size, image.patches(), image.patch_count, image.names(), image.name_count,
                   targets))
    return false;
  for (std::size_t i = 0; i < records; ++i) w.count(section);
  return true;
}

// A precompiled image can be written when the owner and, if the image needs it,
// the zone origin are already in the message (pointers; 0 = not known).
bool image_fits(const zone::WireImage& image, uint16_t owner_ptr, uint16_t origin_ptr) {
  return owner_ptr && !image.empty() && (origin_ptr || !image.needs_origin);
}

// put_rrset through the RRset's image where it fits; records with another TTL
// than the image's take the general path.
bool write_rrset(MessageWriter& w, std::string_view owner, uint16_t owner_ptr, uint16_t origin_ptr,
                 const RRsetView& rrset, uint32_t ttl, Section section, std::size_t* rdata_at = nullptr) {
  if (ttl == rrset.ttl && image_fits(rrset.image, owner_ptr, origin_ptr)) {
    const std::size_t start = w.size();
    if (!put_image(w, rrset.image, rrset.rdata.size(), owner_ptr, origin_ptr, section)) return false;
    if (rdata_at) *rdata_at = start + 12;  // owner pointer, type, class, TTL, rdlength
    return true;
  }
  return put_rrset(w, owner, rrset, ttl, section, rdata_at);
}

// The general path of write_entry, out of line so that the common path inlines.
[[gnu::noinline]] bool write_entry_records(MessageWriter& w, std::string_view owner, const NodeHead& head,
                                           const NodeHead::Entry& entry, Section section) {
  return put_rrset(w, owner, head.rrset(entry), entry.ttl, section, nullptr);
}

// The same from a node head's entry: the records themselves (further into the
// head) are only read when the image does not fit.
inline bool write_entry(MessageWriter& w, std::string_view owner, uint16_t owner_ptr, uint16_t origin_ptr,
                        const NodeHead& head, const NodeHead::Entry& entry, Section section) {
  const zone::WireImage image = head.image(entry);
  if (image_fits(image, owner_ptr, origin_ptr)) return put_image(w, image, entry.records, owner_ptr, origin_ptr, section);
  return write_entry_records(w, owner, head, entry, section);
}

// kSigned: the query has the DO bit and its zone is signed; RRSIGs and NSECs are
// copied in from the snapshot's ZoneSignatures. A separate instantiation, so that
// an answer without them runs exactly the code it ran before DNSSEC.
template <bool kSigned>
class Resolution {
 public:
  Resolution(const Snapshot& snap, const dns::Query& q, Transport t, MessageWriter& w,
             const routing::RouteClient& client, const AnswerClock& clock)
      : snap_(snap), q_(q), transport_(t), w_(w), client_(client), clock_(clock) {}

  // The ECS scope the answer depended on (0 when it did not depend on the client).
  uint8_t scope() const { return scope_; }
  void report(AnswerInfo& info) const {
    info.service = service_;
    info.region = region_;
    info.failover = failover_;
    info.wildcard = wildcard_;
  }

  uint16_t run(const Zone& first_zone) {
    const Zone* zone = &first_zone;
    std::string_view name = q_.qname.view();
    uint8_t offsets[dns::kMaxLabels];
    unsigned labels = q_.qname.labels;
    std::memcpy(offsets, q_.qname.label_offsets, labels);
    bool authoritative = true;
    w_.set_flags(w_.flags() | dns::flag::AA);
    // The question name (offset 12) ends with the zone's origin.
    name_ptr_ = static_cast<uint16_t>(dns::kHeaderSize);
    name_in_full_ = true;
    origin_ptr_ = static_cast<uint16_t>(dns::kHeaderSize + q_.qname.length - zone->origin().size());
    if constexpr (kSigned) signed_.sigs = snap_.signatures_for(*zone);

    for (unsigned hop = 0;; ++hop) {
      // A name met before in this chain is a loop: what was written is the answer.
      // (Hashed only once a CNAME is followed: most queries never get here twice.)
      if (hop > 0) {
        if (hop == 1) visited_[0] = zone::hash_name(q_.qname.view());
        const uint64_t name_hash = zone::hash_name(name);
        for (unsigned i = 0; i < hop; ++i)
          if (visited_[i] == name_hash) return dns::rcode::NOERROR;
        visited_[hop] = name_hash;
      }
      const Outcome out = resolve_in_zone(*zone, name, offsets, labels);
      if (out.kind == Outcome::referral && hop == 0) authoritative = false;
      if (out.kind != Outcome::cname) {
        if (!authoritative) w_.set_flags(w_.flags() & ~dns::flag::AA);
        return out.rcode;
      }
      if (hop + 1 >= kMaxCnameChain) return dns::rcode::NOERROR;
      // Follow the CNAME target if it lies in a zone we serve.
      name = cname_target_;
      labels = 0;
      for (std::size_t i = 0; static_cast<uint8_t>(name[i]) != 0; i += 1 + static_cast<uint8_t>(name[i]))
        offsets[labels++] = static_cast<uint8_t>(i);
      const Zone* next = snap_.zones->find_zone(name, offsets, labels);
      if (!next || !next->available()) return dns::rcode::NOERROR;
      // The target was just written as the CNAME's rdata.
      name_ptr_ = cname_rdata_at_;
      name_in_full_ = false;
      if (next != zone) origin_ptr_ = w_.find_name(next->origin());
      zone = next;
      if constexpr (kSigned) signed_.sigs = snap_.signatures_for(*zone);
    }
  }

  bool truncated() const { return truncated_; }

 private:
  struct Outcome {
    enum Kind { answer, nodata, nxdomain, referral, cname } kind;
    uint16_t rcode;
  };

  // A record that belongs in the message does not fit.
  void truncate() {
    truncated_ = true;
    w_.set_flags(w_.flags() | dns::flag::TC);
  }

  void add_or_truncate(std::string_view owner, uint16_t owner_ptr, const RRsetView& rrset, uint32_t ttl, Section s,
                       std::size_t* rdata_at = nullptr) {
    if (!truncated_ && !write_rrset(w_, owner, owner_ptr, origin_ptr_, rrset, ttl, s, rdata_at)) truncate();
  }

  // The SOA with the negative TTL, owned by the origin (RFC 2308).
  void add_negative_soa(const Zone& zone) {
    if (truncated_) return;
    [[maybe_unused]] const MessageWriter::Mark mark = kSigned ? w_.mark() : MessageWriter::Mark{};
    const zone::WireImage& image = zone.negative_soa_image();
    const bool ok = origin_ptr_ && !image.empty()
                        ? put_image(w_, image, 1, origin_ptr_, origin_ptr_, Section::authority)
                        : write_rrset(w_, zone.origin(), 0, 0, zone.soa(), zone.negative_ttl(), Section::authority);
    if (!ok) truncate();
    if constexpr (kSigned) {
      if (ok && signed_.sigs)
        if (const zone::SignedRRset* set = signed_.sigs->soa();
            set && !put_signed(zone.origin(), origin_ptr_, *set, zone.negative_ttl(), Section::authority)) {
          // Neither the SOA nor a part of its RRSIGs: a record cut off mid-way would not parse.
          w_.rollback(mark);
          truncate();
        }
    }
  }

  // The records of a signed set (its NSEC, if it is one made at load, then its
  // RRSIGs) under owner, in section s with TTL ttl: copied whole, with the owner
  // pointers filled in (owner_ptr, or where the first record's owner was written as
  // a name) and the TTLs when ttl is not the one stored. On false a record may be
  // cut off mid-way: the caller rolls back to a mark taken before its RRset.
  bool put_signed(std::string_view owner, uint16_t owner_ptr, const zone::SignedRRset& set, uint32_t ttl, Section s) {
    const auto* wire = reinterpret_cast<const uint8_t*>(set.wire.data());
    const unsigned records = set.record_count();
    std::size_t skip = 0;  // bytes of wire not copied: the first owner pointer, when the name is written instead
    if (!owner_ptr) {
      if (owner.size() <= 1) return put_signed_by_name(owner, set, ttl, s);  // the root: no pointer to it
      const MessageWriter::Mark before_name = w_.mark();
      const std::size_t owner_at = w_.size();
      if (!w_.put_name(owner)) return false;
      // The name just written: in full (its start) or as one pointer (its target).
      owner_ptr = (w_.data()[owner_at] & 0xC0) == 0xC0
                      ? static_cast<uint16_t>(dns::read_u16(w_.data() + owner_at) & 0x3FFF)
                      : static_cast<uint16_t>(owner_at < 0x4000 ? owner_at : 0);
      if (!owner_ptr) {
        w_.rollback(before_name);
        return put_signed_by_name(owner, set, ttl, s);
      }
      skip = 2;
    }
    const std::size_t at = w_.size();
    if (!w_.put_bytes(wire + skip, set.wire.size() - skip)) return false;
    uint8_t* const base = w_.data() + at - skip;  // wire[i] is at base[i], for i >= skip
    const bool same_ttl = ttl == set.ttl;
    std::size_t i = 0;
    for (unsigned r = 0; r < records; ++r) {
      if (i >= skip) dns::write_u16(base + i, static_cast<uint16_t>(0xC000 | owner_ptr));
      if (!same_ttl) dns::write_u32(base + i + 6, ttl);
      i += zone::SignedRRset::kRecordHeader + dns::read_u16(base + i + 10);
      w_.count(s);
    }
    return true;
  }
  // The same with the owner written as a name in every record (where no pointer can
  // reach it: the root, or past the first 16 KB of a TCP message).
  [[gnu::noinline]] bool put_signed_by_name(std::string_view owner, const zone::SignedRRset& set, uint32_t ttl,
                                            Section s) {
    const auto* p = reinterpret_cast<const uint8_t*>(set.wire.data());
    for (unsigned r = 0; r < set.record_count(); ++r) {
      const std::size_t length = dns::read_u16(p + 10);
      if (!w_.put_name(owner) || !w_.put_bytes(p + 2, 4) || !w_.put_u32(ttl) || !w_.put_bytes(p + 10, 2 + length))
        return false;
      w_.count(s);
      p += zone::SignedRRset::kRecordHeader + length;
    }
    return true;
  }
  // RRSIGs made on this thread (compact denial's cache): `count` rdatas as [2-byte
  // length][rdata]... On false a record may be cut off mid-way, as above.
  bool put_rrsigs(std::string_view owner, uint16_t owner_ptr, const uint8_t* p, unsigned count, uint32_t ttl, Section s) {
    for (unsigned i = 0; i < count; ++i) {
      const uint16_t length = dns::read_u16(p);
      p += 2;
      const bool owner_ok = owner_ptr ? w_.put_u16(static_cast<uint16_t>(0xC000 | owner_ptr)) : w_.put_name(owner);
      if (!owner_ok || !w_.put_u16(dns::type::RRSIG) || !w_.put_u16(dns::klass::IN) || !w_.put_u32(ttl) ||
          !w_.put_u16(length) || !w_.put_bytes(p, length))
        return false;
      w_.count(s);
      p += length;
    }
    return true;
  }

  // After an RRset written from `mark` on: its RRSIGs, or neither it nor they (and TC).
  void sign_or_truncate(const MessageWriter::Mark& mark, std::string_view owner, uint16_t owner_ptr,
                        const NodeHead::Entry& entry, uint32_t ttl, Section s) {
    if (truncated_ || !signed_.sigs) return;
    const zone::SignedRRset* set = signed_.sigs->find(entry);
    if (set && !put_signed(owner, owner_ptr, *set, ttl, s)) {
      w_.rollback(mark);
      truncate();
    }
  }

  // The RRSIGs of the address records routing wrote from `mark` on, found by who
  // it wrote them for (node, region, pool, positions: the snapshot signed every
  // answer its routing table can give), without reading the records back.
  void sign_dynamic(const MessageWriter::Mark& mark, std::string_view owner, const NodeHead& head, bool v4,
                    const routing::RouteResult& r) {
    if (truncated_ || !snap_.answer_signatures) return;
    const zone::SignedRRset* set = snap_.answer_signatures->find(
        {&head, r.positions, static_cast<uint32_t>(r.region), r.all_pool, v4});
    if (set && !put_signed(owner, name_ptr_, *set, r.ttl, Section::answer)) {
      w_.rollback(mark);
      truncate();
    }
  }

  // The precomputed NSEC of an existing name (`A -> \000.A`, see lib/dnssec/README.md)
  // with its RRSIGs, in the authority section: NODATA, and a referral without DS.
  void add_nsec(const NodeHead& head, uint16_t owner_ptr, uint16_t kind = dns::type::NSEC) {
    if (truncated_ || !signed_.sigs) return;
    const zone::SignedRRset* set = signed_.sigs->find_nsec(head, kind);
    if (set) write_nsec(head.name(), owner_ptr, *set);
  }

  // An NSEC made at load and its RRSIGs in the authority section, or neither (and TC).
  void write_nsec(std::string_view owner, uint16_t owner_ptr, const zone::SignedRRset& set) {
    const auto mark = w_.mark();
    if (!put_signed(owner, owner_ptr, set, set.ttl, Section::authority)) {
      w_.rollback(mark);
      truncate();
    }
  }
  // One signed on this thread (compact denial).
  void write_nsec(std::string_view owner, uint16_t owner_ptr, uint32_t ttl, std::string_view nsec, const uint8_t* rrsigs,
                  unsigned rrsig_count) {
    const auto mark = w_.mark();
    const bool owner_ok = owner_ptr ? w_.put_u16(static_cast<uint16_t>(0xC000 | owner_ptr)) : w_.put_name(owner);
    const bool nsec_ok = owner_ok && w_.put_u16(dns::type::NSEC) && w_.put_u16(dns::klass::IN) && w_.put_u32(ttl) &&
                         w_.put_u16(static_cast<uint16_t>(nsec.size())) && w_.put_bytes(nsec.data(), nsec.size());
    if (nsec_ok) w_.count(Section::authority);
    if (!nsec_ok || !put_rrsigs(owner, owner_ptr, rrsigs, rrsig_count, ttl, Section::authority)) {
      w_.rollback(mark);
      truncate();
    }
  }

  // RFC 9824: `name NSEC \000.name` with RRSIG NSEC NXNAME, from this thread's
  // cache or signed now within the budget; false: use the precomputed chain.
  bool add_compact_nxname(const Zone& zone, std::string_view name, uint16_t name_ptr) {
    static constexpr char kBitmap[] = {0, 17, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, static_cast<char>(0x80)};
    if (truncated_ || name.size() + 2 > dns::kMaxNameLength || (name[0] == 1 && name[1] == '*')) return false;
    char rdata[2 + dns::kMaxNameLength + sizeof kBitmap];
    rdata[0] = 1;
    rdata[1] = 0;
    std::memcpy(rdata + 2, name.data(), name.size());
    std::memcpy(rdata + 2 + name.size(), kBitmap, sizeof kBitmap);
    return add_online_nsec(zone, name, name_ptr, {rdata, 2 + name.size() + sizeof kBitmap});
  }

  // A wildcard answer in compact mode: the next closer name (the label of name
  // below the closest encloser) shown not to exist by a minimally covering NSEC
  // (RFC 4470 epsilon functions, as RFC 9824 answers): owner just before it,
  // next name just after everything under it. false: use the precomputed chain.
  bool add_compact_wildcard_proof(const Zone& zone, std::string_view name, const uint8_t* offsets, unsigned labels,
                                  std::size_t encloser_length) {
    static constexpr char kBitmap[] = {0, 6, 0, 0, 0, 0, 0, 3};  // RRSIG NSEC
    if (truncated_) return false;
    std::size_t at = std::string_view::npos;  // where the next closer name starts
    for (unsigned d = 0; d < labels; ++d)
      if (name.size() - offsets[d] > encloser_length) at = offsets[d];
    if (at == std::string_view::npos) return false;
    const std::string_view closer = name.substr(at);
    const auto length = static_cast<uint8_t>(closer[0]);
    const std::string_view rest = closer.substr(1u + length);
    if (length == 0 || length >= 63 || closer.size() + 1 > dns::kMaxNameLength) return false;
    // Next: the first label with a 0 octet appended (after every name under it).
    char rdata[dns::kMaxNameLength + sizeof kBitmap];
    rdata[0] = static_cast<char>(length + 1);
    std::memcpy(rdata + 1, closer.data() + 1, length);
    rdata[1 + length] = 0;
    std::memcpy(rdata + 2 + length, rest.data(), rest.size());
    std::memcpy(rdata + 2 + length + rest.size(), kBitmap, sizeof kBitmap);
    // Owner: the label with its last octet decremented and 0xFF appended (a 0 last
    // octet is dropped instead), never upper case (canonical order is lower case).
    char owner[dns::kMaxNameLength];
    std::size_t owner_length = 1;
    const auto last = static_cast<uint8_t>(closer[length]);
    std::memcpy(owner + 1, closer.data() + 1, length - 1u);
    owner_length += length - 1u;
    if (last == 0) {
      if (length == 1) return false;
    } else {
      auto lower = static_cast<uint8_t>(last - 1);
      if (lower >= 'A' && lower <= 'Z') lower = '@';
      owner[owner_length++] = static_cast<char>(lower);
      owner[owner_length++] = static_cast<char>(0xFF);
    }
    owner[0] = static_cast<char>(owner_length - 1);
    std::memcpy(owner + owner_length, rest.data(), rest.size());
    owner_length += rest.size();
    const std::string_view owner_name(owner, owner_length);
    // It must deny nothing that exists: no existing name from the owner on up to the next closer name.
    if (!signed_.sigs->same_gap_strictly(owner_name, closer)) return false;
    return add_online_nsec(zone, owner_name, 0, {rdata, 2 + length + rest.size() + sizeof kBitmap});
  }

  bool add_online_nsec(const Zone& zone, std::string_view owner, uint16_t owner_ptr, std::string_view rdata) {
    SignedNsecView view;
    if (!CompactDenialCache::for_this_thread().find_or_sign(zone, *signed_.sigs, owner, rdata,
                                                            snap_.online_signatures_per_second, clock_.now(), view))
      return false;
    write_nsec(owner, owner_ptr, view.ttl, view.nsec, view.rrsigs, view.rrsig_count);
    return true;
  }

  // NODATA: the SOA, and with DNSSEC the NSEC of the name when it exists as itself
  // (a wildcard's match has no NSEC of its own here).
  void add_nodata(const Zone& zone, const NodeHead& head, std::string_view owner) {
    add_negative_soa(zone);
    if constexpr (kSigned) {
      if (head.name() == owner) {
        // A dynamic name whose service gave no address of the type asked for.
        const uint16_t nsec = !head.has_service() ? dns::type::NSEC
                              : q_.qtype == dns::type::A ? zone::ZoneSignatures::kNsecWithoutA
                              : q_.qtype == dns::type::AAAA ? zone::ZoneSignatures::kNsecWithoutAAAA
                                                            : dns::type::NSEC;
        add_nsec(head, name_ptr_, nsec);
      }
    }
  }

  // A and AAAA of NS/MX/SRV targets; whatever does not fit is left out (RFC 2181 9).
  void add_additional(const RRsetView& rrset, bool glue_required, uint16_t origin_ptr) {
    for (const zone::RecordView rd : rrset.rdata) {
      const NodeHead* target = rd.target_head;
      if (!target || truncated_) continue;
      // A target named twice (MX 10 mail, MX 20 mail) gets its addresses once.
      bool seen = false;
      for (unsigned i = 0; i < added_count_ && !seen; ++i) seen = added_[i] == target;
      if (seen) continue;
      if (added_count_ < kMaxPending) added_[added_count_++] = target;
      for (uint16_t t : {dns::type::A, dns::type::AAAA}) {
        const NodeHead::Entry* addr = target->find(t);
        if (!addr) continue;
        // The target is in the message already when the rdata named it in full.
        const uint16_t owner_ptr = w_.find_name(target->name());
        [[maybe_unused]] const MessageWriter::Mark mark = kSigned ? w_.mark() : MessageWriter::Mark{};
        if (!write_entry(w_, target->name(), owner_ptr, origin_ptr, *target, *addr, Section::additional)) {
          if (glue_required) truncate();  // in-domain glue that does not fit makes the referral useless (RFC 9471)
          continue;
        }
        if constexpr (kSigned) {
          // Authoritative addresses carry their RRSIGs, or are left out with them
          // (additional data is optional); glue below a cut has none.
          const zone::SignedRRset* set = signed_.sigs ? signed_.sigs->find(*addr) : nullptr;
          const uint16_t written_at = owner_ptr ? owner_ptr : static_cast<uint16_t>(mark.pos < 0x4000 ? mark.pos : 0);
          if (set && !put_signed(target->name(), written_at, *set, addr->ttl, Section::additional)) w_.rollback(mark);
        }
      }
    }
  }

  static bool has_additional(uint16_t type) {
    return type == dns::type::NS || type == dns::type::MX || type == dns::type::SRV;
  }

  // Records owned by the name being resolved.
  void add_answer_rrset(std::string_view owner, const NodeHead& head, const NodeHead::Entry& entry,
                        std::size_t* rdata_at = nullptr) {
    [[maybe_unused]] const MessageWriter::Mark mark = kSigned ? w_.mark() : MessageWriter::Mark{};
    add_or_truncate(owner, name_ptr_, head.rrset(entry), entry.ttl, Section::answer, rdata_at);
    if constexpr (kSigned) sign_or_truncate(mark, owner, name_ptr_, entry, entry.ttl, Section::answer);
    if (!truncated_ && has_additional(entry.type)) defer_additional(head, entry, false);
  }

  // The same from a node head's entry: the common answer reads nothing else.
  void add_answer_entry(std::string_view owner, const NodeHead& head, const NodeHead::Entry& entry) {
    [[maybe_unused]] const MessageWriter::Mark mark = kSigned ? w_.mark() : MessageWriter::Mark{};
    if (!truncated_ && !write_entry(w_, owner, name_ptr_, origin_ptr_, head, entry, Section::answer)) truncate();
    if constexpr (kSigned) sign_or_truncate(mark, owner, name_ptr_, entry, entry.ttl, Section::answer);
    if (!truncated_ && has_additional(entry.type)) defer_additional(head, entry, false);
  }

  // Additional records go after the answer and authority sections are complete.
  void defer_additional(const NodeHead& head, const NodeHead::Entry& entry, bool glue) {
    if (pending_count_ < kMaxPending) pending_[pending_count_++] = {&head, &entry, glue, origin_ptr_};
  }

 public:
  void finish_additional() {
    for (unsigned i = 0; i < pending_count_ && !truncated_; ++i)
      add_additional(pending_[i].head->rrset(*pending_[i].entry), pending_[i].glue, pending_[i].origin_ptr);
  }

 private:

  // Answers from a node that matched (exactly or through a wildcard); owner is the
  // name the records are written under.
  // A and AAAA of a service name, chosen for this client.
  Outcome answer_dynamic(const Zone& zone, const NodeHead& head, std::string_view owner) {
    const uint16_t qtype = q_.qtype;
    unsigned written = 0;
    for (uint16_t t : {dns::type::A, dns::type::AAAA}) {
      if (qtype != t && qtype != dns::type::ANY) continue;
      const MessageWriter::Mark mark = kSigned ? w_.mark() : MessageWriter::Mark{};
      // Signed: one of the sets the table's answers were signed for (a window of a large pool).
      bool signed_answer = false;
      if constexpr (kSigned) signed_answer = signed_.sigs && snap_.answer_signatures;
      const routing::RouteResult r =
          snap_.routing->answer(head.service_index, t, client_, w_, owner, clock_.now(), name_ptr_, signed_answer);
      if constexpr (kSigned) {
        if (r.records && signed_.sigs) sign_dynamic(mark, owner, head, t == dns::type::A, r);
      }
      if (r.scope > scope_) scope_ = r.scope;
      service_ = static_cast<int16_t>(head.service_index);
      region_ = static_cast<int16_t>(r.region);
      failover_ = r.failover;
      written += r.records;
    }
    if (written) return {Outcome::answer, dns::rcode::NOERROR};
    if (const NodeHead::Entry* entry = head.find(qtype); entry && qtype != dns::type::ANY) {
      add_answer_entry(owner, head, *entry);
      return {Outcome::answer, dns::rcode::NOERROR};
    }
    add_nodata(zone, head, owner);
    return {Outcome::nodata, dns::rcode::NOERROR};
  }

  Outcome answer_from_node(const Zone& zone, const NodeHead& head, std::string_view owner) {
    const uint16_t qtype = q_.qtype;
    if (head.service_index >= 0 && snap_.routing &&
        (qtype == dns::type::A || qtype == dns::type::AAAA || qtype == dns::type::ANY))
      return answer_dynamic(zone, head, owner);
    if (head.has_cname() && qtype != dns::type::CNAME && qtype != dns::type::ANY) {
      const NodeHead::Entry& cname = *head.find(dns::type::CNAME);
      std::size_t rdata_at = 0;
      add_answer_rrset(owner, head, cname, &rdata_at);
      if (truncated_) return {Outcome::answer, dns::rcode::NOERROR};
      cname_rdata_at_ = static_cast<uint16_t>(rdata_at < 0x4000 ? rdata_at : 0);
      const std::string_view target = head.rrset(cname).rdata.front().wire;
      cname_target_.assign(target.data(), target.size());
      fold(cname_target_);
      return {Outcome::cname, dns::rcode::NOERROR};
    }
    if (qtype == dns::type::ANY) {
      if (head.entry_count == 0) {
        add_nodata(zone, head, owner);
        return {Outcome::nodata, dns::rcode::NOERROR};
      }
      // Over UDP a minimal answer, one RRset (RFC 8482 4.1); TCP gets them all.
      for (unsigned i = 0; i < head.entry_count; ++i) {
        add_answer_rrset(owner, head, head.entries()[i]);
        if (transport_ == Transport::udp) break;
      }
      return {Outcome::answer, dns::rcode::NOERROR};
    }
    if (const NodeHead::Entry* entry = head.find(qtype)) {
      add_answer_entry(owner, head, *entry);
      return {Outcome::answer, dns::rcode::NOERROR};
    }
    add_nodata(zone, head, owner);
    return {Outcome::nodata, dns::rcode::NOERROR};
  }

  // RFC 6672: a name below a DNAME's owner is answered with the DNAME, a CNAME
  // synthesized from it (TTL of the DNAME) and what that CNAME leads to; a name
  // that would grow past 255 bytes is YXDOMAIN.
  Outcome synthesize_from_dname(const NodeHead& owner, std::string_view name) {
    const RRsetView dname = owner.find_rrset(dns::type::DNAME);
    const std::size_t prefix = name.size() - owner.name_length;  // the labels above the owner
    add_or_truncate(owner.name(), name_in_full_ ? static_cast<uint16_t>(name_ptr_ + prefix) : 0, dname, dname.ttl,
                    Section::answer);
    if (truncated_) return {Outcome::answer, dns::rcode::NOERROR};
    const std::string_view target = dname.rdata.front().wire;
    if (prefix + target.size() > dns::kMaxNameLength) return {Outcome::answer, dns::rcode::YXDOMAIN};
    char synthesized[dns::kMaxNameLength];
    std::memcpy(synthesized, name.data(), prefix);
    std::memcpy(synthesized + prefix, target.data(), target.size());
    const std::string_view new_name(synthesized, prefix + target.size());

    const auto mark = w_.mark();
    const bool owner_ok =
        name_ptr_ ? w_.put_u16(static_cast<uint16_t>(0xC000 | name_ptr_)) : w_.put_name(name);
    bool ok = owner_ok && w_.put_u16(dns::type::CNAME) && w_.put_u16(dns::klass::IN) && w_.put_u32(dname.ttl) &&
              w_.put_u16(0);
    const std::size_t rdata_at = w_.size();
    ok = ok && w_.put_name(new_name);
    if (!ok) {
      w_.rollback(mark);
      truncate();
      return {Outcome::answer, dns::rcode::NOERROR};
    }
    w_.patch_u16(rdata_at - 2, static_cast<uint16_t>(w_.size() - rdata_at));
    w_.count(Section::answer);
    if (q_.qtype == dns::type::CNAME) return {Outcome::answer, dns::rcode::NOERROR};
    cname_rdata_at_ = static_cast<uint16_t>(rdata_at < 0x4000 ? rdata_at : 0);
    cname_target_.assign(new_name.data(), new_name.size());
    fold(cname_target_);
    return {Outcome::cname, dns::rcode::NOERROR};
  }

  Outcome referral(const NodeHead& cut, uint16_t owner_ptr) {
    const NodeHead::Entry& ns = *cut.find(dns::type::NS);
    add_or_truncate(cut.name(), owner_ptr, cut.rrset(ns), ns.ttl, Section::authority);
    if constexpr (kSigned) {
      // A secure delegation: its DS RRset signed; an insecure one: the NSEC that proves no DS.
      if (!truncated_ && signed_.sigs) {
        if (const NodeHead::Entry* ds = cut.find(dns::type::DS)) {
          const auto mark = w_.mark();
          add_or_truncate(cut.name(), owner_ptr, cut.rrset(*ds), ds->ttl, Section::authority);
          sign_or_truncate(mark, cut.name(), owner_ptr, *ds, ds->ttl, Section::authority);
        } else {
          add_nsec(cut, owner_ptr);
        }
      }
    }
    if (!truncated_) defer_additional(cut, ns, true);
    return {Outcome::referral, dns::rcode::NOERROR};
  }

  Outcome resolve_in_zone(const Zone& zone, std::string_view name, const uint8_t* offsets, unsigned labels) {
    const unsigned origin_labels = zone.origin_labels();
    // Walk down from the apex: the first missing name ends the walk at the
    // closest encloser, and any zone cut on the way answers with a referral.
    const NodeHead* encloser = &zone.apex_head();
    if (encloser->has_dname() && labels > origin_labels) return synthesize_from_dname(*encloser, name);
    for (unsigned depth = labels - origin_labels; depth-- > 0;) {
      const std::string_view candidate = name.substr(offsets[depth]);
      const NodeHead* node = zone.find_head(candidate);
      if (!node) break;
      encloser = node;
      if (node->is_delegation()) {
        // DS lives in the parent: a DS query for the cut itself is answered here.
        if (depth == 0 && q_.qtype == dns::type::DS) break;
        // The cut is a suffix of the name, in the message where that is in full.
        return referral(*node, name_in_full_ ? static_cast<uint16_t>(name_ptr_ + offsets[depth]) : 0);
      }
      if (node->has_dname() && depth > 0) return synthesize_from_dname(*node, name);
    }
    if (encloser->name_length == name.size()) {
      if (encloser->is_delegation()) {  // DS at the cut
        if (const NodeHead::Entry* ds = encloser->find(dns::type::DS)) {
          add_answer_rrset(name, *encloser, *ds);
          return {Outcome::answer, dns::rcode::NOERROR};
        }
        add_nodata(zone, *encloser, name);
        return {Outcome::nodata, dns::rcode::NOERROR};
      }
      return answer_from_node(zone, *encloser, name);
    }
    // Wildcard at the closest encloser (RFC 4592 3.3.1).
    char wildcard[dns::kMaxNameLength + 2];
    const std::size_t wild_len = encloser->name_length + 2u;
    if (wild_len <= dns::kMaxNameLength) {
      wildcard[0] = 1;
      wildcard[1] = '*';
      std::memcpy(wildcard + 2, encloser->name().data(), encloser->name_length);
      if (const NodeHead* wild = zone.find_head({wildcard, wild_len})) {
        if (name.data() == q_.qname.view().data()) wildcard_ = wild->name();  // the question's own name
        const Outcome out = answer_from_node(zone, *wild, name);
        if constexpr (kSigned) {
          // The query name itself does not exist (RFC 4035 3.1.3.3, 3.1.3.4); for
          // NODATA the wildcard's own NSEC shows the type is not there either.
          if (!signed_.sigs || !zone.dnssec().compact_denial ||
              !add_compact_wildcard_proof(zone, name, offsets, labels, encloser->name_length))
            add_covering_nsec(name);
          if (out.kind == Outcome::nodata) add_nsec(*wild, 0);
        }
        return out;
      }
    }
    add_negative_soa(zone);
    if constexpr (kSigned) {
      // RFC 9824: NOERROR, and an NSEC owned by the name that says it has nothing.
      if (signed_.sigs && zone.dnssec().compact_denial && add_compact_nxname(zone, name, name_ptr_))
        return {Outcome::nxdomain, dns::rcode::NOERROR};
      // NXDOMAIN (RFC 4035 3.1.3.2): no such name, and no wildcard at the closest encloser.
      add_covering_nsec(name);
      if (wild_len <= dns::kMaxNameLength) add_covering_nsec({wildcard, wild_len});
    }
    return {Outcome::nxdomain, dns::rcode::NXDOMAIN};
  }

  // The signed NSEC whose gap holds `name`, unless the message has it already.
  void add_covering_nsec(std::string_view name) {
    if (truncated_ || !signed_.sigs) return;
    const zone::SignedRRset* set = signed_.sigs->covering_nsec(name);
    if (!set) return;
    for (unsigned i = 0; i < signed_.covering_count; ++i)
      if (signed_.covering[i] == set) return;
    if (signed_.covering_count < 2) signed_.covering[signed_.covering_count++] = set;
    const std::string_view owner(set->key.data(), set->key.size() - 2);
    write_nsec(owner, 0, *set);
  }

  static void fold(std::string& wire) {
    for (auto& c : wire) c = static_cast<char>(dns::to_lower(static_cast<uint8_t>(c)));
  }

  const Snapshot& snap_;
  const dns::Query& q_;
  Transport transport_;
  MessageWriter& w_;
  const routing::RouteClient& client_;
  const AnswerClock& clock_;
  uint8_t scope_ = 0;
  int16_t service_ = -1;
  int16_t region_ = -1;
  bool failover_ = false;
  bool truncated_ = false;
  std::string_view wildcard_;  // the wildcard the question's name matched, if it did
  // Where the message holds the name being resolved and its zone's origin, for
  // compression pointers (0: not known, write names the general way).
  uint16_t name_ptr_ = 0;
  bool name_in_full_ = false;  // labels at name_ptr_ as they are in the name (not via a pointer)
  uint16_t origin_ptr_ = 0;
  uint16_t cname_rdata_at_ = 0;
  // kSigned only (nothing to initialise without DNSSEC): the current zone's
  // signatures (null: unsigned), and the gap NSECs written (one may prove both).
  struct SignedState {
    const zone::ZoneSignatures* sigs = nullptr;
    const zone::SignedRRset* covering[2] = {nullptr, nullptr};
    unsigned covering_count = 0;
  };
  struct NoState {};
  [[no_unique_address]] std::conditional_t<kSigned, SignedState, NoState> signed_;
  uint64_t visited_[kMaxCnameChain];  // name hashes along a CNAME chain
  struct PendingAdditional {
    const NodeHead* head;
    const NodeHead::Entry* entry;
    bool glue;
    uint16_t origin_ptr;  // of the zone the RRset is in
  };
  static constexpr unsigned kMaxPending = 16;
  PendingAdditional pending_[kMaxPending];
  unsigned pending_count_ = 0;
  const NodeHead* added_[kMaxPending];
  unsigned added_count_ = 0;
  // Holds the target being followed. Capacity is reserved once per thread, so
  // assign() does not allocate on the query path.
  static thread_local std::string cname_target_;
};

template <bool kSigned>
thread_local std::string Resolution<kSigned>::cname_target_ = [] {
  std::string s;
  s.reserve(dns::kMaxNameLength + 1);
  return s;
}();

// A query with DO for a snapshot with signed zones, out of line so that the
// unsigned answer in answer_query is compiled as it was before DNSSEC.
[[gnu::noinline]] uint16_t resolve_signed(const Snapshot& snapshot, const dns::Query& q, Transport transport,
                                          MessageWriter& w, const routing::RouteClient& client, const AnswerClock& clock,
                                          const Zone& zone, bool& truncated, uint8_t& scope, AnswerInfo* info) {
  Resolution<true> r(snapshot, q, transport, w, client, clock);
  const uint16_t rcode = r.run(zone);
  r.finish_additional();
  truncated = r.truncated();
  scope = client.from_ecs ? r.scope() : 0;
  if (info) r.report(*info);
  return rcode;
}

// Bytes the OPT record will need, reserved before any record is written.
std::size_t opt_size(const Snapshot& snap, const dns::Query& q) {
  std::size_t n = 11;
  if (q.nsid_requested && !snap.identity.nsid.empty()) n += 4 + snap.identity.nsid.size();
  if (q.has_ecs) n += 8 + (q.ecs.source_prefix + 7u) / 8u;
  if (q.cookie_length) n += 4 + q.cookie_length;
  if (q.keepalive_requested) n += 6;
  return n;
}

void put_opt(const Snapshot& snap, const dns::Query& q, MessageWriter& w, uint16_t rcode, uint8_t scope_prefix) {
  const std::size_t rdlen = opt_size(snap, q) - 11;
  uint8_t head[11];
  head[0] = 0;  // root owner
  dns::write_u16(head + 1, dns::type::OPT);
  dns::write_u16(head + 3, snap.max_udp_payload);
  const uint32_t ttl = static_cast<uint32_t>(rcode >> 4) << 24 | (q.edns_do ? dns::edns::kDoBit : 0);
  dns::write_u32(head + 5, ttl);
  dns::write_u16(head + 9, static_cast<uint16_t>(rdlen));
  w.put_bytes(head, sizeof head);
  if (q.nsid_requested && !snap.identity.nsid.empty()) {
    w.put_u16(dns::edns::NSID);
    w.put_u16(static_cast<uint16_t>(snap.identity.nsid.size()));
    w.put_bytes(snap.identity.nsid.data(), snap.identity.nsid.size());
  }
  if (q.has_ecs) {
    const std::size_t addr_len = (q.ecs.source_prefix + 7u) / 8u;
    w.put_u16(dns::edns::CLIENT_SUBNET);
    w.put_u16(static_cast<uint16_t>(4 + addr_len));
    w.put_u16(q.ecs.family);
    const uint8_t prefixes[2] = {q.ecs.source_prefix, scope_prefix};
    w.put_bytes(prefixes, 2);
    w.put_bytes(q.ecs.address, addr_len);
  }
  if (q.cookie_length) {
    w.put_u16(dns::edns::COOKIE);
    w.put_u16(q.cookie_length);
    w.put_bytes(q.cookie, q.cookie_length);
  }
  if (q.keepalive_requested) {
    w.put_u16(dns::edns::TCP_KEEPALIVE);
    w.put_u16(2);
    w.put_u16(snap.tcp_keepalive);
  }
  w.count(Section::additional);
}

// How a query with a COOKIE option is answered besides its option.
enum class CookieReply : uint8_t {
  answer,        // as usual (errors included)
  formerr,       // a malformed option, or a request for a cookie alone where cookies are off
  badcookie,     // BADCOOKIE and no answer (`require`, UDP, no valid server cookie)
  cookie_only,   // NOERROR and no answer: a request for a server cookie alone (RFC 7873 5.4)
};

// Checks the query's COOKIE option and rewrites it into the reply's (RFC 7873
// 5.2, RFC 9018). Out of line, and the status taken by value, so that queries
// without a cookie pay one test for it.
[[gnu::noinline]] CookieReply check_cookie_option(const Snapshot& snap, dns::Query& q, dns::QueryStatus status,
                                                  const ClientAddress& source, Transport transport,
                                                  const AnswerClock& clock, AnswerInfo* info) {
  const cookies::CookiePolicy& policy = snap.cookies;
  const bool no_question = status == dns::QueryStatus::no_question;
  if (!policy.enabled || q.cookie_length == dns::kMalformedCookie || (status != dns::QueryStatus::ok && !no_question)) {
    // Errors carry no options; where cookies are off the option is an unknown one, ignored.
    const bool malformed = q.cookie_length == dns::kMalformedCookie && policy.enabled && status == dns::QueryStatus::ok;
    q.cookie_length = 0;
    return malformed || no_question ? CookieReply::formerr : CookieReply::answer;
  }
  // BADVERS comes first (RFC 6891 6.1.3), with the cookie.
  const bool badvers = q.has_edns && q.edns_version > 0;
  const cookies::CookieState state =
      cookies::answer_cookie(policy.secrets, q.cookie, q.cookie_length, source, clock.unix_seconds());
  if (info) info->cookie = state;
  // Over TCP the handshake already proved the address (RFC 7873 5.2.3): always answered.
  if (policy.require && transport == Transport::udp && state != cookies::CookieState::valid && !badvers)
    return CookieReply::badcookie;
  return no_question ? CookieReply::cookie_only : CookieReply::answer;
}

// The header, the question if any and the OPT with the cookie: BADCOOKIE, or the
// NOERROR answer to a request for a cookie alone.
[[gnu::noinline]] std::size_t reply_without_answer(const Snapshot& snap, const dns::Query& q, const uint8_t* packet,
                                                   uint16_t flags, uint16_t rcode, uint8_t* out, std::size_t out_capacity,
                                                   AnswerInfo* info) {
  MessageWriter w(out, out_capacity);
  w.set_limit(dns::kMaxUdpPlainPayload);  // header, question and OPT: always fits
  w.start(packet, q.question_end, flags);
  w.set_rcode(rcode & 0x0F);
  put_opt(snap, q, w, rcode, 0);
  w.finish();
  if (info) {
    info->rcode = rcode;
    info->qtype = q.qtype;
  }
  return w.size();
}

// The address routing decides on: the ECS prefix when the query has one (capped
// to the configured length), else the packet source. An IPv6 address that carries
// an IPv4 client (IPv4-mapped, 6to4, ...) is routed as that client by decide().
routing::RouteClient route_client(const Snapshot& snap, const dns::Query& q, const ClientAddress& source) {
  const routing::EcsSettings* ecs = snap.routing ? &snap.routing->services().ecs : nullptr;
  if (q.has_ecs && ecs && q.ecs.source_prefix > 0)
    return routing::ecs_client(q.ecs.family == 1 ? 4 : 6, q.ecs.address, q.ecs.source_prefix, *ecs);
  routing::RouteClient c;
  static_cast<util::IpAddress&>(c) = source;
  return c;
}

}  // namespace

std::size_t reply_without_answer(const Snapshot& snapshot, const uint8_t* packet, std::size_t length, uint16_t rcode,
                                 uint8_t* out, std::size_t out_capacity) {
  dns::Query q;
  if (dns::parse_query(packet, length, q) != dns::QueryStatus::ok) return 0;
  q.cookie_length = 0;  // no server cookie is made for it: none is echoed
  const uint16_t flags = static_cast<uint16_t>(dns::flag::QR | (q.flags & (0x7800 | dns::flag::RD | dns::flag::CD)));
  return reply_without_answer(snapshot, q, packet, flags, rcode, out, out_capacity, nullptr);
}

std::size_t answer_query(const Snapshot& snapshot, const uint8_t* packet, std::size_t length,
                         const ClientAddress& source, Transport transport, const AnswerClock& clock,
                         uint8_t* out, std::size_t out_capacity, AnswerInfo* info) {
  dns::Query q;
  dns::QueryStatus status = dns::parse_query(packet, length, q);
  // With ECS switched off the option is ignored, and so not echoed.
  if (q.has_ecs && snapshot.routing && !snapshot.routing->services().ecs.enabled) q.has_ecs = false;
  // Over UDP the option means nothing and is ignored (RFC 7828 3.2.1).
  if (transport == Transport::udp) q.keepalive_requested = false;
  if (status == dns::QueryStatus::drop) {
    if (info) info->dropped = true;
    return 0;
  }
  // NXNAME is a meta-type for compact denial's NSEC bitmaps only (RFC 9824 3.5).
  if (q.qtype == kNxnameType && status == dns::QueryStatus::ok) [[unlikely]]
    status = dns::QueryStatus::formerr;
  if (q.has_tsig && status == dns::QueryStatus::ok) [[unlikely]] {
    if (info) info->signed_request = true;
    return 0;
  }
  const uint16_t flags = static_cast<uint16_t>(dns::flag::QR | (q.flags & (0x7800 | dns::flag::RD | dns::flag::CD)));
  if (q.cookie_length) [[unlikely]] {
    const CookieReply reply = check_cookie_option(snapshot, q, status, source, transport, clock, info);
    if (reply == CookieReply::formerr) status = dns::QueryStatus::formerr;
    else if (reply == CookieReply::badcookie)
      return reply_without_answer(snapshot, q, packet, flags, dns::rcode::BADCOOKIE, out, out_capacity, info);
    else if (reply == CookieReply::cookie_only)
      return reply_without_answer(snapshot, q, packet, flags, q.edns_version > 0 ? dns::rcode::BADVERS : dns::rcode::NOERROR,
                                  out, out_capacity, info);
  }
  MessageWriter w(out, out_capacity);
  uint16_t rcode = dns::rcode::NOERROR;

  if (status != dns::QueryStatus::ok) {
    // The question is echoed only when it could be read in full.
    // An OPT that was read is answered with one (RFC 6891 7), without options.
    q.has_ecs = false;
    q.nsid_requested = false;
    q.keepalive_requested = false;
    q.cookie_length = 0;
    const std::size_t error_limit = transport == Transport::udp ? dns::kMaxUdpPlainPayload : out_capacity;
    w.set_limit(error_limit - (q.has_edns ? opt_size(snapshot, q) : 0));
    w.start(packet, q.question_end, flags);
    rcode = status == dns::QueryStatus::notimp ? dns::rcode::NOTIMP : dns::rcode::FORMERR;
    w.set_rcode(rcode);
    if (q.has_edns) {
      w.set_limit(error_limit);
      put_opt(snapshot, q, w, rcode, 0);
    }
    w.finish();
    if (info) info->rcode = rcode;
    return w.size();
  }

  std::size_t limit = out_capacity;
  if (transport == Transport::udp) {
    std::size_t payload = dns::kMaxUdpPlainPayload;
    if (q.has_edns) {
      payload = q.edns_payload < dns::kMaxUdpPlainPayload ? dns::kMaxUdpPlainPayload : q.edns_payload;
      if (payload > snapshot.max_udp_payload) payload = snapshot.max_udp_payload;
    }
    if (payload < limit) limit = payload;
  }
  const std::size_t reserve = q.has_edns ? opt_size(snapshot, q) : 0;
  w.set_limit(limit - reserve);
  w.start(packet, q.question_end, flags);

  bool truncated = false;
  uint8_t scope = 0;
  const Zone* zone = nullptr;
  if (q.has_edns && q.edns_version > 0) {
    rcode = dns::rcode::BADVERS;  // RFC 6891 6.1.3
  } else if (q.qclass == dns::klass::IN) {
    zone = snapshot.zones ? snapshot.zones->find_zone(q.qname.view(), q.qname.label_offsets, q.qname.labels) : nullptr;
    // DS lives in the parent: at a child apex we also serve, the parent zone answers.
    if (zone && q.qtype == dns::type::DS && q.qname.labels > 0 && zone->origin().size() == q.qname.length) {
      uint8_t parent_offsets[dns::kMaxLabels];  // relative to the parent name
      for (unsigned i = 1; i < q.qname.labels; ++i)
        parent_offsets[i - 1] = static_cast<uint8_t>(q.qname.label_offsets[i] - q.qname.label_offsets[1]);
      if (const Zone* parent = snapshot.zones->find_zone(q.qname.suffix(1), parent_offsets, q.qname.labels - 1u))
        zone = parent;
    }
    if (zone && !zone->available()) {
      rcode = dns::rcode::SERVFAIL;  // configured, but its file did not load (as Knot)
      zone = nullptr;
    } else if (zone && is_explain_query(q)) [[unlikely]] {
      const routing::RouteClient client = route_client(snapshot, q, source);
      rcode = answer_explain(snapshot, q, source, client, clock, w);
      scope = 0;
    } else if (!zone || q.qtype == dns::type::AXFR ||
               (q.qtype == dns::type::IXFR && (transport == Transport::tcp || zone->origin().size() != q.qname.length))) {
      rcode = dns::rcode::REFUSED;  // transfers are answered by lib/transfer over TCP
    } else {
      // IXFR over UDP: the zone's SOA alone (RFC 1995 2), so the client tries TCP.
      if (q.qtype == dns::type::IXFR) q.qtype = dns::type::SOA;
      const routing::RouteClient client = route_client(snapshot, q, source);
      if (q.edns_do && !snapshot.signatures.empty()) [[unlikely]] {
        rcode = resolve_signed(snapshot, q, transport, w, client, clock, *zone, truncated, scope, info);
      } else {
        Resolution<false> r(snapshot, q, transport, w, client, clock);
        rcode = r.run(*zone);
        r.finish_additional();
        truncated = r.truncated();
        // A scope only means something for the ECS prefix the client sent.
        scope = client.from_ecs ? r.scope() : 0;
        if (info) r.report(*info);
      }
    }
  } else if (q.qclass == dns::klass::CH) [[unlikely]] {
    rcode = answer_chaos(snapshot, q, w);
  } else {
    rcode = dns::rcode::REFUSED;
  }

  w.set_rcode(rcode & 0x0F);
  if (q.has_edns) {
    w.set_limit(limit);
    put_opt(snapshot, q, w, rcode, scope);
  }
  w.finish();
  if (info) {
    info->rcode = rcode;
    info->qtype = q.qtype;
    info->zone = zone;
    info->truncated = truncated;
  }
  return w.size();
}

}  // namespace meridian::query