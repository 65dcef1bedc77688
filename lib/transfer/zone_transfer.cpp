// AXFR (RFC 5936) and IXFR (RFC 1995, answered with the whole zone) from a
// compiled zone: the SOA, every RRset of every name as the zone holds it, the SOA
// again, cut into messages of at most 64 KiB that share the request's ID, the
// question in the first one only, names compressed, each message signed when the
// request was.
#include <algorithm>
#include <ctime>
#include <set>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "dns/query.hpp"
#include "dns/writer.hpp"
#include "dnssec/rrset_signer.hpp"
#include "transfer/transfer.hpp"
#include "transfer/transfer_counters.hpp"

namespace meridian::transfer {

namespace {

using dns::MessageWriter;

// Room left in each message for the TSIG record: key and algorithm names (255
// bytes each at most), the fixed fields and a SHA-512 MAC.
constexpr std::size_t kTsigReserve = 255 + 255 + 10 + 16 + 64 + 6;

// Writes records into messages of a size limit, starting a new one when the next
// record does not fit.
class MessageSplitter {
 public:
  MessageSplitter(const uint8_t* query, std::size_t question_end, uint16_t flags, std::size_t limit)
      : query_(query), question_end_(question_end), flags_(flags), limit_(limit), buffer_(dns::kMaxMessage),
        writer_(buffer_.data(), buffer_.size()) {
    open();
  }

  // Owner: uncompressed wire form; rdata as the zone stores it.
  bool put(std::string_view owner, uint16_t type, uint32_t ttl, const zone::RecordView& rd) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const MessageWriter::Mark mark = writer_.mark();
      if (write(owner, type, ttl, rd)) {
        ++records_;
        ++in_message_;
        return true;
      }
      writer_.rollback(mark);
      if (in_message_ == 0) return false;  // alone it does not fit: cannot happen under 64 KiB
      close();
      open();
    }
    return false;
  }
  bool put_raw(std::string_view owner, uint16_t type, uint32_t ttl, std::string_view rdata) {
    zone::RecordView rd;
    rd.wire = rdata;
    return put(owner, type, ttl, rd);
  }
  bool put_address(std::string_view owner, uint32_t ttl, const util::IpAddress& ip) {
    zone::RecordView rd;
    rd.wire = {reinterpret_cast<const char*>(ip.bytes()), ip.size()};
    return put(owner, ip.family == 4 ? dns::type::A : dns::type::AAAA, ttl, rd);
  }

  std::vector<std::vector<uint8_t>> finish() {
    close();
    return std::move(messages_);
  }
  std::size_t records() const { return records_; }

 private:
  void open() {
    writer_ = MessageWriter(buffer_.data(), buffer_.size());
    writer_.set_limit(limit_);
    writer_.start(query_, messages_.empty() ? question_end_ : 0, flags_);
    in_message_ = 0;
  }
  void close() {
    writer_.finish();
    messages_.emplace_back(buffer_.data(), buffer_.data() + writer_.size());
  }
  bool write(std::string_view owner, uint16_t type, uint32_t ttl, const zone::RecordView& rd) {
    MessageWriter& w = writer_;
    if (!w.put_name(owner) || !w.put_u16(type) || !w.put_u16(dns::klass::IN) || !w.put_u32(ttl) || !w.put_u16(0))
      return false;
    const std::size_t rdlen_at = w.size() - 2;
    const auto* base = reinterpret_cast<const uint8_t*>(rd.wire.data());
    std::size_t done = 0;
    for (unsigned i = 0; i < rd.compressible_count; ++i) {
      const std::size_t at = rd.compressible_at[i];
      const std::size_t name_len = dns::wire_name_length(base + at, rd.wire.size() - at);
      if (!w.put_bytes(base + done, at - done) || !w.put_name({rd.wire.data() + at, name_len})) return false;
      done = at + name_len;
    }
    if (!w.put_bytes(base + done, rd.wire.size() - done)) return false;
    w.patch_u16(rdlen_at, static_cast<uint16_t>(w.size() - rdlen_at - 2));
    w.count(dns::Section::answer);
    return true;
  }

  const uint8_t* query_;
  std::size_t question_end_;
  uint16_t flags_;
  std::size_t limit_;
  std::vector<uint8_t> buffer_;
  MessageWriter writer_;
  std::vector<std::vector<uint8_t>> messages_;
  std::size_t records_ = 0;
  std::size_t in_message_ = 0;
};

