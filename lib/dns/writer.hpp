// Builds a DNS message into a caller-owned buffer: name compression (RFC 1035 4.1.4)
// over every name written, section counts, and rollback to a mark so a record set
// that does not fit the size limit can be removed whole. Never allocates.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "dns/constants.hpp"

namespace meridian::dns {

enum class Section { answer = 0, authority = 1, additional = 2 };

// Precompiled records (see put_image) carry two lists, packed 3 bytes an entry
// (offset, little-endian 16 bits, then one byte): the places in the image that
// hold a compression pointer to fill in (byte: which target), and the names written
// out in full that later names may point to (byte: labels from there to the root).
inline constexpr std::size_t kImageEntrySize = 3;
inline void put_image_entry(std::string& out, uint16_t at, uint8_t value) {
  out.push_back(static_cast<char>(at & 0xFF));
  out.push_back(static_cast<char>(at >> 8));
  out.push_back(static_cast<char>(value));
}

class MessageWriter {
 public:
  struct Mark {
    std::size_t pos;
    unsigned entries;
    uint16_t counts[3];
  };

  // buffer must hold at least capacity bytes; limit is the size the message may reach.
  MessageWriter(uint8_t* buffer, std::size_t capacity) : buf_(buffer), capacity_(capacity), limit_(capacity) {}

  void set_limit(std::size_t limit) { limit_ = limit < capacity_ ? limit : capacity_; }
  std::size_t limit() const { return limit_; }
  std::size_t size() const { return pos_; }
  uint8_t* data() { return buf_; }

  // Header plus the question copied verbatim (client's case preserved), with
  // compression entries registered for the question name. query may be the
  // writer's own buffer (answering in place): then nothing is copied.
  void start(const uint8_t* query, std::size_t question_end, uint16_t flags);
  void set_flags(uint16_t flags) { write_u16(buf_ + 2, flags); }
  uint16_t flags() const { return read_u16(buf_ + 2); }
  void set_rcode(uint16_t rcode);  // low 4 bits into the header

  Mark mark() const { return {pos_, entries_, {counts_[0], counts_[1], counts_[2]}}; }
  void rollback(const Mark& m);

  // Writes a name (uncompressed wire form, any case), compressing against names
  // already in the message. False when it would pass the limit.
  bool put_name(std::string_view wire, bool compress = true);
  // Copies precompiled records and fills in their pointers: a patch gets
  // targets[its byte], an offset already in the message (below 0x4000).
  // The image's full names become compression targets. False when it would pass the limit.
  bool put_image(const uint8_t* image, std::size_t size, const uint8_t* patches, std::size_t patch_count,
                 const uint8_t* names, std::size_t name_count, const uint16_t* targets);
  // Offset of the name (uncompressed wire form, any case) where the message already
  // holds it in full, for an owner pointer; 0 when it does not.
  uint16_t find_name(std::string_view wire) const;
  bool put_bytes(const void* p, std::size_t n) {
    if (pos_ + n > limit_) return false;
    std::memcpy(buf_ + pos_, p, n);
    pos_ += n;
    return true;
  }
  bool put_u16(uint16_t v) {
    if (pos_ + 2 > limit_) return false;
    write_u16(buf_ + pos_, v);
    pos_ += 2;
    return true;
  }
  bool put_u32(uint32_t v) {
    if (pos_ + 4 > limit_) return false;
    write_u32(buf_ + pos_, v);
    pos_ += 4;
    return true;
  }
  // Patches a 16-bit value written earlier.
  void patch_u16(std::size_t at, uint16_t v) { write_u16(buf_ + at, v); }

  // Counts one more record in a section; finish() stores the counts in the header.
  void count(Section s) { ++counts_[static_cast<int>(s)]; }
  uint16_t section_count(Section s) const { return counts_[static_cast<int>(s)]; }
  void finish();

  // Offset of the question name, for owner names equal to it (always 12).
  static constexpr std::size_t kQuestionNameOffset = kHeaderSize;

 private:
  struct Entry {
    uint16_t offset;  // where a label sequence starts in the message
    uint8_t labels;   // labels from there to the root
  };
  static constexpr unsigned kMaxEntries = 96;

  bool suffix_matches(std::size_t offset, const uint8_t* name) const;
  void add_entry(std::size_t offset, unsigned labels);

  uint8_t* buf_;
  std::size_t capacity_;
  std::size_t limit_;
  std::size_t pos_ = 0;
  uint16_t counts_[3] = {0, 0, 0};
  unsigned entries_ = 0;
  Entry entry_[kMaxEntries];
};

}  // namespace meridian::dns
