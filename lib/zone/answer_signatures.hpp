// The signatures of dynamic answers (a service's A or AAAA records for a name),
// keyed by content (owner, type and the addresses in canonical order). Built with
// each routing table for every answer it can give (runtime/zone_signing.cpp,
// which keeps the signatures across tables, so a set signed once is not signed
// again); the query path looks an answer up by who routing wrote it for (node,
// region, family, pool, positions: Identity), without reading the records back.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "zone/zone_signatures.hpp"

namespace meridian::zone {

class AnswerSignatures {
 public:
  static constexpr std::size_t kMaxAddresses = 64;  // as routing answers at most

  // The key of an answer: owner + type + each address (sorted, 4 or 16 bytes each).
  static std::string key(std::string_view owner, uint16_t type, std::string_view sorted_addresses) {
    std::string k(owner);
    k.push_back(static_cast<char>(type >> 8));
    k.push_back(static_cast<char>(type & 0xFF));
    k.append(sorted_addresses);
    return k;
  }

  // Who routing writes an answer for: the dynamic node, and the endpoints it wrote
  // (routing::RouteResult: region, pool, positions in the pool) for a family.
  struct Identity {
    const void* node = nullptr;
    uint64_t positions = 0;
    uint32_t region = 0;
    bool all_pool = false;
    bool v4 = false;
    bool operator==(const Identity&) const = default;
  };

  // Building: the set's key must be key(); no two sets with one key. The set
  // stays where it is (the pointer returned) for as long as this object.
  const SignedRRset* add(SignedRRset set) { return &sets_.emplace_back(std::move(set)); }
  // One more identity under which set (added here) is found.
  void add_identity(const Identity& id, const SignedRRset* set) { identities_.push_back({id, set}); }
  void build_index() {
    // Open addressing, at most half full, so a probe ends at an empty slot soon.
    std::size_t slots = 1;
    while (slots < identities_.size() * 2) slots <<= 1;
    by_identity_.assign(slots, {});
    for (const auto& entry : identities_) {
      std::size_t at = hash(entry.id) & (slots - 1);
      while (by_identity_[at].set) at = (at + 1) & (slots - 1);
      by_identity_[at] = entry;
    }
    identities_.clear();
    identities_.shrink_to_fit();
  }
  std::size_t size() const { return sets_.size(); }

  // The set routing wrote for id (built with the table that answered). No allocation.
  const SignedRRset* find(const Identity& id) const {
    if (by_identity_.empty()) return nullptr;
    const std::size_t mask = by_identity_.size() - 1;
    for (std::size_t at = hash(id) & mask; by_identity_[at].set; at = (at + 1) & mask)
      if (by_identity_[at].id == id) return by_identity_[at].set;
    return nullptr;
  }

 private:
  static std::size_t hash(const Identity& id) {
    uint64_t h = reinterpret_cast<uintptr_t>(id.node) * 0x9E3779B97F4A7C15ull;
    h ^= (id.positions + (uint64_t{id.region} << 2 | uint64_t{id.all_pool} << 1 | id.v4)) * 0xC2B2AE3D27D4EB4Full;
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
  struct IdentityEntry {
    Identity id;
    const SignedRRset* set = nullptr;
  };

  std::deque<SignedRRset> sets_;
  std::vector<IdentityEntry> identities_;   // while building
  std::vector<IdentityEntry> by_identity_;  // power-of-two slots; empty: set null
};

}  // namespace meridian::zone
