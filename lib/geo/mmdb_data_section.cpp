#include "geo/mmdb_data_section.hpp"

#include <bit>
#include <limits>
#include <stdexcept>

namespace meridian::geo {
namespace {

using Type = DataValue::Type;

void append_big_endian(std::string& out, uint64_t number, unsigned byte_count) {
  for (unsigned i = byte_count; i-- > 0;) out += static_cast<char>((number >> (8 * i)) & 0xff);
}

// Control byte: type in the top 3 bits (0 = extended, real type in the next
// byte as type - 7), payload size in the low 5 bits, with 29/30/31 meaning
// 1/2/3 more size bytes follow (after the extended-type byte).
void append_control(std::string& out, Type type, std::size_t size) {
  const unsigned type_number = static_cast<unsigned>(type);
  unsigned control = type_number <= 7 ? type_number << 5 : 0;
  unsigned extra_bytes = 0;
  std::size_t extra = 0;
  if (size < 29) {
    control |= static_cast<unsigned>(size);
  } else if (size < 29 + 256) {
    control |= 29, extra_bytes = 1, extra = size - 29;
  } else if (size < 285 + 65536) {
    control |= 30, extra_bytes = 2, extra = size - 285;
  } else if (size < 65821 + (std::size_t{1} << 24)) {
    control |= 31, extra_bytes = 3, extra = size - 65821;
  } else {
    throw std::length_error("mmdb value too large (" + std::to_string(size) + " bytes or entries)");
  }
  out += static_cast<char>(control);
  if (type_number > 7) out += static_cast<char>(type_number - 7);
  append_big_endian(out, extra, extra_bytes);
}

unsigned significant_bytes(uint64_t number) {
  unsigned count = 0;
  while (number >> (8 * count) && count < 8) ++count;
  return count;
}

// Pointers come in four sizes; the larger ones add a bias to reach further.
constexpr uint32_t kPointerBias1 = 2048;
constexpr uint32_t kPointerBias2 = 526336;
constexpr uint64_t kPointerLimit2 = kPointerBias2 + (uint64_t{1} << 27);

std::size_t pointer_size(uint32_t offset) {
  if (offset < kPointerBias1) return 2;
  if (offset < kPointerBias2) return 3;
  if (offset < kPointerLimit2) return 4;
  return 5;
}

void append_pointer(std::string& out, uint32_t offset) {
  if (offset < kPointerBias1) {
    out += static_cast<char>(0x20 | (offset >> 8));
    append_big_endian(out, offset, 1);
  } else if (offset < kPointerBias2) {
    const uint32_t v = offset - kPointerBias1;
    out += static_cast<char>(0x28 | (v >> 16));
    append_big_endian(out, v, 2);
  } else if (offset < kPointerLimit2) {
    const uint32_t v = offset - kPointerBias2;
    out += static_cast<char>(0x30 | (v >> 24));
    append_big_endian(out, v, 3);
  } else {
    out += static_cast<char>(0x38);
    append_big_endian(out, offset, 4);
  }
}

// Scalars other than strings are never worth a pointer.
bool is_shareable(const DataValue& value) {
  const Type t = value.type();
  return t == Type::utf8_string || t == Type::map || t == Type::array;
}

// Writes value's control byte and scalar payload; maps and arrays leave their
// entries to the caller (so the data section can point to shared entries).
void append_head(std::string& out, const DataValue& value) {
  switch (value.type()) {
    case Type::utf8_string:
      append_control(out, Type::utf8_string, value.text().size());
      out += value.text();
      return;
    case Type::float64:
      append_control(out, Type::float64, 8);
      append_big_endian(out, std::bit_cast<uint64_t>(value.number()), 8);
      return;
    case Type::uint16:
    case Type::uint32:
    case Type::uint64: {
      const unsigned size = significant_bytes(value.unsigned_number());
      append_control(out, value.type(), size);
      append_big_endian(out, value.unsigned_number(), size);
      return;
    }
    case Type::boolean:
      append_control(out, Type::boolean, value.unsigned_number());  // the size is the value
      return;
    case Type::map:
    case Type::array:
      append_control(out, value.type(), value.items().size());
      return;
  }
}

void append_plain(std::string& out, const DataValue& value) {
  append_head(out, value);
  for (std::size_t i = 0; i < value.items().size(); ++i) {
    if (value.type() == Type::map) append_plain(out, DataValue::string(value.keys()[i]));
    append_plain(out, value.items()[i]);
  }
}

}  // namespace

std::string encode_value(const DataValue& value) {
  std::string out;
  append_plain(out, value);
  return out;
}

uint32_t DataSectionWriter::current_offset() const {
  if (out_.size() > std::numeric_limits<uint32_t>::max()) {
    throw std::length_error("mmdb data section exceeds 4 GiB");
  }
  return static_cast<uint32_t>(out_.size());
}

uint32_t DataSectionWriter::add(const DataValue& value) {
  std::string plain = encode_value(value);
  if (const auto it = inline_copies_.find(plain); it != inline_copies_.end()) return it->second;
  const uint32_t offset = current_offset();
  inline_copies_.emplace(std::move(plain), offset);
  write_inline(value);
  current_offset();  // the value must end inside the addressable range too
  return offset;
}

void DataSectionWriter::write(const DataValue& value) {
  if (!is_shareable(value)) {
    append_head(out_, value);
    return;
  }
  std::string plain = encode_value(value);
  const auto it = inline_copies_.find(plain);
  if (it != inline_copies_.end() && pointer_size(it->second) < plain.size()) {
    append_pointer(out_, it->second);
    return;
  }
  if (it == inline_copies_.end()) inline_copies_.emplace(std::move(plain), current_offset());
  write_inline(value);
}

void DataSectionWriter::write_inline(const DataValue& value) {
  append_head(out_, value);
  for (std::size_t i = 0; i < value.items().size(); ++i) {
    if (value.type() == Type::map) write(DataValue::string(value.keys()[i]));
    write(value.items()[i]);
  }
}

}  // namespace meridian::geo
