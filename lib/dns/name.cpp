#include "dns/name.hpp"

#include <cctype>
#include <cstring>

namespace meridian::dns {

namespace {
constexpr auto make_lower_table() {
  struct Table { uint8_t v[256]; } t{};
  for (int i = 0; i < 256; ++i) t.v[i] = static_cast<uint8_t>(i >= 'A' && i <= 'Z' ? i + 32 : i);
  return t;
}
constexpr auto kLower = make_lower_table();
}  // namespace

const uint8_t kLowerTable[256] = {
#define ROW(b) kLower.v[b], kLower.v[b + 1], kLower.v[b + 2], kLower.v[b + 3], kLower.v[b + 4], \
    kLower.v[b + 5], kLower.v[b + 6], kLower.v[b + 7]
    ROW(0),   ROW(8),   ROW(16),  ROW(24),  ROW(32),  ROW(40),  ROW(48),  ROW(56),
    ROW(64),  ROW(72),  ROW(80),  ROW(88),  ROW(96),  ROW(104), ROW(112), ROW(120),
    ROW(128), ROW(136), ROW(144), ROW(152), ROW(160), ROW(168), ROW(176), ROW(184),
    ROW(192), ROW(200), ROW(208), ROW(216), ROW(224), ROW(232), ROW(240), ROW(248),
#undef ROW
};

namespace {

uint64_t load8(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
void store8(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }

// ASCII A-Z to a-z in eight bytes at once; other bytes (including those >= 0x80)
// unchanged. Per byte: (b & 0x7F) + 0x3F reaches 0x80 from 'A' up, + 0x25 from
// past 'Z'; neither sum carries into the next byte.
uint64_t fold8(uint64_t v) {
  constexpr uint64_t k7F = 0x7F7F7F7F7F7F7F7Full, k80 = 0x8080808080808080ull;
  const uint64_t low7 = v & k7F;
  const uint64_t upper = ~v & ((low7 + 0x3F3F3F3F3F3F3F3Full) ^ (low7 + 0x2525252525252525ull)) & k80;
  return v | (upper >> 2);
}

void copy_folded(uint8_t* out, const uint8_t* in, std::size_t n) {
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i) out[i] = kLowerTable[in[i]];
    return;
  }
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) store8(out + i, fold8(load8(in + i)));
  if (i < n) store8(out + n - 8, fold8(load8(in + n - 8)));  // overlaps bytes done: same result
}

}  // namespace

NameStatus read_name(const uint8_t* packet, std::size_t packet_len, std::size_t& pos,
                     NameBuffer& out, bool fold_case) {
  // Fast path for a name written out in full (every question): one pass over the
  // label lengths, then one copy of the whole name. Anything else (pointers, bad
  // labels) takes the general loop below, which also gives the precise error.
  {
    std::size_t cursor = pos;
    std::size_t len = 0;
    unsigned labels = 0;
    bool plain = true;
    for (;;) {
      if (cursor >= packet_len) return NameStatus::truncated;
      const uint8_t label_len = packet[cursor];
      if (label_len == 0) break;
      if (label_len > kMaxLabelLength || cursor + 1 + label_len > packet_len ||
          len + 1 + label_len + 1 > kMaxNameLength) {
        plain = false;
        break;
      }
      out.label_offsets[labels++] = static_cast<uint8_t>(len);
      len += 1 + label_len;
      cursor += 1 + label_len;
    }
    if (plain) {
      ++len;  // the root label
      if (fold_case) copy_folded(out.data, packet + pos, len);
      else std::memcpy(out.data, packet + pos, len);
      out.length = static_cast<uint8_t>(len);
      out.labels = static_cast<uint8_t>(labels);
      pos = cursor + 1;
      return NameStatus::ok;
    }
  }
  std::size_t cursor = pos;
  std::size_t end_after_name = 0;  // set when the first pointer is followed
  bool jumped = false;
  unsigned hops = 0;
  std::size_t len = 0;
  unsigned labels = 0;
  for (;;) {
    if (cursor >= packet_len) return NameStatus::truncated;
    const uint8_t label_len = packet[cursor];
    if (label_len == 0) {
      if (len + 1 > kMaxNameLength) return NameStatus::too_long;
      out.data[len++] = 0;
      if (!jumped) end_after_name = cursor + 1;
      break;
    }
    const uint8_t kind = label_len & 0xC0;
    if (kind == 0xC0) {
      if (cursor + 1 >= packet_len) return NameStatus::truncated;
      const std::size_t target = static_cast<std::size_t>(label_len & 0x3F) << 8 | packet[cursor + 1];
      // Pointers must go strictly backwards, which also rules out loops.
      if (target >= cursor || ++hops > kMaxLabels) return NameStatus::bad_pointer;
      if (!jumped) end_after_name = cursor + 2;
      jumped = true;
      cursor = target;
      continue;
    }
    if (kind != 0) return NameStatus::bad_label;  // 0x40 / 0x80 label types are obsolete
    if (cursor + 1 + label_len > packet_len) return NameStatus::truncated;
    if (len + 1 + label_len + 1 > kMaxNameLength) return NameStatus::too_long;
    out.label_offsets[labels++] = static_cast<uint8_t>(len);
    out.data[len++] = label_len;
    const uint8_t* src = packet + cursor + 1;
    if (fold_case) {
      for (unsigned i = 0; i < label_len; ++i) out.data[len + i] = kLowerTable[src[i]];
    } else {
      std::memcpy(out.data + len, src, label_len);
    }
    len += label_len;
    cursor += 1 + label_len;
  }
  out.length = static_cast<uint8_t>(len);
  out.labels = static_cast<uint8_t>(labels);
  pos = end_after_name;
  return NameStatus::ok;
}

