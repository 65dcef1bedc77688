#include "geo/geoip_database.hpp"

#include <maxminddb.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <cstring>
#include <unordered_map>

namespace meridian::geo {

namespace {

std::string string_at(MMDB_entry_s& entry, const char* const* path) {
  MMDB_entry_data_s data;
  if (MMDB_aget_value(&entry, &data, path) != MMDB_SUCCESS || !data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING)
    return {};
  return std::string(data.utf8_string, data.data_size);
}

bool double_at(MMDB_entry_s& entry, const char* const* path, double& out) {
  MMDB_entry_data_s data;
  if (MMDB_aget_value(&entry, &data, path) != MMDB_SUCCESS || !data.has_data) return false;
  if (data.type == MMDB_DATA_TYPE_DOUBLE) out = data.double_value;
  else if (data.type == MMDB_DATA_TYPE_FLOAT) out = data.float_value;
  else return false;
  return true;
}

uint32_t uint_at(MMDB_entry_s& entry, const char* const* path) {
  MMDB_entry_data_s data;
  if (MMDB_aget_value(&entry, &data, path) != MMDB_SUCCESS || !data.has_data) return 0;
  switch (data.type) {
    case MMDB_DATA_TYPE_UINT16: return data.uint16;
    case MMDB_DATA_TYPE_UINT32: return data.uint32;
    case MMDB_DATA_TYPE_INT32: return data.int32 < 0 ? 0 : static_cast<uint32_t>(data.int32);
    case MMDB_DATA_TYPE_UINT64: return static_cast<uint32_t>(data.uint64);
    default: return 0;
  }
}

GeoRecord decode(MMDB_entry_s entry, bool with_city_name = true) {
  static const char* const kContinent[] = {"continent", "code", nullptr};
  static const char* const kCountry[] = {"country", "iso_code", nullptr};
  static const char* const kSubdivision[] = {"subdivisions", "0", "iso_code", nullptr};
  static const char* const kCity[] = {"city", "names", "en", nullptr};
  static const char* const kAsn[] = {"autonomous_system_number", nullptr};
  static const char* const kLat[] = {"location", "latitude", nullptr};
  static const char* const kLon[] = {"location", "longitude", nullptr};
  GeoRecord r;
  r.continent = string_at(entry, kContinent);
  r.country = string_at(entry, kCountry);
  r.subdivision = string_at(entry, kSubdivision);
  if (with_city_name) r.city = string_at(entry, kCity);
  r.asn = uint_at(entry, kAsn);
  r.has_location = double_at(entry, kLat, r.latitude) && double_at(entry, kLon, r.longitude);
  return r;
}

SearchRecord search_record(uint64_t value, uint8_t type, const MMDB_entry_s& entry) {
  switch (type) {
    case MMDB_RECORD_TYPE_SEARCH_NODE: return {SearchRecord::node, static_cast<uint32_t>(value)};
    case MMDB_RECORD_TYPE_DATA: return {SearchRecord::data, entry.offset};
    default: return {};  // empty, or invalid (treated as no data, as lookups do)
  }
}

}  // namespace

GeoipDatabase::GeoipDatabase(std::string path) : path_(std::move(path)), mmdb_(std::make_unique<MMDB_s>()) {}

GeoipDatabase::~GeoipDatabase() {
  if (mmdb_) MMDB_close(mmdb_.get());
}

std::shared_ptr<const GeoipDatabase> GeoipDatabase::open(const std::string& path) {
  std::shared_ptr<GeoipDatabase> db(new GeoipDatabase(path));
  const int status = MMDB_open(path.c_str(), MMDB_MODE_MMAP, db->mmdb_.get());
  if (status != MMDB_SUCCESS) {
    db->mmdb_.reset();  // nothing to close
    config::Diagnostics d;
    d.add(path, 0, 0, std::string("cannot open MaxMind database: ") + MMDB_strerror(status));
    throw config::LoadError(std::move(d));
  }
  return db;
}

std::string GeoipDatabase::database_type() const {
  return mmdb_->metadata.database_type ? mmdb_->metadata.database_type : "";
}

bool GeoipDatabase::has_ipv6() const { return mmdb_->metadata.ip_version == 6; }

GeoLookup GeoipDatabase::lookup(int family, const uint8_t* address) const {
  sockaddr_storage ss{};
  if (family == 4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, address, 4);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, address, 16);
  }
  int error = 0;
  MMDB_lookup_result_s result = MMDB_lookup_sockaddr(mmdb_.get(), reinterpret_cast<sockaddr*>(&ss), &error);
  GeoLookup out;
  if (error != MMDB_SUCCESS) return out;
  out.prefix_len = result.netmask;
  // IPv4 in an IPv6 tree: libmaxminddb reports the prefix within ::/96.
  if (family == 4 && has_ipv6()) out.prefix_len = out.prefix_len >= 96 ? out.prefix_len - 96 : 0;
  if (!result.found_entry) return out;
  out.found = true;
  out.record = decode(result.entry);
  return out;
}

