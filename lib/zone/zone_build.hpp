// A zone while a loader fills it (loading only): every name in one byte pool and
// every record in one array, with their rdata in a second pool, so a zone of a
// million names costs a handful of large blocks instead of millions of small
// heap objects. Names get dense ids in the order they are first seen; each name
// chains its records in the order they were added. Zone::finalize() compiles this
// into the query-path layout (node_head.hpp) and drops it.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace meridian::zone {

// One record as a reader makes it.
struct Rdata {
  std::string wire;  // uncompressed rdata as it goes on the wire
  // Embedded names that may be compressed (RFC 3597 section 4: only the RFC 1035
  // types NS, CNAME, SOA, PTR, MX ...); offsets into wire.
  uint8_t compressible_count = 0;
  uint16_t compressible_at[2] = {0, 0};
  // NS/MX/SRV target for additional-section processing.
  uint16_t target_at = 0;
  bool has_target = false;

  std::string_view target() const;
};

// A stored record's rdata and the offsets that go with it (a view into the pool).
struct RdataRef {
  std::string_view wire;
  uint8_t compressible_count = 0;
  uint16_t compressible_at[2] = {0, 0};
  uint16_t target_at = 0;
  bool has_target = false;
};

class ZoneBuild {
 public:
  using NameId = uint32_t;
  static constexpr NameId kNoName = 0xFFFFFFFF;

  explicit ZoneBuild(std::string_view origin);

  // Sizes the pools and the index for about `names` names.
  void reserve(std::size_t names);
  // The id of a name at or below the origin, created (with the empty
  // non-terminals up to the apex, RFC 4592 2.2.2) when new. kNoName when the
  // pools are full (4 GB of names). The apex is id 0.
  NameId name_for(std::string_view lower_wire_name);
  NameId find(std::string_view lower_wire_name) const;
  std::size_t size() const { return names_.size(); }
  // Valid until the next name_for().
  std::string_view name(NameId id) const { return {name_bytes_.data() + names_[id].at, names_[id].length}; }

  // The records of a name.
  bool has(NameId id, uint16_t type) const;
  std::size_t count(NameId id, uint16_t type) const;
  std::size_t type_count(NameId id) const;  // distinct types
  bool has_record(NameId id, uint16_t type, std::string_view wire) const;
  bool has_records(NameId id) const { return names_[id].first != kNoRecord; }
  // No records and no service: an empty non-terminal.
  bool empty(NameId id) const { return !has_records(id) && names_[id].service == 0; }

  enum class Added { kAdded, kDuplicate, kFull };
  // Adds a record; an RRset takes the TTL of its first record. Identical records
  // in an RRset are kept once (RFC 2181 section 5): kDuplicate. kFull when the
  // pools would pass 4 GB.
  Added add(NameId id, uint16_t type, uint32_t ttl, const Rdata& rdata);
  // Removes the RRsets whose type keep(type) rejects, calling dropped(type) once
  // per RRset removed (in the order the types were first added).
  template <typename Keep, typename Dropped> void drop(NameId id, Keep keep, Dropped dropped);
  // Every record with TTL `from` gets `to` (a TTL given later in the file).
  void replace_ttl(uint32_t from, uint32_t to);

  // A dynamic name's service (empty: a static name).
  void set_service(NameId id, std::string_view service);
  std::string_view service(NameId id) const;
  const std::vector<std::string>& service_names() const { return services_; }
  bool too_many_services() const { return too_many_services_; }
  uint16_t service_number(NameId id) const { return names_[id].service; }  // 1 + index into service_names()

  // For the compiler: the records of a name, grouped by type in ascending type
  // order and in the order they were added within a type. f(type, ttl, const
  // std::vector<RdataRef>& records); `scratch` is reused between calls.
  template <typename F> void for_each_rrset(NameId id, F&& f, std::vector<uint32_t>& scratch,
                                            std::vector<RdataRef>& refs) const;
  RdataRef rdata(uint32_t record) const;

