// The signatures of dynamic answers (a service's A or AAAA records for a name),
// found by content: owner, type and the addresses in canonical order. Built with
// each routing table for every answer it can give (runtime/zone_signing.cpp,
// which keeps the signatures across tables, so a set signed once is not signed
// again); the query path sorts the addresses it wrote and looks them up here.
#pragma once
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>

#include "zone/name_index.hpp"
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

  // Building: the set's key must be key(); no two sets with one key.
  void add(SignedRRset set) { sets_.push_back(std::move(set)); }
  void build_index() {
    index_.reserve(sets_.size());
    for (const SignedRRset& set : sets_) index_.insert(&set);
  }
  std::size_t size() const { return sets_.size(); }

  // addresses: `count` pointers to `length`-byte addresses, sorted. No allocation.
  const SignedRRset* find(std::string_view owner, uint16_t type, const uint8_t* const* addresses, std::size_t count,
                          std::size_t length) const {
    char key[255 + 2 + kMaxAddresses * 16];
    if (owner.size() > 255 || count > kMaxAddresses || length > 16 || sets_.empty()) return nullptr;
    std::memcpy(key, owner.data(), owner.size());
    std::size_t at = owner.size();
    key[at++] = static_cast<char>(type >> 8);
    key[at++] = static_cast<char>(type & 0xFF);
    for (std::size_t i = 0; i < count; ++i, at += length) std::memcpy(key + at, addresses[i], length);
    return index_.find({key, at});
  }

 private:
  std::deque<SignedRRset> sets_;
  NameIndex<SignedRRset> index_;
};

}  // namespace meridian::zone
