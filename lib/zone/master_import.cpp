#include "zone/master_import.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <sstream>

#include "dns/constants.hpp"
#include "dns/name.hpp"
#include "zone/master_scanner.hpp"
#include "zone/presentation_text.hpp"
#include "zone/rdata_codec.hpp"

namespace meridian::zone {

namespace {

constexpr uint32_t kMaxTtl = 0x7FFFFFFF;  // RFC 2181 section 8

uint32_t read_u32(std::string_view wire, std::size_t at) {
  uint32_t v = 0;
  for (std::size_t i = 0; i < 4; ++i) v = v << 8 | static_cast<uint8_t>(wire[at + i]);
  return v;
}

// Length of the uncompressed wire name at the start of wire, 0 if none.
std::size_t name_length(std::string_view wire) {
  std::size_t i = 0;
  while (i < wire.size()) {
    const auto l = static_cast<uint8_t>(wire[i]);
    if (l == 0) return i + 1;
    if (l > 63) return 0;
    i += 1 + l;
  }
  return 0;
}

// The rdata as the JSON loader will read it: ldns's presentation form when
// parse_rdata reads that back to the same bytes, else RFC 3597 generic form
// (empty rdata, unknown types, forms ldns prints but cannot read). Sets error
// when the loader would refuse even that (an A record with empty rdata).
std::string loadable_rdata_text(uint16_t type, std::string_view wire, const std::string& owner,
                                const std::string& origin, std::string& error) {
  if (!wire.empty()) {
    std::string text = presentation_text(type, wire);
    if (!text.empty()) {
      const ParsedRdata parsed = parse_rdata(type, text, owner, origin);
      if (parsed.error.empty() && parsed.rdata.wire == wire) return text;
    }
  }
  std::string generic = generic_rdata_text(wire);
  const ParsedRdata parsed = parse_rdata(type, generic, owner, origin);
  if (!parsed.error.empty()) error = parsed.error;
  else if (parsed.rdata.wire != wire) error = "the loader would read other rdata from \"" + generic + "\"";
  return generic;
}

// "@" for the apex, the relative name below it.
std::string relative_name(std::string_view owner, std::string_view origin) {
  if (owner == origin) return "@";
  std::string text = dns::name_to_text(owner);
  const std::string origin_text = dns::name_to_text(origin);
  if (origin_text != "." && text.size() > origin_text.size())
    return text.substr(0, text.size() - origin_text.size() - 1);
  return text;
}

// JSON text as nlohmann's dump(2) writes it, buffered.
class JsonWriter {
 public:
  // Grows to kFlushAt only for zones that big.
  explicit JsonWriter(std::ostream& out) : out_(out) { buffer_.reserve(64 << 10); }
  ~JsonWriter() { flush(); }
  void raw(std::string_view text) {
    buffer_ += text;
    if (buffer_.size() >= kFlushAt) flush();
  }
  void indent(std::size_t n) { buffer_.append(n, ' '); }
  void number(uint32_t n) { buffer_ += std::to_string(n); }
  void string(std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    buffer_ += '"';
    for (const char c : text) {
      switch (c) {
        case '"': buffer_ += "\\\""; break;
        case '\\': buffer_ += "\\\\"; break;
        case '\b': buffer_ += "\\b"; break;
        case '\f': buffer_ += "\\f"; break;
        case '\n': buffer_ += "\\n"; break;
        case '\r': buffer_ += "\\r"; break;
        case '\t': buffer_ += "\\t"; break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            buffer_ += "\\u00";
            buffer_ += kHex[static_cast<unsigned char>(c) >> 4];
            buffer_ += kHex[static_cast<unsigned char>(c) & 0xF];
          } else {
            buffer_ += c;
          }
      }
    }
    buffer_ += '"';
  }
  // `"key": `
  void key(std::size_t depth, std::string_view name) {
    indent(depth * 2);
    string(name);
    buffer_ += ": ";
  }

 private:
  static constexpr std::size_t kFlushAt = 1 << 20;
  void flush() {
    out_.write(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
    buffer_.clear();
  }
  std::ostream& out_;
  std::string buffer_;
};

}  // namespace

// Collects the scanner's records into an ImportedZone.
class MasterImporter {
 public:
  MasterImporter(ImportedZone& zone, config::Diagnostics& diagnostics) : zone_(zone), diagnostics_(diagnostics) {}

