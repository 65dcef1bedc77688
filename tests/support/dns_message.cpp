#include "support/dns_message.hpp"

// stdbool.h first: without __bool_true_false_are_defined, ldns/common.h
// #defines bool, true and false, which breaks the C++ standard headers.
#include <stdbool.h>
#include <ldns/ldns.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace meridian::test {

namespace {

constexpr uint16_t kOpt = 41;

uint16_t get_u16(const Bytes& b, std::size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
uint32_t get_u32(const Bytes& b, std::size_t at) {
  return static_cast<uint32_t>(b[at]) << 24 | static_cast<uint32_t>(b[at + 1]) << 16 |
         static_cast<uint32_t>(b[at + 2]) << 8 | b[at + 3];
}

}  // namespace

void put_u16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put_u32(Bytes& b, uint32_t v) {
  put_u16(b, static_cast<uint16_t>(v >> 16));
  put_u16(b, static_cast<uint16_t>(v));
}

Bytes encode_name(const std::string& text) {
  Bytes out;
  if (text.empty() || text == ".") {
    out.push_back(0);
    return out;
  }
  std::string label;
  auto flush = [&] {
    if (label.empty()) throw std::runtime_error("empty label in " + text);
    if (label.size() > 63) throw std::runtime_error("label too long in " + text);
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    label.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      if (i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
        label.push_back(static_cast<char>(std::stoi(text.substr(i + 1, 3))));
        i += 3;
      } else {
        label.push_back(text[++i]);
      }
    } else if (c == '.') {
      flush();
    } else {
      label.push_back(c);
    }
  }
  if (!label.empty()) flush();
  out.push_back(0);
  return out;
}

void append_opt(Bytes& packet, const Edns& edns) {
  packet.push_back(0);  // root
  put_u16(packet, kOpt);
  put_u16(packet, edns.payload);
  put_u32(packet, static_cast<uint32_t>(edns.ext_rcode) << 24 | static_cast<uint32_t>(edns.version) << 16 |
                       (edns.do_bit ? 0x8000u : 0u));
  Bytes rdata;
  if (edns.nsid) {
    put_u16(rdata, 3);
    put_u16(rdata, 0);
  }
  for (const auto& [code, payload] : edns.options) {
    put_u16(rdata, code);
    put_u16(rdata, static_cast<uint16_t>(payload.size()));
    rdata.insert(rdata.end(), payload.begin(), payload.end());
  }
  rdata.insert(rdata.end(), edns.raw_options.begin(), edns.raw_options.end());
  put_u16(packet, static_cast<uint16_t>(rdata.size()));
  packet.insert(packet.end(), rdata.begin(), rdata.end());
  const uint16_t ar = static_cast<uint16_t>(get_u16(packet, 10) + 1);
  packet[10] = static_cast<uint8_t>(ar >> 8);
  packet[11] = static_cast<uint8_t>(ar);
}

Bytes build_query(const QuerySpec& spec) {
  Bytes p;
  put_u16(p, spec.id);
  uint16_t flags = static_cast<uint16_t>((spec.opcode & 0x0F) << 11);
  if (spec.rd) flags |= 0x0100;
  flags |= spec.other_flags;
  put_u16(p, flags);
  put_u16(p, 1);
  put_u16(p, 0);
  put_u16(p, 0);
  put_u16(p, 0);
  const Bytes name = encode_name(spec.name);
  p.insert(p.end(), name.begin(), name.end());
  put_u16(p, spec.type);
  put_u16(p, spec.klass);
  if (spec.edns) append_opt(p, *spec.edns);
  return p;
}

// ---------------------------------------------------------------------------
// Parsing

namespace {

struct LdnsRrFree {
  void operator()(ldns_rr* rr) const { ldns_rr_free(rr); }
};

std::string escape_label_char(uint8_t c) {
  if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')') return std::string("\\") + char(c);
  if (c <= 32 || c >= 127) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\%03u", c);
    return buf;
  }
  return std::string(1, static_cast<char>(c));
}

// Reads a possibly compressed name; counts pointers; false when malformed
// (including a pointer that does not go strictly backwards).
bool read_name(const Bytes& w, std::size_t& pos, std::string& text, unsigned& pointers) {
  std::size_t cursor = pos;
  bool jumped = false;
  unsigned hops = 0;
  std::size_t total = 0;
  text.clear();
  for (;;) {
    if (cursor >= w.size()) return false;
    const uint8_t l = w[cursor];
    if (l == 0) {
      if (!jumped) pos = cursor + 1;
      break;
    }
    if ((l & 0xC0) == 0xC0) {
      if (cursor + 1 >= w.size()) return false;
      const std::size_t target = static_cast<std::size_t>(l & 0x3F) << 8 | w[cursor + 1];
      if (!jumped) {
        pos = cursor + 2;
        ++pointers;
      }
      jumped = true;
      if (++hops > 64 || target >= cursor) return false;  // only strictly backwards, as compressors write
      cursor = target;
      continue;
    }
    if (l & 0xC0) return false;
    if (cursor + 1 + l > w.size()) return false;
    total += 1 + l;
    if (total > 255) return false;
    for (unsigned i = 1; i <= l; ++i) text += escape_label_char(w[cursor + i]);
    text += '.';
    cursor += 1 + l;
  }
  if (text.empty()) text = ".";
  return true;
}

