// The query path's name index: every inserted name is found, names not inserted
// are not (including ones that differ in one byte or in length), and growth keeps
// everything reachable.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <new>
#include <set>
#include <string>

#include "zone/name_index.hpp"

using meridian::zone::hash_name;
using meridian::zone::NameIndex;

namespace {

struct Named {
  std::string name;
  std::string_view index_name() const { return name; }
};

std::string wire(const std::string& dotted) {
  std::string out;
  std::size_t start = 0;
  while (start < dotted.size()) {
    const std::size_t dot = dotted.find('.', start);
    const std::size_t end = dot == std::string::npos ? dotted.size() : dot;
    out.push_back(static_cast<char>(end - start));
    out.append(dotted, start, end - start);
    start = end + 1;
  }
  out.push_back('\0');
  return out;
}

}  // namespace

TEST_SUITE("zone.name_index") {
  TEST_CASE("an empty index finds nothing") {
    NameIndex<Named> index;
    CHECK_FALSE(index.built());
    CHECK(index.find(wire("example.com")) == nullptr);
  }

  TEST_CASE("every inserted name is found, through several growths, and others are not") {
    std::deque<Named> objects;  // stable addresses
    NameIndex<Named> index;
    for (int i = 0; i < 5000; ++i) {
      objects.push_back({wire("host" + std::to_string(i) + ".example.com")});
      index.insert(&objects.back());
    }
    CHECK(index.size() == 5000);
    for (const Named& o : objects) CHECK(index.find(o.name) == &o);
    // One byte off, one label more or less, a different length: all misses.
    CHECK(index.find(wire("host5000.example.com")) == nullptr);
    CHECK(index.find(wire("hosu1.example.com")) == nullptr);
    CHECK(index.find(wire("x.host1.example.com")) == nullptr);
    CHECK(index.find(wire("example.com")) == nullptr);
    CHECK(index.find("") == nullptr);
  }

  TEST_CASE("names of every length up to 255 bytes, and names differing only near their end") {
    // Lengths on both sides of every 8-byte and 4-byte step of the hash and the compare.
    std::deque<Named> objects;
    NameIndex<Named> index;
    for (std::size_t len = 1; len <= 63; ++len)
      for (char last : {'a', 'b'}) {
        std::string label(len, 'x');
        label.back() = last;
        objects.push_back({wire(label + ".example.com")});  // 14..76 wire bytes
        index.insert(&objects.back());
      }
    objects.push_back({wire(std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(63, 'c') + "." +
                            std::string(61, 'd'))});  // 255 bytes
    index.insert(&objects.back());
    for (const Named& o : objects) CHECK(index.find(o.name) == &o);
    for (std::size_t len = 1; len <= 63; ++len) CHECK(index.find(wire(std::string(len, 'x') + "c.example.com")) == nullptr);
    std::string near = objects.back().name;
    near[near.size() - 2] = 'e';
    CHECK(index.find(near) == nullptr);
  }

  TEST_CASE("the hash depends on every byte and on the length") {
    // Every length, so that each way of reading the last bytes is covered.
    for (std::size_t length = 1; length <= 40; ++length) {
      CAPTURE(length);
      std::set<uint64_t> seen;
      std::string name(length, 'a');
      seen.insert(hash_name(name));
      for (std::size_t i = 0; i < name.size(); ++i) {
        std::string changed = name;
        changed[i] = 'b';
        CHECK(seen.insert(hash_name(changed)).second);
      }
    }
    // Trailing zero bytes must not collide with the shorter string.
    CHECK(hash_name(std::string("ab", 2)) != hash_name(std::string("ab\0", 3)));
    CHECK(hash_name(std::string(8, '\0')) != hash_name(std::string(9, '\0')));
  }

  TEST_CASE("byte comparison: equal strings, and a difference at any position") {
    for (std::size_t length = 0; length <= 40; ++length) {
      CAPTURE(length);
      const std::string a(length, 'x');
      CHECK(meridian::zone::same_bytes(a.data(), std::string(a).data(), length));
      for (std::size_t i = 0; i < length; ++i) {
        std::string b = a;
        b[i] = 'y';
        CHECK_FALSE(meridian::zone::same_bytes(a.data(), b.data(), length));
      }
    }
  }
}

TEST_SUITE("zone.name_index.rooms") {
  // An object that lives in the index's own room: its name inline after a length byte.
  struct InRoom {
    uint8_t length;
    std::string_view index_name() const { return {reinterpret_cast<const char*>(this + 1), length}; }
  };

  TEST_CASE("objects built in their rooms are found there; names left out are not") {
    NameIndex<InRoom, 64> index;
    index.reserve(3000);
    std::set<const void*> rooms;
    for (int i = 0; i < 3000; ++i) {
      const std::string name = wire("host" + std::to_string(i) + ".example.com");
      if (i % 10 == 9) continue;  // left out
      void* room = index.room_for(name);
      REQUIRE(sizeof(InRoom) + name.size() <= 64);
      CHECK(rooms.insert(room).second);  // a room is handed out once
      CHECK(reinterpret_cast<std::uintptr_t>(room) % 64 == 0);
      auto* object = new (room) InRoom{static_cast<uint8_t>(name.size())};
      std::memcpy(object + 1, name.data(), name.size());
      index.insert(object);
      CHECK(index.find(name) == object);  // placed in the very slot whose room it took
    }
    CHECK(index.size() == 2700);
    for (int i = 0; i < 3000; ++i) {
      const std::string name = wire("host" + std::to_string(i) + ".example.com");
      const InRoom* found = index.find(name);
      if (i % 10 == 9) {
        CHECK(found == nullptr);
      } else {
        REQUIRE(found != nullptr);
        CHECK(found->index_name() == name);
        CHECK(rooms.count(found) == 1);
      }
    }
    CHECK(index.find(wire("host3000.example.com")) == nullptr);
  }
}