  void add(const MasterRecord& r) {
    folded_.assign(r.owner);
    fold(folded_);
    const std::string& owner = folded_;
    if (r.ttl != last_ttl_ || !last_ttl_use_) {
      last_ttl_ = r.ttl;
      last_ttl_use_ = &ttl_use_[r.ttl];
    }
    ++*last_ttl_use_;
    // The loader refuses these; the import says where they are.
    if (r.ttl > kMaxTtl)
      diagnostics_.add(std::string(r.file), r.line, 1,
                       "record " + dns::name_to_text(owner) + " " + rr_type_name(r.type) + ": TTL " +
                           std::to_string(r.ttl) + " is above 2147483647 (RFC 2181 section 8)");
    if (!dns::is_subdomain(owner, zone_.origin_wire_)) {
      diagnostics_.add(std::string(r.file), r.line, 1,
                       "record " + dns::name_to_text(owner) + " is outside the zone " + zone_.origin_dotted_);
      return;
    }
    if (!storable_type(r.type)) {
      if (r.type == dns::type::RRSIG || r.type == dns::type::NSEC) {
        auto& [count, first] = left_out_[r.type];
        if (count++ == 0) first = dns::name_to_text(owner);
      } else {
        diagnostics_.add(std::string(r.file), r.line, 1,
                         "record " + dns::name_to_text(owner) + " " + rr_type_name(r.type) + ": type " +
                             rr_type_name(r.type) + " cannot be stored in a zone");
      }
      return;
    }
    if (r.type == dns::type::SOA) {
      if (owner != zone_.origin_wire_) diagnostics_.add(std::string(r.file), r.line, 1, "SOA record not at the zone apex");
      else if (!zone_.soa_) set_soa(r);
      return;
    }
    std::string error;
    const std::string text = loadable_rdata_text(r.type, r.rdata, owner, zone_.origin_wire_, error);
    if (!error.empty())
      diagnostics_.add(std::string(r.file), r.line, 1, "record " + dns::name_to_text(owner) + " " + rr_type_name(r.type) + ": " + error);
    zone_.records_.push_back({zone_.texts_.size(), static_cast<uint32_t>(text.size()), owner_index(owner), r.ttl, r.type});
    zone_.texts_ += text;
  }

  void finish(const std::string& path) {
    for (const auto& [type, use] : left_out_)
      diagnostics_.add_warning({path, 0, 0,
                                std::to_string(use.first) + " " + rr_type_name(type) + " record" +
                                    (use.first == 1 ? "" : "s") + " (the first at " + use.second +
                                    ") left out: meridian does not serve DNSSEC signatures or denial records"});
    // The most common TTL becomes the zone default (the lowest of equals);
    // others are written per RRset.
    std::size_t best = 0;
    for (const auto& [ttl, n] : ttl_use_)
      if (n > best) best = n, zone_.default_ttl_ = ttl;
    if (!zone_.soa_) diagnostics_.add(path, 0, 0, "the master file has no SOA record");
  }

 private:
  static void fold(std::string& wire) {
    for (char& c : wire)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }

  uint32_t owner_index(const std::string& owner) {
    // A master file lists an owner's records together: most lookups are the last one.
    if (!zone_.owners_.empty() && zone_.owners_[last_owner_] == owner) return last_owner_;
    last_owner_ = lookup_owner(owner);
    return last_owner_;
  }

  // Open addressing over (hash, index) pairs: a million owners cost one cache
  // miss each instead of std::unordered_map's node walk.
  uint32_t lookup_owner(const std::string& owner) {
    const uint64_t hash = std::hash<std::string_view>{}(owner);
    const auto tag = static_cast<uint32_t>(hash >> 32);
    if ((zone_.owners_.size() + 1) * 2 > slots_.size()) grow();
    for (std::size_t at = hash & (slots_.size() - 1);; at = (at + 1) & (slots_.size() - 1)) {
      const uint64_t slot = slots_[at];
      if (slot == kEmpty) {
        slots_[at] = static_cast<uint64_t>(tag) << 32 | store_owner(owner);
        return static_cast<uint32_t>(slots_[at]);
      }
      if (static_cast<uint32_t>(slot >> 32) == tag && zone_.owners_[static_cast<uint32_t>(slot)] == owner)
        return static_cast<uint32_t>(slot);
    }
  }

