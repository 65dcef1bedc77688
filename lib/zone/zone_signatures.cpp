#include "zone/zone_signatures.hpp"

#include <algorithm>
#include <atomic>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "dnssec/rrset_signer.hpp"

namespace meridian::zone {

namespace {

// Whether name lies below a zone cut of zone (glue and occluded names: not authoritative).
bool below_cut(const Zone& zone, std::string_view name) {
  for (std::string_view up = dns::parent_name(name); up.size() > zone.origin().size(); up = dns::parent_name(up))
    if (const NodeHead* n = zone.find(up); n && n->is_delegation()) return true;
  return false;
}

std::string key_of(std::string_view owner, uint16_t type) {
  std::string key(owner);
  key.push_back(static_cast<char>(type >> 8));
  key.push_back(static_cast<char>(type & 0xFF));
  return key;
}

void append_record(std::string& wire, uint16_t type, uint32_t ttl, std::string_view rdata) {
  const uint8_t header[SignedRRset::kRecordHeader] = {
      0xC0, 0, static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type & 0xFF), 0, 1,
      static_cast<uint8_t>(ttl >> 24), static_cast<uint8_t>(ttl >> 16), static_cast<uint8_t>(ttl >> 8),
      static_cast<uint8_t>(ttl & 0xFF), static_cast<uint8_t>(rdata.size() >> 8), static_cast<uint8_t>(rdata.size() & 0xFF)};
  wire.append(reinterpret_cast<const char*>(header), sizeof header);
  wire.append(rdata);
}

}  // namespace

void SignedRRset::set_nsec(std::string_view rdata) {
  append_record(wire, dns::type::NSEC, ttl, rdata);
  nsec_size = static_cast<uint16_t>(wire.size());
}

void SignedRRset::add_rrsig(std::string_view rdata) {
  append_record(wire, dns::type::RRSIG, ttl, rdata);
  ++rrsig_count;
}

void AddressIndex::reserve(std::size_t count) {
  std::size_t size = 16;
  unsigned bits = 4;
  while (size < count * 2) {
    size *= 2;
    ++bits;
  }
  slots_.assign(size, Slot{});
  mask_ = size - 1;
  shift_ = 64 - bits;
}

void AddressIndex::insert(const void* key, const SignedRRset* set) {
  const auto k = reinterpret_cast<uintptr_t>(key);
  std::size_t i = slot_of(k);
  while (slots_[i].key != 0) i = (i + 1) & mask_;
  slots_[i] = {k, set};
}

std::string nsec_type_bitmap(std::vector<uint16_t> types) {
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  std::string out;
  std::size_t i = 0;
  while (i < types.size()) {
    const unsigned window = types[i] >> 8;
    uint8_t bits[32] = {};
    unsigned length = 0;
    for (; i < types.size() && (types[i] >> 8) == window; ++i) {
      const unsigned low = types[i] & 0xFF;
      bits[low / 8] |= static_cast<uint8_t>(0x80 >> (low % 8));
      length = low / 8 + 1;
    }
    out.push_back(static_cast<char>(window));
    out.push_back(static_cast<char>(length));
    out.append(reinterpret_cast<const char*>(bits), length);
  }
  return out;
}