std::string ldns_rdata_text(const ldns_rr* rr) {
  std::string out;
  for (std::size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    char* s = ldns_rdf2str(ldns_rr_rdf(rr, i));
    if (!out.empty()) out += ' ';
    if (s) out += s;
    free(s);
  }
  return out;
}

// The rdata as ldns would write it without compression.
std::string ldns_rdata_wire(const ldns_rr* rr) {
  ldns_buffer* buf = ldns_buffer_new(LDNS_MAX_PACKETLEN);
  std::string out;
  if (buf && ldns_rr_rdata2buffer_wire(buf, rr) == LDNS_STATUS_OK)
    out.assign(reinterpret_cast<const char*>(ldns_buffer_begin(buf)), ldns_buffer_position(buf));
  if (buf) ldns_buffer_free(buf);
  return out;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string type_name(uint16_t type) {
  char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
  std::string out = s ? s : "TYPE" + std::to_string(type);
  free(s);
  return out;
}

std::string Record::type_name() const { return meridian::test::type_name(type); }

std::string Record::owner_lower() const { return lower(owner); }

std::string Record::str() const {
  char* c = ldns_rr_class2str(static_cast<ldns_rr_class>(klass));
  std::string cls = c ? c : std::to_string(klass);
  free(c);
  return owner + " " + std::to_string(ttl) + " " + cls + " " + type_name() + " " + rdata;
}

std::string Record::key() const { return owner_lower() + " " + type_name() + " " + rdata; }

std::optional<std::string> Message::option(uint16_t code) const {
  for (const auto& [c, v] : options)
    if (c == code) return v;
  return std::nullopt;
}

std::vector<Record> Message::of_type(const std::vector<Record>& section, uint16_t type) {
  std::vector<Record> out;
  for (const auto& r : section)
    if (type == 0 || r.type == type) out.push_back(r);
  return out;
}

std::vector<std::string> Message::keys(const std::vector<Record>& section, uint16_t type) {
  std::vector<std::string> out;
  for (const auto& r : section)
    if (type == 0 || r.type == type) out.push_back(r.key());
  std::sort(out.begin(), out.end());
  return out;
}

std::string rcode_name(int rcode) {
  switch (rcode) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    case 16: return "BADVERS";
    case 23: return "BADCOOKIE";
    default: return "RCODE" + std::to_string(rcode);
  }
}

std::string hex(const uint8_t* p, std::size_t n, std::size_t max) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < n && i < max; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", p[i]);
    if (i) out += ' ';
    out += buf;
  }
  if (n > max) out += " ...";
  return out;
}
std::string hex(const Bytes& b, std::size_t max) { return hex(b.data(), b.size(), max); }
std::string hex(std::string_view bytes) { return hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()); }

bool ldns_parses(const Bytes& wire) {
  ldns_pkt* pkt = nullptr;
  const ldns_status st = ldns_wire2pkt(&pkt, wire.data(), wire.size());
  if (pkt) ldns_pkt_free(pkt);
  return st == LDNS_STATUS_OK;
}

std::string Message::describe() const {
  std::ostringstream s;
  if (!ok) {
    s << "(unparsable: " << error << ") " << hex(wire, 256);
    return s.str();
  }
  s << "id=" << id << " opcode=" << opcode << " rcode=" << rcode_name(rcode) << " flags=" << (qr ? "qr " : "")
    << (aa ? "aa " : "") << (tc ? "tc " : "") << (rd ? "rd " : "") << (ra ? "ra " : "") << "size=" << wire.size()
    << " counts=" << qdcount << "/" << ancount << "/" << nscount << "/" << arcount << "\n";
  if (has_opt)
    s << ";; OPT udp=" << udp_payload << " version=" << int(edns_version) << (do_bit ? " do" : "")
      << " options=" << options.size() << "\n";
  for (const auto& q : question) s << ";QUESTION " << q.owner << " " << q.klass << " " << q.type_name() << "\n";
  for (const auto& r : answer) s << "AN " << r.str() << "\n";
  for (const auto& r : authority) s << "NS " << r.str() << "\n";
  for (const auto& r : additional) s << "AR " << r.str() << "\n";
  return s.str();
}

