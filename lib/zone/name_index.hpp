// A read-only open-addressing index from lower-case wire names to objects, built once
// when a zone (or the zone set) is complete. The query path does one or two lookups
// per query; std::unordered_map costs a hash of std::string plus a chain of scattered
// nodes, this costs one probe into a contiguous array of 16-byte slots that carry
// the full 64-bit hash, so a miss rarely touches an object and a hit touches it once
// (a zone's objects are node heads, which hold their names inline).
// T must keep the bytes of index_name() at a fixed address while indexed.
#pragma once
#include <cstdint>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

namespace meridian::zone {

inline uint64_t load_u64(const char* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t load_u32(const char* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// The bytes past the last whole 8-byte step, read with fixed-size loads that may
// overlap bytes already hashed (a copy of variable length would be a libc call).
inline uint64_t hash_tail(const char* p, std::size_t n, std::size_t total) noexcept {
  if (total >= 8) return load_u64(p + n - 8);
  if (n >= 4) return load_u32(p) | load_u32(p + n - 4) << 32;
  return static_cast<uint64_t>(static_cast<uint8_t>(p[0])) | static_cast<uint64_t>(static_cast<uint8_t>(p[n / 2])) << 8 |
         static_cast<uint64_t>(static_cast<uint8_t>(p[n - 1])) << 16;
}

// 64-bit hash of a byte string, 8 bytes per step (multiply-xor, in the spirit of
// wyhash/FxHash); names are at most 255 bytes, so speed matters more than strength.
inline uint64_t hash_name(std::string_view s) noexcept {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h = 0xA0761D6478BD642Full ^ (s.size() * kMul);
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    h = (h ^ load_u64(p)) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  if (n) {
    h = (h ^ hash_tail(p, n, s.size())) * kMul;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

// Equality of two byte strings of length n, 8 bytes at a time; names are short,
// and an inline loop beats the call into libc's memcmp for them.
inline bool same_bytes(const char* a, const char* b, std::size_t n) noexcept {
  if (n >= 8) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
      if (load_u64(a + i) != load_u64(b + i)) return false;
    return i == n || load_u64(a + n - 8) == load_u64(b + n - 8);
  }
  if (n >= 4) return load_u32(a) == load_u32(b) && load_u32(a + n - 4) == load_u32(b + n - 4);
  for (std::size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

// T must expose `std::string_view index_name() const` (its lower-case wire name).
// With kRoom > 0 every slot also has a room of kRoom bytes, in an array parallel
// to the slots, where an object may be built in place (room_for): a lookup asks
// for the home slot's room while it reads the slot, so an object living in its
// home room costs one memory round trip instead of two (slot, then object).
template <typename T, std::size_t kRoom = 0>
class NameIndex {
 public:
  // Sizes the table for `count` objects, so that it never grows (and rooms never
  // move) while they are added.
  void reserve(std::size_t count) {
    std::size_t size = 16;
    while (size < count * 2) size *= 2;
    if (size > slots_.size()) resize(size);
  }

  // The room of the slot that insert() will give an object named `name` next
  // (rooms only; call reserve() first). Build the object there, then insert it.
  void* room_for(std::string_view name) noexcept {
    static_assert(kRoom > 0, "an index without rooms");
    return &rooms_[free_slot(hash_name(name))];
  }

  // Adds an object whose name is not in the index yet; it must outlive the index
  // and not move. Amortised O(1): the table doubles when half full.
  void insert(const T* object) {
    if ((count_ + 1) * 2 > slots_.size()) resize(slots_.empty() ? 16 : slots_.size() * 2);
    place({hash_name(object->index_name()), object});
    ++count_;
  }

  const T* find(std::string_view name) const noexcept {
    if (slots_.empty()) return nullptr;
    const uint64_t h = hash_name(name);
    std::size_t i = h & mask_;
    if constexpr (kRoom > 0) {
      for (std::size_t line = 0; line < kRoom; line += 64) __builtin_prefetch(rooms_[i].bytes + line);
    }
    for (;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.object) return nullptr;
      if (s.hash != h) continue;
      const std::string_view found = s.object->index_name();
      if (found.size() == name.size() && same_bytes(found.data(), name.data(), name.size())) return s.object;
    }
  }

  bool built() const noexcept { return !slots_.empty(); }
  std::size_t size() const noexcept { return count_; }
  std::size_t bytes() const noexcept { return slots_.size() * sizeof(Slot) + rooms_.size() * sizeof(Room); }
  static constexpr std::size_t room_size() { return kRoom; }

 private:
  struct Slot {
    uint64_t hash = 0;
    const T* object = nullptr;
  };
  struct alignas(64) Room {
    std::byte bytes[kRoom > 0 ? kRoom : 1];
  };

  std::size_t free_slot(uint64_t hash) const noexcept {
    std::size_t i = hash & mask_;
    while (slots_[i].object) i = (i + 1) & mask_;
    return i;
  }

  void place(const Slot& slot) { slots_[free_slot(slot.hash)] = slot; }

  void resize(std::size_t size) {
    // Objects built in rooms would be left behind: such an index is sized once.
    if constexpr (kRoom > 0) {
      if (count_ > 0) std::abort();
      rooms_.assign(size, Room{});
    }
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(size, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old)
      if (s.object) place(s);
  }

  std::vector<Slot> slots_;
  std::vector<Room> rooms_;  // kRoom > 0: rooms_[i] belongs to slots_[i]
  std::size_t mask_ = 0;
  std::size_t count_ = 0;
};

}  // namespace meridian::zone