std::shared_ptr<const ZoneSignatures> ZoneSignatures::sign(const Zone& zone, uint32_t now, std::string& error,
                                                           const std::function<unsigned(int)>& service_types) {
  const DnssecSettings& settings = zone.dnssec();
  if (!zone.signed_zone()) {
    error = "the zone has no keys";
    return nullptr;
  }
  auto out = std::make_shared<ZoneSignatures>();
  static std::atomic<uint64_t> serials{0};
  out->serial_ = ++serials;
  out->inception_ = now - 3600;  // clocks of validators a little behind
  out->expiration_ = now + static_cast<uint32_t>(settings.signature_validity.count());
  out->refresh_at_ = out->expiration_ - static_cast<uint32_t>(settings.refresh.count());
  const dnssec::SignatureWindow window{out->inception_, out->expiration_};
  const dnssec::KeySet& keys = *settings.keys;
  bool verified_once = false;

  // Each set's key in the index (the entry or head it signs; null: found otherwise).
  std::vector<std::pair<const void*, const SignedRRset*>> keyed;
  auto add = [&](const void* index_key, std::string_view owner, uint16_t type, uint32_t ttl,
                 std::vector<std::string_view> rdata, bool is_nsec) {
    const dnssec::RRset rrset{owner, type, ttl, std::move(rdata)};
    const std::vector<std::string> sigs = dnssec::sign_rrset(keys, rrset, window, error);
    if (sigs.empty()) return false;
    // The first signatures are checked with the keys' published half: a key pair
    // that does not fit, or a signing fault, stops the load instead of being served.
    if (!verified_once) {
      for (const std::string& sig : sigs) {
        const uint16_t tag = dns::read_u16(reinterpret_cast<const uint8_t*>(sig.data()) + 16);
        const auto key = std::find_if(keys.keys.begin(), keys.keys.end(), [&](const auto& k) { return k.tag == tag; });
        if (key == keys.keys.end() || !dnssec::verify_rrsig(key->dnskey_rdata, rrset, sig)) {
          error = "a signature made with the key " + std::to_string(tag) + " does not verify";
          return false;
        }
      }
      verified_once = true;
    }
    SignedRRset& set = out->sets_.emplace_back();
    set.key = key_of(owner, type);
    set.ttl = ttl;
    if (is_nsec) set.set_nsec(rrset.rdata.front());
    for (const std::string& sig : sigs) set.add_rrsig(sig);
    out->signatures_ += sigs.size();
    if (index_key) keyed.emplace_back(index_key, &set);
    return true;
  };

  bool ok = true;
  std::vector<std::pair<std::string, std::string>> names;  // canonical key, wire name: the NSEC chain's names
  zone.for_each_node([&](const NodeHead& head) {
    if (!ok) return;
    const std::string_view name = head.name();
    if (name.size() != zone.origin().size() && below_cut(zone, name)) return;
    char key[kMaxCanonicalKey];
    names.emplace_back(std::string(key, canonical_key(name, key)), std::string(name));
    std::vector<uint16_t> types{dns::type::RRSIG, dns::type::NSEC};
    for (unsigned i = 0; i < head.entry_count && ok; ++i) {
      const NodeHead::Entry& entry = head.entries()[i];
      if (head.is_delegation() && entry.type != dns::type::NS && entry.type != dns::type::DS) continue;
      types.push_back(entry.type);
      if (head.is_delegation() && entry.type == dns::type::NS) continue;  // the child's, not signed here
      std::vector<std::string_view> rdata;
      for (const RecordView rd : head.rrset(entry).rdata) rdata.push_back(rd.wire);
      ok = add(&entry, name, entry.type, entry.ttl, std::move(rdata), false);
      if (ok && entry.type == dns::type::SOA && &head == &zone.apex_head()) out->soa_ = &out->sets_.back();
    }
    if (head.has_service()) {
      const unsigned served = service_types ? service_types(head.service_index) : 3u;
      if (served & 1u) types.push_back(dns::type::A);
      if (served & 2u) types.push_back(dns::type::AAAA);
    }
    // Compact denial (RFC 9824): the next name is the immediate successor, "\0.name".
    if (ok && name.size() + 2 <= dns_max_name) {
      std::string nsec("\x01\x00", 2);
      nsec += name;
      nsec += nsec_type_bitmap(types);
      const auto* head_at = reinterpret_cast<const char*>(&head);
      ok = add(head_at, name, dns::type::NSEC, zone.negative_ttl(), {nsec}, true);
      // A dynamic name answers A or AAAA by the client's region: NODATA for one
      // family must not list it.
      for (const auto& [missing, key] : {std::pair{dns::type::A, kNsecWithoutA}, std::pair{dns::type::AAAA, kNsecWithoutAAAA}}) {
        if (!ok || !head.has_service()) break;
        std::vector<uint16_t> fewer;
        for (uint16_t t : types)
          if (t != missing) fewer.push_back(t);
        std::string variant("\x01\x00", 2);
        variant += name;
        variant += nsec_type_bitmap(fewer);
        ok = add(head_at + nsec_variant(key), name, dns::type::NSEC, zone.negative_ttl(), {variant}, true);
        if (ok) out->sets_.back().key = key_of(name, key);
      }
    }
  });
  if (!ok) return nullptr;
  // Between each name A and the next existing name B: "\000.A" NSEC B, the gap no
  // name lies in. With each name's own "A NSEC \000.A" this is one NSEC chain (RFC
  // 4034 4.1.1) whose signatures are all made now: a name that does not exist is
  // proven so without signing anything per query.
  std::sort(names.begin(), names.end());
  {
    char origin_key[kMaxCanonicalKey];
    out->common_ = canonical_key(zone.origin(), origin_key);
  }
  for (std::size_t i = 0; i < names.size() && ok; ++i) {
    const std::string& name = names[i].second;
    if (name.size() + 2 > dns_max_name) continue;
    std::string owner("\x01\x00", 2);
    owner += name;
    std::string nsec = names[(i + 1) % names.size()].second;
    nsec += nsec_type_bitmap({dns::type::RRSIG, dns::type::NSEC});
    ok = add(nullptr, owner, dns::type::NSEC, zone.negative_ttl(), {nsec}, true);
    if (ok) out->gaps_.push_back({out->key_prefix(names[i].first), names[i].first, &out->sets_.back()});
  }
  if (!ok) return nullptr;
  out->index_.reserve(keyed.size());
  for (const auto& [index_key, set] : keyed) out->index_.insert(index_key, set);
  return out;
}

}  // namespace meridian::zone
