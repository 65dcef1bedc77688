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

}  // namespace

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

  auto add = [&](std::string_view owner, uint16_t type, uint32_t ttl, std::vector<std::string_view> rdata,
                 std::string nsec) {
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
    set.nsec = std::move(nsec);
    for (const std::string& sig : sigs) {
      set.rrsigs.push_back(static_cast<char>(sig.size() >> 8));
      set.rrsigs.push_back(static_cast<char>(sig.size() & 0xFF));
      set.rrsigs += sig;
    }
    set.rrsig_count = static_cast<uint16_t>(sigs.size());
    out->signatures_ += sigs.size();
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
      ok = add(name, entry.type, entry.ttl, std::move(rdata), {});
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
      const std::string rdata = nsec;
      ok = add(name, dns::type::NSEC, zone.negative_ttl(), {rdata}, nsec);
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
        const std::string variant_rdata = variant;
        ok = add(name, dns::type::NSEC, zone.negative_ttl(), {variant_rdata}, variant);
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
  for (std::size_t i = 0; i < names.size() && ok; ++i) {
    const std::string& name = names[i].second;
    if (name.size() + 2 > dns_max_name) continue;
    std::string owner("\x01\x00", 2);
    owner += name;
    std::string nsec = names[(i + 1) % names.size()].second;
    nsec += nsec_type_bitmap({dns::type::RRSIG, dns::type::NSEC});
    const std::string rdata = nsec;
    ok = add(owner, dns::type::NSEC, zone.negative_ttl(), {rdata}, nsec);
    if (ok) out->gaps_.push_back({names[i].first, &out->sets_.back()});
  }
  if (!ok) return nullptr;
  out->index_.reserve(out->sets_.size());
  for (const SignedRRset& set : out->sets_) out->index_.insert(&set);
  return out;
}

}  // namespace meridian::zone