  void grow() {
    std::vector<uint64_t> old(std::max<std::size_t>(slots_.size() * 2, 1024), kEmpty);
    old.swap(slots_);
    for (const uint64_t slot : old) {
      if (slot == kEmpty) continue;
      const uint64_t hash = std::hash<std::string_view>{}(zone_.owners_[static_cast<uint32_t>(slot)]);
      std::size_t at = hash & (slots_.size() - 1);
      while (slots_[at] != kEmpty) at = (at + 1) & (slots_.size() - 1);
      slots_[at] = slot;
    }
  }

  uint32_t store_owner(const std::string& owner) {
    if (block_used_ + owner.size() > block_size_) {
      // Small zones (and each fuzzing input) stay in one small block; big ones double
      // up to 1 MiB blocks.
      block_size_ = zone_.name_blocks_.empty() ? kFirstBlockSize : std::min(block_size_ * 2, kMaxBlockSize);
      zone_.name_blocks_.push_back(std::make_unique_for_overwrite<char[]>(block_size_));
      block_used_ = 0;
    }
    char* at = zone_.name_blocks_.back().get() + block_used_;
    std::memcpy(at, owner.data(), owner.size());
    block_used_ += owner.size();
    zone_.owners_.emplace_back(at, owner.size());
    return static_cast<uint32_t>(zone_.owners_.size() - 1);
  }

  void set_soa(const MasterRecord& r) {
    const std::size_t mname = name_length(r.rdata);
    const std::size_t rname = mname ? name_length(r.rdata.substr(mname)) : 0;
    if (!rname || r.rdata.size() != mname + rname + 20) {
      diagnostics_.add(std::string(r.file), r.line, 1, "SOA record with bad rdata");
      return;
    }
    ImportedZone::Soa soa{ldns_name_text(r.rdata.substr(0, mname)), ldns_name_text(r.rdata.substr(mname, rname)),
                          {}, r.ttl};
    for (std::size_t i = 0; i < 5; ++i) soa.numbers[i] = read_u32(r.rdata, mname + rname + 4 * i);
    zone_.soa_ = std::move(soa);
  }