Message parse_message(const Bytes& w) {
  Message m;
  m.wire = w;
  if (w.size() < 12) {
    m.error = "shorter than a header";
    return m;
  }
  m.id = get_u16(w, 0);
  m.flags = get_u16(w, 2);
  m.qr = m.flags & 0x8000;
  m.opcode = (m.flags >> 11) & 0x0F;
  m.aa = m.flags & 0x0400;
  m.tc = m.flags & 0x0200;
  m.rd = m.flags & 0x0100;
  m.ra = m.flags & 0x0080;
  m.ad = m.flags & 0x0020;
  m.cd = m.flags & 0x0010;
  m.rcode = m.flags & 0x0F;
  m.qdcount = get_u16(w, 4);
  m.ancount = get_u16(w, 6);
  m.nscount = get_u16(w, 8);
  m.arcount = get_u16(w, 10);
  std::size_t pos = 12;
  for (unsigned i = 0; i < m.qdcount; ++i) {
    Record q;
    if (!read_name(w, pos, q.owner, m.compression_pointers) || pos + 4 > w.size()) {
      m.error = "bad question";
      return m;
    }
    q.type = get_u16(w, pos);
    q.klass = get_u16(w, pos + 2);
    pos += 4;
    m.question.push_back(q);
  }
  m.question_end = pos;
  std::vector<Record>* sections[3] = {&m.answer, &m.authority, &m.additional};
  const unsigned counts[3] = {m.ancount, m.nscount, m.arcount};
  const ldns_pkt_section ldns_sections[3] = {LDNS_SECTION_ANSWER, LDNS_SECTION_AUTHORITY, LDNS_SECTION_ADDITIONAL};
  for (int s = 0; s < 3; ++s) {
    for (unsigned i = 0; i < counts[s]; ++i) {
      const std::size_t rr_start = pos;
      Record r;
      r.offset = rr_start;
      if (!read_name(w, pos, r.owner, m.compression_pointers) || pos + 10 > w.size()) {
        m.error = "bad record owner/header in section " + std::to_string(s + 1);
        return m;
      }
      r.type = get_u16(w, pos);
      r.klass = get_u16(w, pos + 2);
      r.ttl = get_u32(w, pos + 4);
      const std::size_t rdlen = get_u16(w, pos + 8);
      pos += 10;
      if (pos + rdlen > w.size()) {
        m.error = "rdata beyond the end in section " + std::to_string(s + 1);
        return m;
      }
      if (r.type == kOpt) {
        if (s != 2 || m.has_opt || r.owner != ".") {
          m.error = "misplaced or repeated OPT";
          return m;
        }
        m.has_opt = true;
        m.udp_payload = r.klass;
        m.rcode |= static_cast<int>(r.ttl >> 24) << 4;
        m.edns_version = static_cast<uint8_t>(r.ttl >> 16);
        m.do_bit = r.ttl & 0x8000;
        std::size_t o = pos;
        while (o + 4 <= pos + rdlen) {
          const uint16_t code = get_u16(w, o);
          const uint16_t olen = get_u16(w, o + 2);
          if (o + 4 + olen > pos + rdlen) break;  // caught below
          m.options.emplace_back(code, std::string(w.begin() + static_cast<long>(o + 4),
                                                   w.begin() + static_cast<long>(o + 4 + olen)));
          o += 4 + olen;
        }
        if (o != pos + rdlen) {
          m.error = "OPT options overrun or trail the OPT rdata";
          return m;
        }
        pos += rdlen;
        continue;
      }
      // Let ldns print the rdata (it follows compression pointers inside rdata).
      ldns_rr* raw = nullptr;
      std::size_t lpos = rr_start;
      const ldns_status st = ldns_wire2rr(&raw, w.data(), w.size(), &lpos, ldns_sections[s]);
      std::unique_ptr<ldns_rr, LdnsRrFree> rr(raw);
      if (st != LDNS_STATUS_OK) {
        m.error = std::string("ldns cannot read a record: ") + ldns_get_errorstr_by_id(st);
        return m;
      }
      if (lpos != pos + rdlen) {
        m.error = "ldns and the test parser disagree on a record's length";
        return m;
      }
      r.rdata = ldns_rdata_text(rr.get());
      r.rdata_wire = ldns_rdata_wire(rr.get());
      pos += rdlen;
      sections[s]->push_back(std::move(r));
    }
  }
  if (pos != w.size()) {
    m.error = "trailing bytes after the last record";
    return m;
  }
  m.ok = true;
  return m;
}

}  // namespace meridian::test
