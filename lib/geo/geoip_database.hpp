// A MaxMind DB (GeoIP2/GeoLite2 City, Country or ASN, or meridian's own) read with
// libmaxminddb: point lookups for explain, and a walk over every network so
// routing can compile its own compact tries at load time.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/diagnostics.hpp"

struct MMDB_s;

namespace meridian::geo {

// The fields routing keys on, from one database record.
struct GeoRecord {
  std::string continent;    // "EU"
  std::string country;      // "IE"
  std::string subdivision;  // "L" (first subdivision's ISO code)
  std::string city;         // English name, for explain only
  uint32_t asn = 0;         // autonomous_system_number, 0 when absent
  bool has_location = false;
  double latitude = 0;
  double longitude = 0;
};

struct GeoLookup {
  bool found = false;
  unsigned prefix_len = 0;  // the database network's prefix (IPv4: 0-32)
  GeoRecord record;
};

class GeoipDatabase {
 public:
  // Throws config::LoadError naming the file when it cannot be opened.
  static std::shared_ptr<const GeoipDatabase> open(const std::string& path);
  ~GeoipDatabase();
  GeoipDatabase(const GeoipDatabase&) = delete;
  GeoipDatabase& operator=(const GeoipDatabase&) = delete;

  const std::string& path() const { return path_; }
  std::string database_type() const;
  bool has_ipv6() const;

  // family 4 (4 address bytes) or 6 (16 bytes).
  GeoLookup lookup(int family, const uint8_t* address) const;

  // Calls visit(address bytes, prefix_len, record) for every network holding data,
  // IPv4 networks (family 4, prefix 0-32) and IPv6 networks (family 6) separately.
  using Visitor = std::function<void(const uint8_t* address, unsigned prefix_len, const GeoRecord& record)>;
  void walk(int family, const Visitor& visit) const;

 private:
  explicit GeoipDatabase(std::string path);
  std::string path_;
  std::unique_ptr<MMDB_s> mmdb_;
};

}  // namespace meridian::geo
