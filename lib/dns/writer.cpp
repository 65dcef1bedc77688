#include "dns/writer.hpp"

#include "dns/name.hpp"

namespace meridian::dns {

void MessageWriter::start(const uint8_t* query, std::size_t question_end, uint16_t flags) {
  entries_ = 0;
  counts_[0] = counts_[1] = counts_[2] = 0;
  const bool in_place = query == buf_;  // answering in the query's own buffer
  if (!in_place) std::memcpy(buf_, query, 2);  // id
  write_u16(buf_ + 2, flags);
  write_u16(buf_ + 4, question_end ? 1 : 0);
  std::memset(buf_ + 6, 0, 6);
  pos_ = kHeaderSize;
  if (question_end > kHeaderSize) {
    // The parser accepted this question, and a question's name cannot use
    // pointers (nothing precedes it), so it is a plain label sequence.
    if (!in_place) std::memcpy(buf_ + pos_, query + kHeaderSize, question_end - kHeaderSize);
    const uint8_t* name = buf_ + kHeaderSize;
    const std::size_t name_max = question_end - kHeaderSize;
    unsigned labels = 0;
    for (std::size_t i = 0; i < name_max && name[i] != 0 && name[i] <= kMaxLabelLength; i += 1 + name[i]) ++labels;
    std::size_t off = 0;
    for (unsigned remaining = labels; remaining > 0; --remaining) {
      add_entry(kHeaderSize + off, remaining);
      off += 1 + name[off];
    }
    pos_ += question_end - kHeaderSize;
  }
}

void MessageWriter::set_rcode(uint16_t rcode) {
  write_u16(buf_ + 2, static_cast<uint16_t>((read_u16(buf_ + 2) & ~0x000Fu) | (rcode & 0x0F)));
}

void MessageWriter::rollback(const Mark& m) {
  pos_ = m.pos;
  entries_ = m.entries;
  counts_[0] = m.counts[0];
  counts_[1] = m.counts[1];
  counts_[2] = m.counts[2];
}

void MessageWriter::add_entry(std::size_t offset, unsigned labels) {
  if (entries_ < kMaxEntries && offset < 0x4000)
    entry_[entries_++] = {static_cast<uint16_t>(offset), static_cast<uint8_t>(labels)};
}

// Compares the (possibly compressed) name in the message at offset with the
// uncompressed name, case-insensitively; label counts were already matched.
bool MessageWriter::suffix_matches(std::size_t offset, const uint8_t* name) const {
  std::size_t p = offset;
  for (;;) {
    uint8_t len = buf_[p];
    while ((len & 0xC0) == 0xC0) {
      p = static_cast<std::size_t>(len & 0x3F) << 8 | buf_[p + 1];
      len = buf_[p];
    }
    if (len != *name) return false;
    if (len == 0) return true;
    for (unsigned i = 1; i <= len; ++i)
      if (kLowerTable[buf_[p + i]] != kLowerTable[name[i]]) return false;
    p += 1 + len;
    name += 1 + len;
  }
}

bool MessageWriter::put_name(std::string_view wire, bool compress) {
  const auto* name = reinterpret_cast<const uint8_t*>(wire.data());
  uint8_t offsets[kMaxLabels];
  unsigned labels = 0;
  for (std::size_t i = 0; name[i] != 0; i += 1 + name[i]) offsets[labels++] = static_cast<uint8_t>(i);

  // Longest suffix already present wins.
  unsigned match_label = labels;
  std::size_t match_offset = 0;
  if (compress) {
    for (unsigned i = 0; i < labels && match_label == labels; ++i) {
      const unsigned want = labels - i;
      for (unsigned e = 0; e < entries_; ++e) {
        if (entry_[e].labels == want && suffix_matches(entry_[e].offset, name + offsets[i])) {
          match_label = i;
          match_offset = entry_[e].offset;
          break;
        }
      }
    }
  }
  const std::size_t literal = match_label < labels ? offsets[match_label] : wire.size();
  const std::size_t need = literal + (match_label < labels ? 2 : 0);
  if (pos_ + need > limit_) return false;
  const std::size_t start = pos_;
  std::memcpy(buf_ + pos_, name, literal);
  pos_ += literal;
  if (match_label < labels) {
    write_u16(buf_ + pos_, static_cast<uint16_t>(0xC000 | match_offset));
    pos_ += 2;
  }
  for (unsigned i = 0; i < match_label; ++i) add_entry(start + offsets[i], labels - i);
  return true;
}

bool MessageWriter::put_image(const uint8_t* image, std::size_t size, const uint8_t* patches, std::size_t patch_count,
                              const uint8_t* names, std::size_t name_count, const uint16_t* targets) {
  if (pos_ + size > limit_) return false;
  uint8_t* at = buf_ + pos_;
  std::memcpy(at, image, size);
  for (std::size_t i = 0; i < patch_count; ++i, patches += kImageEntrySize)
    write_u16(at + (patches[0] | patches[1] << 8), static_cast<uint16_t>(0xC000 | targets[patches[2]]));
  for (std::size_t i = 0; i < name_count; ++i, names += kImageEntrySize)
    add_entry(pos_ + (names[0] | names[1] << 8), names[2]);
  pos_ += size;
  return true;
}

uint16_t MessageWriter::find_name(std::string_view wire) const {
  const auto* name = reinterpret_cast<const uint8_t*>(wire.data());
  unsigned labels = 0;
  for (std::size_t i = 0; name[i] != 0; i += 1 + name[i]) ++labels;
  if (labels == 0) return 0;
  for (unsigned e = 0; e < entries_; ++e)
    if (entry_[e].labels == labels && suffix_matches(entry_[e].offset, name)) return entry_[e].offset;
  return 0;
}

void MessageWriter::finish() {
  write_u16(buf_ + 6, counts_[0]);
  write_u16(buf_ + 8, counts_[1]);
  write_u16(buf_ + 10, counts_[2]);
}

}  // namespace meridian::dns