// The serial of the SOA in the request's authority section (IXFR); nullopt when absent.
std::optional<uint32_t> client_serial(const uint8_t* m, std::size_t len, std::size_t question_end) {
  const unsigned an = dns::read_u16(m + 6), ns = dns::read_u16(m + 8);
  std::size_t pos = question_end;
  dns::NameBuffer name;
  for (unsigned i = 0; i < an + ns; ++i) {
    if (dns::read_name(m, len, pos, name, false) != dns::NameStatus::ok || pos + 10 > len) return std::nullopt;
    const uint16_t type = dns::read_u16(m + pos);
    const std::size_t rdlen = dns::read_u16(m + pos + 8);
    pos += 10;
    if (pos + rdlen > len) return std::nullopt;
    if (i >= an && type == dns::type::SOA) {
      std::size_t at = pos;
      if (dns::read_name(m, pos + rdlen, at, name, false) != dns::NameStatus::ok ||
          dns::read_name(m, pos + rdlen, at, name, false) != dns::NameStatus::ok || at + 4 > pos + rdlen)
        return std::nullopt;
      return dns::read_u32(m + at);
    }
    pos += rdlen;
  }
  return std::nullopt;
}

// RFC 1982: a is the same as b or after it.
bool serial_at_or_after(uint32_t a, uint32_t b) { return a == b || static_cast<uint32_t>(a - b) < 0x80000000u; }

// The A/AAAA a dynamic name gets in a transfer (dynamic "fallback"): every
// endpoint of the first-choice regions of a client no rule matches, every
// region up, with the service's TTL.
// The RRSIGs of a signed RRset, as records.
void put_rrsigs(MessageSplitter& out, std::string_view owner, uint32_t ttl, const zone::SignedRRset& set) {
  set.for_each_rrsig([&](std::string_view rdata) { out.put_raw(owner, dns::type::RRSIG, ttl, rdata); });
}

void put_fallback(MessageSplitter& out, const query::Snapshot& snapshot, const zone::NodeHead& head,
                  const zone::Zone& zone, const zone::ZoneSignatures* sigs) {
  if (!snapshot.routing || head.service_index < 0) return;
  const auto& services = snapshot.routing->services().services;
  if (static_cast<std::size_t>(head.service_index) >= services.size()) return;
  const routing::Service& service = services[static_cast<std::size_t>(head.service_index)];
  if (service.fallback_class >= service.classes.size()) return;
  const auto& tiers = service.classes[service.fallback_class].tiers;
  if (tiers.empty()) return;
  std::set<std::pair<uint8_t, std::vector<uint8_t>>> seen;
  std::vector<std::string> by_family[2];  // IPv4, IPv6 rdata, for their RRSIGs
  for (const uint16_t region : tiers.front().regions) {
    if (region >= service.regions.size()) continue;
    for (const auto& endpoint : service.regions[region].endpoints) {
      const util::IpAddress ip = endpoint.ip.unmapped();
      if (!seen.insert({ip.family, std::vector<uint8_t>(ip.bytes(), ip.bytes() + ip.size())}).second) continue;
      out.put_address(head.name(), service.ttl, ip);
      by_family[ip.family == 4 ? 0 : 1].emplace_back(reinterpret_cast<const char*>(ip.bytes()), ip.size());
    }
  }
  // A signed zone's secondaries get these sets signed (made now, per transfer: this
  // set is no answer any client gets, so no cache has it).
  if (!sigs || !zone.dnssec().keys) return;
  for (int family = 0; family < 2; ++family) {
    if (by_family[family].empty()) continue;
    const uint16_t type = family == 0 ? dns::type::A : dns::type::AAAA;
    const std::vector<std::string_view> rdata(by_family[family].begin(), by_family[family].end());
    std::string error;
    const std::vector<std::string> rrsigs = dnssec::sign_rrset(*zone.dnssec().keys, {head.name(), type, service.ttl, rdata},
                                                               {sigs->inception(), sigs->expiration()}, error);
    for (const std::string& sig : rrsigs) out.put_raw(head.name(), dns::type::RRSIG, service.ttl, sig);
  }
}

struct Request {
  dns::Query q;
  dns::QueryStatus status = dns::QueryStatus::drop;
  TsigFound tsig_found = TsigFound::none;
  TsigRecord tsig;
  TsigSession session;
  bool signed_ok = false;
};