void GeoipDatabase::walk(int family, const Visitor& visit) const {
  const MMDB_s* mmdb = mmdb_.get();
  const uint64_t node_count = mmdb->metadata.node_count;
  const unsigned bits = family == 4 ? 32 : 128;
  // IPv4 lives under ::/96 of an IPv6 tree.
  uint64_t start = 0;
  if (family == 4 && has_ipv6()) {
    for (int i = 0; i < 96 && start < node_count; ++i) {
      MMDB_search_node_s node;
      if (MMDB_read_node(mmdb, static_cast<uint32_t>(start), &node) != MMDB_SUCCESS) return;
      start = node.left_record;
    }
  } else if (family == 6 && !has_ipv6()) {
    return;
  }
  std::unordered_map<uint32_t, GeoRecord> cache;  // records shared by many networks are decoded once
  uint8_t addr[16] = {};

  struct Walker {
    const MMDB_s* mmdb;
    uint64_t node_count;
    unsigned bits;
    const Visitor& visit;
    std::unordered_map<uint32_t, GeoRecord>& cache;
    uint8_t* addr;

    void record(uint64_t value, uint8_t type, const MMDB_entry_s& entry, unsigned depth) {
      if (type == MMDB_RECORD_TYPE_SEARCH_NODE) {
        if (depth < bits) node(value, depth);
      } else if (type == MMDB_RECORD_TYPE_DATA) {
        auto it = cache.find(entry.offset);
        if (it == cache.end()) it = cache.emplace(entry.offset, decode(entry)).first;
        visit(addr, depth, it->second);
      }
    }
    void node(uint64_t number, unsigned depth) {
      MMDB_search_node_s n;
      if (number >= node_count || MMDB_read_node(mmdb, static_cast<uint32_t>(number), &n) != MMDB_SUCCESS) return;
      record(n.left_record, n.left_record_type, n.left_record_entry, depth + 1);
      addr[depth >> 3] |= static_cast<uint8_t>(0x80 >> (depth & 7));
      record(n.right_record, n.right_record_type, n.right_record_entry, depth + 1);
      addr[depth >> 3] &= static_cast<uint8_t>(~(0x80 >> (depth & 7)));
    }
  };
  Walker walker{mmdb, node_count, bits, visit, cache, addr};
  if (start < node_count) walker.node(start, 0);
}

}  // namespace meridian::geo

namespace meridian::geo {

uint32_t GeoipDatabase::node_count() const { return mmdb_->metadata.node_count; }

bool GeoipDatabase::read_node(uint32_t number, SearchNode& out) const {
  MMDB_search_node_s n;
  if (number >= node_count() || MMDB_read_node(mmdb_.get(), number, &n) != MMDB_SUCCESS) return false;
  out.child[0] = search_record(n.left_record, n.left_record_type, n.left_record_entry);
  out.child[1] = search_record(n.right_record, n.right_record_type, n.right_record_entry);
  return true;
}

SearchRecord GeoipDatabase::family_root(int family) const {
  SearchRecord r{SearchRecord::node, 0};
  if (node_count() == 0) return {};
  if (!has_ipv6()) return family == 4 ? r : SearchRecord{};
  if (family == 6) return r;
  // IPv4 lives under ::/96: follow 96 zero bits (a record on the way covers it all).
  for (int depth = 0; depth < 96 && r.kind == SearchRecord::node; ++depth) {
    SearchNode n;
    if (!read_node(r.value, n)) return {};
    r = n.child[0];
  }
  return r;
}

void GeoipDatabase::release_pages() const {
  // libmaxminddb maps the whole file read-only and shared (MMDB_MODE_MMAP), page-aligned.
  if (mmdb_->file_content && mmdb_->file_size > 0)
    madvise(const_cast<uint8_t*>(mmdb_->file_content), static_cast<std::size_t>(mmdb_->file_size), MADV_DONTNEED);
}

GeoRecord GeoipDatabase::record_at(uint32_t data_offset, bool with_city_name) const {
  return decode(MMDB_entry_s{mmdb_.get(), data_offset}, with_city_name);
}

}  // namespace meridian::geo