  // The index of names is needed no more (the compiler reads names by id):
  // freed before the compiled form is allocated, which lowers the peak.
  void release_index();
  // The compiler hands the build form back to the system as it goes, so that the
  // build form and the compiled zone are never both whole in memory: after
  // begin_release(), release_before(id) returns the pages that hold only the
  // names before `id` and their records. Those read as zeros afterwards, so
  // nothing about a name before `id` may be asked again.
  void begin_release();
  void release_before(NameId id);

 private:
  static constexpr uint32_t kNoRecord = 0xFFFFFFFF;
  struct Name {
    uint32_t at;          // into name_bytes_
    uint8_t length;
    uint8_t unused = 0;
    uint16_t service = 0;  // 1 + index into services_; 0: none
    uint32_t first = kNoRecord, last = kNoRecord;  // the record chain
  };
  struct Record {
    uint32_t wire_at;  // into wire_bytes_
    uint32_t next = kNoRecord;
    uint32_t ttl;
    uint16_t type;
    uint16_t wire_length;
    uint16_t compressible_at[2];
    uint16_t target_at;
    uint8_t compressible_count;
    uint8_t has_target;
  };
  struct Slot {
    uint32_t id = kNoName;
    uint32_t hash = 0;  // the high half of the name's hash
  };
  NameId insert(std::string_view name, uint64_t hash);
  std::size_t slot_of(std::string_view name, uint64_t hash) const;
  void grow_index(std::size_t slots);  // a power of two

  std::size_t origin_length_;
  std::string name_bytes_;
  std::vector<Name> names_;
  std::vector<Slot> index_;
  std::size_t mask_ = 0;
  std::string wire_bytes_;
  std::vector<Record> records_;
  std::vector<std::string> services_;
  std::unordered_map<std::string, uint16_t> service_numbers_;  // name -> 1 + index
  // Releasing: the lowest record index held by any name from id on, and how many
  // bytes of each pool were handed back already.
  std::vector<uint32_t> first_record_from_;
  std::size_t released_names_ = 0, released_name_bytes_ = 0, released_records_ = 0, released_wire_ = 0;
  bool too_many_services_ = false;
};

template <typename Keep, typename Dropped> void ZoneBuild::drop(NameId id, Keep keep, Dropped dropped) {
  Name& n = names_[id];
  std::vector<uint16_t> types;  // rejected, in the order first added (drops are rare: cuts and glue)
  uint32_t* link = &n.first;
  n.last = kNoRecord;
  for (uint32_t r = n.first; r != kNoRecord;) {
    const uint32_t next = records_[r].next;
    const uint16_t type = records_[r].type;
    if (keep(type)) {
      n.last = r;
      link = &records_[r].next;
    } else {
      *link = next;
      if (std::find(types.begin(), types.end(), type) == types.end()) types.push_back(type);
    }
    r = next;
  }
  for (const uint16_t type : types) dropped(type);
}

template <typename F> void ZoneBuild::for_each_rrset(NameId id, F&& f, std::vector<uint32_t>& scratch,
                                                     std::vector<RdataRef>& refs) const {
  scratch.clear();
  for (uint32_t r = names_[id].first; r != kNoRecord; r = records_[r].next) scratch.push_back(r);
  // Few records per name: an insertion sort by type keeps the added order within a type.
  for (std::size_t i = 1; i < scratch.size(); ++i) {
    const uint32_t moving = scratch[i];
    std::size_t j = i;
    for (; j > 0 && records_[scratch[j - 1]].type > records_[moving].type; --j) scratch[j] = scratch[j - 1];
    scratch[j] = moving;
  }
  for (std::size_t i = 0; i < scratch.size();) {
    const Record& first = records_[scratch[i]];
    refs.clear();
    std::size_t j = i;
    for (; j < scratch.size() && records_[scratch[j]].type == first.type; ++j) refs.push_back(rdata(scratch[j]));
    f(first.type, first.ttl, refs);
    i = j;
  }
}

}  // namespace meridian::zone
