#include "zone/zone_build.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include "dns/name.hpp"
#include "zone/name_index.hpp"

namespace meridian::zone {

std::string_view Rdata::target() const {
  if (!has_target) return {};
  const std::string_view rest = std::string_view(wire).substr(target_at);
  return rest.substr(0, dns::wire_name_length(reinterpret_cast<const uint8_t*>(rest.data()), rest.size()));
}

ZoneBuild::ZoneBuild(std::string_view origin) : origin_length_(origin.size()) {
  index_.assign(16, Slot{});
  mask_ = index_.size() - 1;
  insert(origin, hash_name(origin));
}

void ZoneBuild::reserve(std::size_t names) {
  // Generous: pages reserved but never written cost address space, not memory,
  // and a pool that outgrows its reservation is copied whole.
  names_.reserve(names);
  name_bytes_.reserve(names * 32);
  records_.reserve(names * 2);
  wire_bytes_.reserve(names * 24);
  std::size_t slots = index_.size();
  while (slots < names * 2) slots *= 2;
  if (slots > index_.size()) grow_index(slots);
}

std::size_t ZoneBuild::slot_of(std::string_view name, uint64_t hash) const {
  const auto high = static_cast<uint32_t>(hash >> 32);
  for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& s = index_[i];
    if (s.id == kNoName) return i;
    if (s.hash != high) continue;
    const Name& n = names_[s.id];
    if (n.length == name.size() && same_bytes(name_bytes_.data() + n.at, name.data(), name.size())) return i;
  }
}

void ZoneBuild::grow_index(std::size_t slots) {
  std::vector<Slot> old(slots);
  old.swap(index_);
  mask_ = index_.size() - 1;
  for (const Slot& s : old) {
    if (s.id == kNoName) continue;
    const Name& n = names_[s.id];
    const uint64_t hash = hash_name({name_bytes_.data() + n.at, n.length});
    std::size_t i = hash & mask_;
    while (index_[i].id != kNoName) i = (i + 1) & mask_;
    index_[i] = s;
  }
}

ZoneBuild::NameId ZoneBuild::insert(std::string_view name, uint64_t hash) {
  if (name_bytes_.size() + name.size() > 0xFFFFFFFFu || names_.size() >= kNoName - 1) return kNoName;
  if ((names_.size() + 1) * 2 > index_.size()) grow_index(index_.size() * 2);
  const auto id = static_cast<NameId>(names_.size());
  names_.push_back(Name{static_cast<uint32_t>(name_bytes_.size()), static_cast<uint8_t>(name.size())});
  name_bytes_.append(name);
  std::size_t i = hash & mask_;
  while (index_[i].id != kNoName) i = (i + 1) & mask_;
  index_[i] = Slot{id, static_cast<uint32_t>(hash >> 32)};
  return id;
}

ZoneBuild::NameId ZoneBuild::find(std::string_view lower_wire_name) const {
  if (index_.empty()) return kNoName;  // released
  return index_[slot_of(lower_wire_name, hash_name(lower_wire_name))].id;
}

ZoneBuild::NameId ZoneBuild::name_for(std::string_view lower_wire_name) {
  if (index_.empty()) return kNoName;  // released: the zone is being compiled
  const uint64_t hash = hash_name(lower_wire_name);
  const NameId found = index_[slot_of(lower_wire_name, hash)].id;
  if (found != kNoName) return found;
  const NameId id = insert(lower_wire_name, hash);
  if (id == kNoName) return kNoName;
  // Ancestors up to the apex exist as empty non-terminals (RFC 4592 2.2.2).
  for (std::string_view parent = dns::parent_name(lower_wire_name); parent.size() > origin_length_;
       parent = dns::parent_name(parent)) {
    const uint64_t h = hash_name(parent);
    if (index_[slot_of(parent, h)].id != kNoName) break;
    if (insert(parent, h) == kNoName) return kNoName;
  }
  return id;
}

bool ZoneBuild::has(NameId id, uint16_t type) const {
  for (uint32_t r = names_[id].first; r != kNoRecord; r = records_[r].next)
    if (records_[r].type == type) return true;
  return false;
}

std::size_t ZoneBuild::count(NameId id, uint16_t type) const {
  std::size_t n = 0;
  for (uint32_t r = names_[id].first; r != kNoRecord; r = records_[r].next) n += records_[r].type == type;
  return n;
}

std::size_t ZoneBuild::type_count(NameId id) const {
  std::size_t n = 0;
  for (uint32_t r = names_[id].first; r != kNoRecord; r = records_[r].next) {
    bool earlier = false;
    for (uint32_t e = names_[id].first; e != r && !earlier; e = records_[e].next) earlier = records_[e].type == records_[r].type;
    n += !earlier;
  }
  return n;
}

bool ZoneBuild::has_record(NameId id, uint16_t type, std::string_view wire) const {
  for (uint32_t r = names_[id].first; r != kNoRecord; r = records_[r].next) {
    const Record& rec = records_[r];
    if (rec.type == type && std::string_view(wire_bytes_).substr(rec.wire_at, rec.wire_length) == wire) return true;
  }
  return false;
}

