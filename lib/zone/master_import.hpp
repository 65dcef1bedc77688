// `meridian zone import`: an RFC 1035 master file (read by libzscanner, see
// master_scanner.hpp) converted to meridian's JSON zone format. The records are
// held compactly, grouped by owner, and the JSON text is written straight out:
// time and memory are linear in the zone.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/diagnostics.hpp"

namespace meridian::zone {

class ImportedZone;
ImportedZone read_master_file(const std::string& path, const std::string& origin, config::Diagnostics& diagnostics);
// The same for text in memory that claims to come from `name` (the fuzz target).
ImportedZone read_master_text(std::string_view text, const std::string& name, const std::string& origin,
                              config::Diagnostics& diagnostics);

class ImportedZone {
 public:
  ImportedZone();
  ImportedZone(ImportedZone&&) noexcept;
  ImportedZone& operator=(ImportedZone&&) noexcept;
  ~ImportedZone();

  // The JSON zone, keys in a stable order, laid out as nlohmann's dump(2) would
  // (no final newline); "null" when the origin was not a name.
  void write_json(std::ostream& out) const;

 private:
  friend class MasterImporter;
  template <class ScanRecords>
  friend ImportedZone read_master(const std::string&, const std::string&, config::Diagnostics&, const ScanRecords&);
  struct Record {
    uint64_t text_at;  // rdata text in texts_
    uint32_t text_size;
    uint32_t owner;    // index in owners_
    uint32_t ttl;
    uint16_t type;
  };
  struct Soa {
    std::string mname, rname;
    uint32_t numbers[5];  // serial, refresh, retry, expire, minimum
    uint32_t ttl;
  };
  bool valid_ = false;
  std::string origin_dotted_;
  std::string origin_wire_;  // folded
  uint32_t default_ttl_ = 3600;
  std::optional<Soa> soa_;
  std::vector<std::unique_ptr<char[]>> name_blocks_;  // owners' folded wire names
  std::vector<std::string_view> owners_;              // first-seen order
  std::vector<Record> records_;                       // file order
  std::string texts_;
};

// read_master_file (above) reads the master file; problems go to diagnostics
// (file:line) and the zone is then incomplete.

// The same as a JSON document (for tests and small files; the CLI streams).
nlohmann::ordered_json import_master_file(const std::string& path, const std::string& origin,
                                          config::Diagnostics& diagnostics);

}  // namespace meridian::zone
