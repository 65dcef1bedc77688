#include "routing/client_key.hpp"

#include <charconv>

namespace meridian::routing {

namespace {

bool is_upper_code(const std::string& s, std::size_t min, std::size_t max) {
  if (s.size() < min || s.size() > max) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

}  // namespace

std::optional<ClientKey> parse_client_key(const std::string& text, std::string& error) {
  ClientKey k;
  k.text = text;
  if (text == "default") {
    k.kind = ClientKey::by_default;
    return k;
  }
  if (text.rfind("net:", 0) == 0) {
    const std::string cidr = text.substr(4);
    const auto slash = cidr.find('/');
    if (slash == std::string::npos) {
      error = "\"" + text + "\": a net key is net:ADDRESS/PREFIX";
      return std::nullopt;
    }
    const auto network = util::parse_network(cidr, error, text);
    if (!network) return std::nullopt;
    k.kind = ClientKey::by_net;
    static_cast<util::IpNetwork&>(k) = *network;
    return k;
  }
  if (text.rfind("asn:", 0) == 0) {
    const std::string n = text.substr(4);
    const auto [end, err] = std::from_chars(n.data(), n.data() + n.size(), k.asn_number);
    if (n.empty() || err != std::errc() || end != n.data() + n.size() || k.asn_number == 0) {
      error = "\"" + text + "\": an ASN key is asn:NUMBER";
      return std::nullopt;
    }
    k.kind = ClientKey::by_asn;
    return k;
  }
  if (text.rfind("country:", 0) == 0) {
    const std::string rest = text.substr(8);
    const auto slash = rest.find('/');
    k.country = rest.substr(0, slash);
    if (!is_upper_code(k.country, 2, 2)) {
      error = "\"" + text + "\": a country is its ISO 3166-1 code in capitals, e.g. country:IE";
      return std::nullopt;
    }
    if (slash == std::string::npos) {
      k.kind = ClientKey::by_country;
      return k;
    }
    k.subdivision = rest.substr(slash + 1);
    if (!is_upper_code(k.subdivision, 1, 3)) {
      error = "\"" + text + "\": a subdivision is its ISO 3166-2 code, e.g. country:US/VA";
      return std::nullopt;
    }
    k.kind = ClientKey::by_subdivision;
    return k;
  }
  std::string code = text.rfind("continent:", 0) == 0 ? text.substr(10) : text;
  static const char* const kContinents[] = {"AF", "AN", "AS", "EU", "NA", "OC", "SA"};
  for (const char* c : kContinents) {
    if (code == c) {
      k.kind = ClientKey::by_continent;
      k.continent = code;
      return k;
    }
  }
  error = "\"" + text + "\" is not a key: use a continent (AF AN AS EU NA OC SA), country:CC, country:CC/SUB, "
          "asn:N, net:CIDR or default";
  return std::nullopt;
}

int match_record(const std::vector<ClientKey>& keys, const geo::GeoRecord& r, bool asn_allowed) {
  int best = -1;
  int best_rank = 100;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const ClientKey& k = keys[i];
    bool hit = false;
    switch (k.kind) {
      case ClientKey::by_asn: hit = asn_allowed && r.asn != 0 && r.asn == k.asn_number; break;
      case ClientKey::by_subdivision: hit = r.country == k.country && r.subdivision == k.subdivision; break;
      case ClientKey::by_country: hit = r.country == k.country; break;
      case ClientKey::by_continent: hit = r.continent == k.continent; break;
      default: break;
    }
    if (hit && k.kind < best_rank) {
      best = static_cast<int>(i);
      best_rank = k.kind;
    }
  }
  return best;
}

int fallback_key(const std::vector<ClientKey>& keys) {
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (keys[i].kind == ClientKey::by_default) return static_cast<int>(i);
  return -1;
}

int match_net(const std::vector<ClientKey>& keys, int family, const uint8_t* address) {
  int best = -1;
  unsigned best_len = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const ClientKey& k = keys[i];
    if (k.kind != ClientKey::by_net || k.family != family) continue;
    if (k.contains(address) && (best < 0 || k.prefix_len > best_len)) {
      best = static_cast<int>(i);
      best_len = k.prefix_len;
    }
  }
  return best;
}

}  // namespace meridian::routing