RdataRef ZoneBuild::rdata(uint32_t record) const {
  const Record& r = records_[record];
  RdataRef ref;
  ref.wire = std::string_view(wire_bytes_).substr(r.wire_at, r.wire_length);
  ref.compressible_count = r.compressible_count;
  ref.compressible_at[0] = r.compressible_at[0];
  ref.compressible_at[1] = r.compressible_at[1];
  ref.target_at = r.target_at;
  ref.has_target = r.has_target != 0;
  return ref;
}

ZoneBuild::Added ZoneBuild::add(NameId id, uint16_t type, uint32_t ttl, const Rdata& rdata) {
  Name& n = names_[id];
  uint32_t rrset_ttl = ttl;
  bool rrset_seen = false;
  for (uint32_t r = n.first; r != kNoRecord; r = records_[r].next) {
    const Record& rec = records_[r];
    if (rec.type != type) continue;
    if (!rrset_seen) rrset_ttl = rec.ttl;
    rrset_seen = true;
    if (std::string_view(wire_bytes_).substr(rec.wire_at, rec.wire_length) == rdata.wire) return Added::kDuplicate;
  }
  if (rdata.wire.size() > 0xFFFF || wire_bytes_.size() + rdata.wire.size() > 0xFFFFFFFFu ||
      records_.size() >= kNoRecord - 1)
    return Added::kFull;
  Record rec{};
  rec.wire_at = static_cast<uint32_t>(wire_bytes_.size());
  rec.next = kNoRecord;
  rec.ttl = rrset_ttl;  // every record of an RRset carries the RRset's TTL
  rec.type = type;
  rec.wire_length = static_cast<uint16_t>(rdata.wire.size());
  rec.compressible_at[0] = rdata.compressible_at[0];
  rec.compressible_at[1] = rdata.compressible_at[1];
  rec.target_at = rdata.target_at;
  rec.compressible_count = rdata.compressible_count;
  rec.has_target = rdata.has_target;
  wire_bytes_.append(rdata.wire);
  const auto at = static_cast<uint32_t>(records_.size());
  records_.push_back(rec);
  if (n.last == kNoRecord) n.first = at;
  else records_[n.last].next = at;
  n.last = at;
  return Added::kAdded;
}

void ZoneBuild::replace_ttl(uint32_t from, uint32_t to) {
  for (Record& r : records_)
    if (r.ttl == from) r.ttl = to;
}

void ZoneBuild::set_service(NameId id, std::string_view service) {
  auto [it, added] = service_numbers_.try_emplace(std::string(service), static_cast<uint16_t>(services_.size() + 1));
  if (added) {
    if (services_.size() >= 0xFFFE) {  // NodeHead::service_name is 16 bits
      service_numbers_.erase(it);
      too_many_services_ = true;
      return;
    }
    services_.emplace_back(service);
  }
  names_[id].service = it->second;
}

std::string_view ZoneBuild::service(NameId id) const {
  return names_[id].service ? std::string_view(services_[names_[id].service - 1u]) : std::string_view();
}

void ZoneBuild::release_index() {
  std::vector<Slot>().swap(index_);
  mask_ = 0;
}

namespace {

// Hands back the whole pages of [begin + released, begin + done): the block
// stays allocated (its first and last partial pages, with the allocator's
// bookkeeping around them, are kept) and those pages read as zeros again.
void return_pages(const void* begin, std::size_t done, std::size_t& released) {
  if (done <= released) return;
  static const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto base = reinterpret_cast<std::uintptr_t>(begin);
  const std::uintptr_t from = (base + released + page - 1) / page * page;
  const std::uintptr_t to = (base + done) / page * page;
  if (to > from && ::madvise(reinterpret_cast<void*>(from), to - from, MADV_DONTNEED) == 0) released = to - base;
}

}  // namespace

void ZoneBuild::begin_release() {
  first_record_from_.assign(names_.size() + 1, kNoRecord);
  first_record_from_.back() = static_cast<uint32_t>(records_.size());
  for (std::size_t id = names_.size(); id-- > 0;)
    first_record_from_[id] = std::min(first_record_from_[id + 1], names_[id].first);
}

void ZoneBuild::release_before(NameId id) {
  if (first_record_from_.size() != names_.size() + 1 || id > names_.size()) return;
  // Names get their bytes in id order, and records theirs in record order.
  const std::size_t name_bytes_done = id < names_.size() ? names_[id].at : name_bytes_.size();
  const uint32_t record = first_record_from_[id];
  const std::size_t wire_done = record < records_.size() ? records_[record].wire_at : wire_bytes_.size();
  return_pages(names_.data(), id * sizeof(Name), released_names_);
  return_pages(name_bytes_.data(), name_bytes_done, released_name_bytes_);
  return_pages(records_.data(), std::min<std::size_t>(record, records_.size()) * sizeof(Record), released_records_);
  return_pages(wire_bytes_.data(), wire_done, released_wire_);
}

}  // namespace meridian::zone
