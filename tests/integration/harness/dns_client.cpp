#include "integration/harness/dns_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <cerrno>
#include <cstring>
#include <random>
#include <sstream>
#include <stdexcept>

namespace meridian::test {

namespace {

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return static_cast<int>(std::min<long long>(left, 1000000));
}

socklen_t make_sockaddr(const Endpoint& e, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  if (e.v6()) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(e.port);
    if (::inet_pton(AF_INET6, e.host.c_str(), &s6->sin6_addr) != 1) throw std::runtime_error("bad address " + e.host);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(e.port);
  if (::inet_pton(AF_INET, e.host.c_str(), &s4->sin_addr) != 1) throw std::runtime_error("bad address " + e.host);
  return sizeof(sockaddr_in);
}

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
  put_u16(packet, qtype::OPT);
  put_u16(packet, edns.payload);
  put_u32(packet, static_cast<uint32_t>(edns.version) << 16 | (edns.do_bit ? 0x8000u : 0u));
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
// UDP

namespace {

int udp_socket_for(const Endpoint& server, sockaddr_storage& ss, socklen_t& len) {
  len = make_sockaddr(server, ss);
  const int fd = ::socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    throw std::runtime_error("connect: " + std::string(std::strerror(errno)));
  }
  return fd;
}

}  // namespace

std::optional<Bytes> udp_exchange(const Endpoint& server, const Bytes& query, milliseconds timeout,
                                  milliseconds retry) {
  sockaddr_storage ss;
  socklen_t len;
  const int fd = udp_socket_for(server, ss, len);
  const auto deadline = Clock::now() + timeout;
  std::optional<Bytes> result;
  while (!result && Clock::now() < deadline) {
    ::send(fd, query.data(), query.size(), 0);
    const auto resend_at = std::min(deadline, Clock::now() + retry);
    while (!result) {
      const int wait = remaining_ms(resend_at);
      if (wait <= 0) break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, wait) <= 0) continue;
      Bytes buf(65536);
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n < 0) continue;  // e.g. ECONNREFUSED from an earlier ICMP
      buf.resize(static_cast<std::size_t>(n));
      if (query.size() >= 2 && buf.size() >= 2 && (buf[0] != query[0] || buf[1] != query[1])) continue;
      result = std::move(buf);
    }
  }
  ::close(fd);
  return result;
}

std::optional<Bytes> udp_send_expect(const Endpoint& server, const Bytes& packet, milliseconds wait) {
  sockaddr_storage ss;
  socklen_t len;
  const int fd = udp_socket_for(server, ss, len);
  ::send(fd, packet.data(), packet.size(), 0);
  std::optional<Bytes> result;
  const auto deadline = Clock::now() + wait;
  while (!result) {
    const int left = remaining_ms(deadline);
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) continue;
    Bytes buf(65536);
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) continue;
    buf.resize(static_cast<std::size_t>(n));
    result = std::move(buf);
  }
  ::close(fd);
  return result;
}

// ---------------------------------------------------------------------------
// TCP

TcpConnection::~TcpConnection() { close(); }

TcpConnection& TcpConnection::operator=(TcpConnection&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void TcpConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool TcpConnection::connect(const Endpoint& server, milliseconds timeout) {
  close();
  sockaddr_storage ss;
  const socklen_t len = make_sockaddr(server, ss);
  fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return false;
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) {
      close();
      return false;
    }
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
      close();
      return false;
    }
    int err = 0;
    socklen_t elen = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &elen);
    if (err != 0) {
      close();
      return false;
    }
  }
  return true;
}