  static constexpr std::size_t kFirstBlockSize = 16 << 10;  // > any name's 255 bytes
  static constexpr std::size_t kMaxBlockSize = 1 << 20;
  ImportedZone& zone_;
  config::Diagnostics& diagnostics_;
  std::string folded_;
  static constexpr uint64_t kEmpty = UINT64_MAX;  // no owner has index 2^32-1
  std::vector<uint64_t> slots_;
  uint32_t last_owner_ = 0;
  std::size_t block_size_ = 0;
  std::size_t block_used_ = 0;
  std::map<uint32_t, std::size_t> ttl_use_;
  uint32_t last_ttl_ = 0;
  std::size_t* last_ttl_use_ = nullptr;
  std::map<uint16_t, std::pair<std::size_t, std::string>> left_out_;  // count, first owner
};

ImportedZone::ImportedZone() = default;
ImportedZone::ImportedZone(ImportedZone&&) noexcept = default;
ImportedZone& ImportedZone::operator=(ImportedZone&&) noexcept = default;
ImportedZone::~ImportedZone() = default;

// read_master_file and read_master_text: `scan` reads the records (from a file or
// text). Outside the anonymous namespace: ImportedZone names it as a friend.
template <class ScanRecords>
ImportedZone read_master(const std::string& path, const std::string& origin_text, config::Diagnostics& diagnostics,
                         const ScanRecords& scan) {
  ImportedZone zone;
  std::string origin_dotted = origin_text;
  if (origin_dotted.empty() || origin_dotted.back() != '.') origin_dotted += '.';
  const auto origin_wire = dns::name_from_text(origin_dotted);
  if (!origin_wire) {
    diagnostics.add(path, 0, 0, "\"" + origin_text + "\" is not a valid zone origin");
    return zone;
  }
  zone.valid_ = true;
  zone.origin_dotted_ = origin_dotted;
  zone.origin_wire_ = dns::fold_wire_name(*origin_wire);
  MasterImporter importer(zone, diagnostics);
  if (scan(origin_dotted, [&](const MasterRecord& r) { importer.add(r); })) importer.finish(path);
  return zone;
}

ImportedZone read_master_file(const std::string& path, const std::string& origin_text,
                              config::Diagnostics& diagnostics) {
  return read_master(path, origin_text, diagnostics, [&](const std::string& origin, const auto& on_record) {
    return scan_master_file(path, origin, diagnostics, on_record);
  });
}

ImportedZone read_master_text(std::string_view text, const std::string& name, const std::string& origin_text,
                              config::Diagnostics& diagnostics) {
  return read_master(name, origin_text, diagnostics, [&](const std::string& origin, const auto& on_record) {
    return scan_master_text(text, name, origin, diagnostics, on_record);
  });
}

void ImportedZone::write_json(std::ostream& out) const {
  if (!valid_) {
    out << "null";
    return;
  }
  JsonWriter json(out);
  json.raw("{\n");
  json.key(1, "origin");
  json.string(origin_dotted_);
  json.raw(",\n");
  json.key(1, "ttl");
  json.number(default_ttl_);
  if (soa_) {
    json.raw(",\n");
    json.key(1, "soa");
    json.raw("{\n");
    json.key(2, "mname");
    json.string(soa_->mname);
    json.raw(",\n");
    json.key(2, "rname");
    json.string(soa_->rname);
    static const char* const kNumbers[] = {"serial", "refresh", "retry", "expire", "minimum"};
    for (std::size_t i = 0; i < 5; ++i) {
      json.raw(",\n");
      json.key(2, kNumbers[i]);
      json.number(soa_->numbers[i]);
    }
    if (soa_->ttl != default_ttl_) {
      json.raw(",\n");
      json.key(2, "ttl");
      json.number(soa_->ttl);
    }
    json.raw("\n  }");
  }
  json.raw(",\n");
  json.key(1, "records");
  if (owners_.empty()) {
    json.raw("{}\n}");
    return;
  }
  json.raw("{\n");

  // The records by owner (a counting sort keeps file order within an owner).
  std::vector<uint32_t> first(owners_.size() + 1, 0);
  for (const Record& r : records_) ++first[r.owner + 1];
  for (std::size_t i = 1; i < first.size(); ++i) first[i] += first[i - 1];
  std::vector<uint32_t> by_owner(records_.size());
  {
    std::vector<uint32_t> next(first.begin(), first.end() - 1);
    for (uint32_t i = 0; i < records_.size(); ++i) by_owner[next[records_[i].owner]++] = i;
  }

  std::vector<uint16_t> types;  // of one owner, first-seen order
  std::vector<uint32_t> set;    // one RRset's records
  for (std::size_t owner = 0; owner < owners_.size(); ++owner) {
    if (owner) json.raw(",\n");
    json.key(2, relative_name(owners_[owner], origin_wire_));
    json.raw("{\n");
    const auto begin = by_owner.begin() + first[owner], end = by_owner.begin() + first[owner + 1];
    types.clear();
    for (auto it = begin; it != end; ++it)
      if (std::find(types.begin(), types.end(), records_[*it].type) == types.end()) types.push_back(records_[*it].type);
    for (std::size_t t = 0; t < types.size(); ++t) {
      set.clear();
      // RFC 2181 5.2: one TTL per RRset; the lowest when a file disagrees.
      uint32_t ttl = UINT32_MAX;
      for (auto it = begin; it != end; ++it)
        if (records_[*it].type == types[t]) {
          set.push_back(*it);
          ttl = std::min(ttl, records_[*it].ttl);
        }
      if (t) json.raw(",\n");
      json.key(3, rr_type_name(types[t]));
      std::size_t depth = 3;
      if (ttl != default_ttl_) {
        json.raw("{\n");
        json.key(4, "ttl");
        json.number(ttl);
        json.raw(",\n");
        json.key(4, "data");
        depth = 4;
      }
      auto text = [&](uint32_t r) { return std::string_view(texts_).substr(records_[r].text_at, records_[r].text_size); };
      if (set.size() == 1) {
        json.string(text(set.front()));
      } else {
        json.raw("[\n");
        for (std::size_t i = 0; i < set.size(); ++i) {
          if (i) json.raw(",\n");
          json.indent((depth + 1) * 2);
          json.string(text(set[i]));
        }
        json.raw("\n");
        json.indent(depth * 2);
        json.raw("]");
      }
      if (depth == 4) json.raw("\n      }");
    }
    json.raw("\n    }");
  }
  json.raw("\n  }\n}");
}

nlohmann::ordered_json import_master_file(const std::string& path, const std::string& origin,
                                          config::Diagnostics& diagnostics) {
  const ImportedZone zone = read_master_file(path, origin, diagnostics);
  std::ostringstream text;
  zone.write_json(text);
  return nlohmann::ordered_json::parse(text.str());
}

}  // namespace meridian::zone