// One message without records: the question (when it was read) and rcode.
std::vector<uint8_t> bare_reply(const uint8_t* m, const Request& r, uint16_t rcode) {
  std::vector<uint8_t> buffer(dns::kHeaderSize + dns::kMaxNameLength + 4);
  MessageWriter w(buffer.data(), buffer.size());
  w.start(m, r.q.question_end, static_cast<uint16_t>(dns::flag::QR | (r.q.flags & 0x7800)));
  w.set_rcode(rcode);
  w.finish();
  buffer.resize(w.size());
  return buffer;
}

}  // namespace

TransferCounters& counters() {
  static TransferCounters instance;
  return instance;
}

uint16_t transfer_qtype(const uint8_t* m, std::size_t len) {
  if (len < dns::kHeaderSize + 5 || (m[2] & 0x80) || ((m[2] >> 3) & 0x0F) != dns::opcode::QUERY ||
      dns::read_u16(m + 4) != 1)
    return 0;
  const std::size_t name_len = dns::wire_name_length(m + dns::kHeaderSize, len - dns::kHeaderSize);
  if (name_len == 0 || dns::kHeaderSize + name_len + 4 > len) return 0;
  const uint16_t qtype = dns::read_u16(m + dns::kHeaderSize + name_len);
  return qtype == dns::type::AXFR || qtype == dns::type::IXFR ? qtype : 0;
}

bool is_transfer_request(const uint8_t* m, std::size_t len) { return transfer_qtype(m, len) != 0; }

bool transfer_allowed(const zone::TransferSettings& settings, const util::IpAddress& client, std::string_view key) {
  if (!settings.configured) return false;
  const util::IpAddress source = client.unmapped();
  for (const auto& allow : settings.allow) {
    if (allow.net.family != source.family || !allow.net.contains(source.bytes())) continue;
    if (allow.key.empty() || allow.key == key) return true;
  }
  return false;
}