bool TcpConnection::send_raw(const Bytes& bytes) {
  if (fd_ < 0) return false;
  std::size_t sent = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(15);
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

bool TcpConnection::send_message(const Bytes& message) {
  Bytes framed;
  put_u16(framed, static_cast<uint16_t>(message.size()));
  framed.insert(framed.end(), message.begin(), message.end());
  return send_raw(framed);
}

bool TcpConnection::read_exact(uint8_t* out, std::size_t n, Clock::time_point deadline) {
  std::size_t got = 0;
  while (got < n) {
    const ssize_t r = ::recv(fd_, out + got, n - got, 0);
    if (r > 0) {
      got += static_cast<std::size_t>(r);
      continue;
    }
    if (r == 0) return false;  // EOF
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      const int left = remaining_ms(deadline);
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      ::poll(&p, 1, left);
      continue;
    }
    return false;
  }
  return true;
}

std::optional<Bytes> TcpConnection::read_message(milliseconds timeout) {
  if (fd_ < 0) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  uint8_t len[2];
  if (!read_exact(len, 2, deadline)) return std::nullopt;
  Bytes msg(static_cast<std::size_t>(len[0] << 8 | len[1]));
  if (!read_exact(msg.data(), msg.size(), deadline)) return std::nullopt;
  return msg;
}

TcpConnection::Wait TcpConnection::wait_closed(milliseconds timeout) {
  if (fd_ < 0) return Wait::closed;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    uint8_t buf[512];
    const ssize_t r = ::recv(fd_, buf, sizeof buf, 0);
    if (r == 0) return Wait::closed;
    if (r > 0) return Wait::data;
    if (errno == ECONNRESET || errno == EPIPE) return Wait::closed;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return Wait::closed;
    const int left = remaining_ms(deadline);
    if (left <= 0) return Wait::timeout;
    pollfd p{fd_, POLLIN, 0};
    ::poll(&p, 1, left);
  }
}

std::optional<Bytes> tcp_exchange(const Endpoint& server, const Bytes& query, milliseconds timeout) {
  TcpConnection c;
  if (!c.connect(server, timeout)) return std::nullopt;
  if (!c.send_message(query)) return std::nullopt;
  return c.read_message(timeout);
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

// Reads a possibly compressed name; counts pointers; false when malformed.
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
      if (++hops > 64 || target >= w.size()) return false;
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

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string Record::type_name() const {
  char* s = ldns_rr_type2str(static_cast<ldns_rr_type>(type));
  std::string out = s ? s : "TYPE" + std::to_string(type);
  free(s);
  return out;
}

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
    default: return "RCODE" + std::to_string(rcode);
  }
}

std::string hex(const Bytes& b, std::size_t max) {
  std::string out;
  char buf[4];
  for (std::size_t i = 0; i < b.size() && i < max; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", b[i]);
    if (i) out += ' ';
    out += buf;
  }
  if (b.size() > max) out += " ...";
  return out;
}

std::string Message::describe() const {
  std::ostringstream s;
  if (!ok) {
    s << "(unparsable: " << error << ") " << hex(wire);
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
      if (r.type == qtype::OPT) {
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
          if (o + 4 + olen > pos + rdlen) break;
          m.options.emplace_back(code, std::string(w.begin() + static_cast<long>(o + 4),
                                                   w.begin() + static_cast<long>(o + 4 + olen)));
          o += 4 + olen;
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

Message ask_udp(const Endpoint& server, const QuerySpec& spec) {
  const auto reply = udp_exchange(server, build_query(spec));
  if (!reply) {
    Message m;
    m.error = "no UDP response";
    return m;
  }
  return parse_message(*reply);
}

Message ask_tcp(const Endpoint& server, const QuerySpec& spec) {
  const auto reply = tcp_exchange(server, build_query(spec));
  if (!reply) {
    Message m;
    m.error = "no TCP response";
    return m;
  }
  return parse_message(*reply);
}

bool wait_until_answering(const Endpoint& server, milliseconds deadline) {
  const auto end = Clock::now() + deadline;
  while (Clock::now() < end) {
    const auto left = std::chrono::duration_cast<milliseconds>(end - Clock::now());
    QuerySpec q{"version.bind", qtype::TXT, qclass::CH};
    if (udp_exchange(server, build_query(q), std::min(left, milliseconds(2000)), milliseconds(500))) return true;
  }
  return false;
}

}  // namespace meridian::test
