#include <iostream>

#include "commands.hpp"
#include "dns/name.hpp"
#include "dnssec/keys.hpp"

namespace meridian::cli {

namespace {
std::optional<std::string> zone_wire(const std::string& zone) {
  auto wire = dns::name_from_text(zone.empty() || zone.back() != '.' ? zone + "." : zone);
  if (!wire) std::cerr << "meridian dnssec: " << zone << " is not a domain name\n";
  return wire;
}
std::optional<uint8_t> algorithm_of(const std::string& name) {
  auto algorithm = dnssec::algorithm_from_name(name);
  if (!algorithm) std::cerr << "meridian dnssec: algorithm must be ECDSAP256SHA256 (13) or ED25519 (15)\n";
  return algorithm;
}
}  // namespace

int dnssec_keygen(const std::string& zone, const std::string& algorithm_text, const std::string& role,
                  const std::string& folder) {
  const auto wire = zone_wire(zone);
  const auto algorithm = algorithm_of(algorithm_text);
  if (!wire || !algorithm) return 2;
  std::string error;
  const std::string base = dnssec::generate_key(folder, *wire, *algorithm, role != "zsk", error);
  if (base.empty()) {
    std::cerr << "meridian dnssec keygen: " << error << "\n";
    return 1;
  }
  std::cout << base << "\n";
  return 0;
}

int dnssec_ds(const std::string& zone, const std::string& algorithm_text, const std::string& folder) {
  const auto wire = zone_wire(zone);
  const auto algorithm = algorithm_of(algorithm_text);
  if (!wire || !algorithm) return 2;
  std::string error;
  const auto keys = dnssec::read_keys(folder, *wire, *algorithm, error);
  if (!keys) {
    std::cerr << "meridian dnssec ds: " << error << "\n";
    return 1;
  }
  for (const std::string& line : dnssec::ds_records(*keys, 3600)) std::cout << line << "\n";
  return 0;
}

}  // namespace meridian::cli