TransferReply answer_transfer(const query::Snapshot& snapshot, const uint8_t* m, std::size_t len,
                              const util::IpAddress& client, const TransferOptions& options) {
  TransferReply reply;
  const uint64_t now = options.now ? options.now : static_cast<uint64_t>(std::time(nullptr));
  Request r;
  r.status = dns::parse_query(m, len, r.q);
  if (r.status == dns::QueryStatus::drop) {
    reply.outcome = "dropped";
    return reply;
  }
  r.tsig_found = find_tsig(m, len, r.tsig);
  // A refusal, signed when the request was validly signed.
  const auto refuse = [&](uint16_t rcode, std::string why, TransferOutcome outcome) {
    counters().count_transfer(r.q.qtype, outcome);
    reply.rcode = rcode;
    reply.outcome = std::move(why);
    std::vector<uint8_t> message = bare_reply(m, r, rcode);
    if (r.signed_ok) sign_message(message, r.session, now);
    reply.messages.push_back(std::move(message));
    return reply;
  };
  if (r.status != dns::QueryStatus::ok || r.tsig_found == TsigFound::malformed)
    return refuse(dns::rcode::FORMERR, "formerr", TransferOutcome::formerr);
  if (r.tsig_found == TsigFound::found) {
    const uint16_t error = verify_request(m, len, r.tsig, snapshot.tsig_keys, now, r.session);
    if (error != 0) {
      counters().count_transfer(r.q.qtype, TransferOutcome::tsig_failed);
      counters().count_tsig_failure(error);
      reply.rcode = kNotAuth;
      reply.outcome = error == tsig_error::BADKEY ? "tsig-badkey" : error == tsig_error::BADSIG ? "tsig-badsig" : "tsig-badtime";
      std::vector<uint8_t> message = bare_reply(m, r, kNotAuth);
      if (error == tsig_error::BADTIME) sign_message(message, r.session, now, error);
      else append_unsigned_tsig(message, r.tsig, error, now);
      reply.messages.push_back(std::move(message));
      return reply;
    }
    r.signed_ok = true;
  }
  const zone::Zone* zone =
      snapshot.zones && r.q.qclass == dns::klass::IN ? snapshot.zones->find_exact(r.q.qname.view()) : nullptr;
  if (!zone) return refuse(kNotAuth, "not-authoritative", TransferOutcome::not_authoritative);
  reply.zone = dns::name_to_text(zone->origin());
  const std::string key = r.signed_ok ? dns::name_to_text(r.session.key_name) : std::string();
  if (!transfer_allowed(zone->transfer(), client, key)) return refuse(dns::rcode::REFUSED, "refused: not allowed", TransferOutcome::refused);
  if (zone->has_dynamic_names() && zone->transfer().dynamic == zone::TransferSettings::Dynamic::refuse)
    return refuse(dns::rcode::REFUSED, "refused: dynamic names", TransferOutcome::refused);

  const uint16_t flags = static_cast<uint16_t>(dns::flag::QR | dns::flag::AA | (r.q.flags & 0x7800));
  // At least 512 bytes of records beside the TSIG's room, whatever max_message says (a
  // smaller one would leave no room, or wrap around).
  const std::size_t cap = std::max(std::min(options.max_message, dns::kMaxMessage), std::size_t{512} + kTsigReserve);
  const std::size_t limit = cap - (r.signed_ok ? kTsigReserve : 0);
  MessageSplitter out(m, r.q.question_end, flags, limit);
  const zone::RRsetView soa = zone->soa();
  const auto put_rrset = [&](std::string_view owner, const zone::RRsetView& rrset) {
    for (const zone::RecordView rd : rrset.rdata) out.put(owner, rrset.type, rrset.ttl, rd);
  };
  // A signed zone goes out signed (RFC 4035 with its NSEC chain): each RRset's
  // RRSIGs after it, each name's NSEC and the gap NSEC after it (\000.NAME -> next).
  const zone::ZoneSignatures* sigs = snapshot.signatures_for(*zone);
  const auto put_signatures = [&](std::string_view owner, const zone::NodeHead::Entry& entry) {
    if (!sigs) return;
    if (const zone::SignedRRset* set = sigs->find(entry)) put_rrsigs(out, owner, entry.ttl, *set);
  };
  const auto put_nsecs = [&](const zone::NodeHead& head) {
    const zone::SignedRRset* own = sigs ? sigs->find_nsec(head) : nullptr;
    if (!own) return;  // not in the chain (below a cut)
    const std::string_view name = head.name();
    out.put_raw(name, dns::type::NSEC, own->ttl, own->nsec());
    put_rrsigs(out, name, own->ttl, *own);
    if (name.size() + 2 > dns::kMaxNameLength) return;
    std::string gap_owner("\x01\x00", 2);
    gap_owner += name;
    const zone::SignedRRset* gap = sigs->covering_nsec(gap_owner);
    if (!gap || std::string_view(gap->key).substr(0, gap->key.size() - 2) != gap_owner) return;
    out.put_raw(gap_owner, dns::type::NSEC, gap->ttl, gap->nsec());
    put_rrsigs(out, gap_owner, gap->ttl, *gap);
  };
  put_rrset(zone->origin(), soa);
  const auto ours = zone->serial();
  const auto theirs = r.q.qtype == dns::type::IXFR ? client_serial(m, len, r.q.question_end) : std::nullopt;
  if (theirs && serial_at_or_after(*theirs, ours)) {
    reply.outcome = "ixfr-up-to-date";  // RFC 1995 2: the SOA alone
    counters().count_transfer(r.q.qtype, TransferOutcome::up_to_date);
  } else {
    const bool fallback = zone->transfer().dynamic == zone::TransferSettings::Dynamic::fallback;
    zone->for_each_node([&](const zone::NodeHead& head) {
      const zone::NodeHead::Entry* entries = head.entries();
      for (unsigned i = 0; i < head.entry_count; ++i) {
        // The SOA opens and closes the transfer; its RRSIGs go out once, with the apex.
        if (entries[i].type == dns::type::SOA && &head == &zone->apex()) {
          put_signatures(head.name(), entries[i]);
          continue;
        }
        put_rrset(head.name(), head.rrset(entries[i]));
        put_signatures(head.name(), entries[i]);
      }
      if (head.has_service() && fallback) put_fallback(out, snapshot, head, *zone, sigs);
      put_nsecs(head);
    });
    put_rrset(zone->origin(), soa);
    reply.outcome = r.q.qtype == dns::type::IXFR ? "ixfr-as-axfr" : "axfr";
    counters().count_transfer(r.q.qtype, TransferOutcome::served);
  }
  reply.records = out.records();
  reply.messages = out.finish();
  if (r.signed_ok)
    for (auto& message : reply.messages) sign_message(message, r.session, now);
  return reply;
}

}  // namespace meridian::transfer