std::size_t wire_name_length(const uint8_t* p, std::size_t max) {
  std::size_t i = 0;
  while (i < max && i < kMaxNameLength) {
    const uint8_t l = p[i];
    if (l == 0) return i + 1;
    if (l > kMaxLabelLength) return 0;
    i += 1 + l;
  }
  return 0;
}

unsigned wire_name_labels(std::string_view wire) {
  unsigned n = 0;
  std::size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    ++n;
    i += 1 + static_cast<uint8_t>(wire[i]);
  }
  return n;
}

std::string fold_wire_name(std::string_view wire) {
  std::string out(wire);
  std::size_t i = 0;
  while (i < out.size() && out[i] != 0) {
    const std::size_t l = static_cast<uint8_t>(out[i]);
    for (std::size_t k = 1; k <= l && i + k < out.size(); ++k)
      out[i + k] = static_cast<char>(kLowerTable[static_cast<uint8_t>(out[i + k])]);
    i += 1 + l;
  }
  return out;
}

bool wire_names_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (kLowerTable[static_cast<uint8_t>(a[i])] != kLowerTable[static_cast<uint8_t>(b[i])]) return false;
  return true;
}

bool is_subdomain(std::string_view name, std::string_view ancestor) {
  if (ancestor.size() > name.size()) return false;
  // Walk name's label boundaries until the remaining suffix is as long as ancestor.
  std::size_t i = 0;
  while (name.size() - i > ancestor.size()) i += 1 + static_cast<uint8_t>(name[i]);
  return name.size() - i == ancestor.size() && wire_names_equal(name.substr(i), ancestor);
}

std::string_view parent_name(std::string_view name) {
  if (name.empty() || name[0] == 0) return name;
  return name.substr(1 + static_cast<uint8_t>(name[0]));
}

std::optional<std::string> name_from_text(std::string_view text, std::string_view origin) {
  if (text == "@") {
    if (origin.empty()) return std::nullopt;
    return std::string(origin);
  }
  if (text == ".") return std::string(1, '\0');
  if (text.empty()) return std::nullopt;
  std::string out;
  std::string label;
  bool absolute = false;
  auto flush = [&]() -> bool {
    if (label.empty() || label.size() > kMaxLabelLength) return false;
    out.push_back(static_cast<char>(label.size()));
    out += label;
    label.clear();
    return true;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      if (i + 1 >= text.size()) return std::nullopt;
      if (i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
          std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
          std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
        const int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (v > 255) return std::nullopt;
        label.push_back(static_cast<char>(v));
        i += 3;
      } else {
        label.push_back(text[++i]);
      }
    } else if (c == '.') {
      if (i + 1 == text.size()) {
        absolute = true;
      }
      if (!flush()) return std::nullopt;
    } else {
      label.push_back(c);
    }
  }
  if (!absolute) {
    if (!label.empty() && !flush()) return std::nullopt;
    if (origin.empty()) return std::nullopt;
    out += origin;
  } else {
    out.push_back('\0');
  }
  if (out.size() > kMaxNameLength) return std::nullopt;
  return out;
}

std::string name_to_text(std::string_view wire) {
  if (wire.empty() || wire[0] == 0) return ".";
  std::string out;
  std::size_t i = 0;
  while (i < wire.size() && wire[i] != 0) {
    const std::size_t l = static_cast<uint8_t>(wire[i]);
    for (std::size_t k = 1; k <= l && i + k < wire.size(); ++k) {
      const auto c = static_cast<unsigned char>(wire[i + k]);
      if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')' || c == '@' || c == '$') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c <= 32 || c >= 127) {
        char buf[5];
        buf[0] = '\\';
        buf[1] = static_cast<char>('0' + c / 100);
        buf[2] = static_cast<char>('0' + c / 10 % 10);
        buf[3] = static_cast<char>('0' + c % 10);
        out.append(buf, 4);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    out.push_back('.');
    i += 1 + l;
  }
  return out;
}

}  // namespace meridian::dns
