#include "forward/l4/client_hello.hpp"

#include <bitset>
#include <vector>

namespace meridian::forward::l4 {

namespace {

constexpr uint8_t kHandshakeRecord = 22;
constexpr uint8_t kClientHello = 1;
constexpr std::size_t kRecordHeader = 5;
constexpr std::size_t kMaxRecordBody = 16384;  // 2^14 (RFC 8446 §5.1)
constexpr uint16_t kServerNameExtension = 0;
constexpr uint8_t kHostName = 0;

ClientHello invalid(const char* why) {
  ClientHello h;
  h.status = ClientHello::Status::invalid;
  h.error = why;
  return h;
}

// Reads big-endian fields from a byte range; any read past the end fails (and stays failed).
class Reader {
 public:
  Reader(const uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  bool u8(uint8_t& v) {
    if (n_ < 1) return false;
    v = p_[0];
    skip_unchecked(1);
    return true;
  }
  bool u16(uint16_t& v) {
    if (n_ < 2) return false;
    v = static_cast<uint16_t>(p_[0] << 8 | p_[1]);
    skip_unchecked(2);
    return true;
  }
  // A sub-range of n bytes.
  bool take(std::size_t n, Reader& out) {
    if (n_ < n) return false;
    out = Reader(p_, n);
    skip_unchecked(n);
    return true;
  }
  bool skip(std::size_t n) {
    if (n_ < n) return false;
    skip_unchecked(n);
    return true;
  }
  std::size_t left() const { return n_; }
  const uint8_t* data() const { return p_; }

 private:
  void skip_unchecked(std::size_t n) {
    p_ += n;
    n_ -= n;
  }
  const uint8_t* p_;
  std::size_t n_;
};

// A DNS host name as RFC 6066 carries it: letters, digits, '-' and '_' in dot-separated
// labels of 1-63 bytes, 253 bytes at most, no trailing dot. Lower-cased into out.
bool host_name(Reader r, std::string& out) {
  if (r.left() == 0 || r.left() > 253) return false;
  out.assign(reinterpret_cast<const char*>(r.data()), r.left());
  std::size_t label = 0;
  for (char& c : out) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (++label > 63) return false;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return label > 0;
}

// The ClientHello's body (after the handshake header), RFC 8446 §4.1.2 and RFC 5246 §7.4.1.2.
ClientHello parse_body(Reader r) {
  uint8_t major = 0, minor = 0;
  if (!r.u8(major) || !r.u8(minor)) return invalid("truncated version");
  if (major != 3 || minor < 1 || minor > 3) return invalid("legacy_version is not TLS 1.0-1.2");
  if (!r.skip(32)) return invalid("truncated random");
  uint8_t session_len = 0;
  if (!r.u8(session_len) || session_len > 32 || !r.skip(session_len)) return invalid("bad session id");
  uint16_t suites_len = 0;
  if (!r.u16(suites_len) || suites_len < 2 || suites_len % 2 != 0 || !r.skip(suites_len))
    return invalid("bad cipher suites");
  uint8_t compression_len = 0;
  if (!r.u8(compression_len) || compression_len < 1 || !r.skip(compression_len))
    return invalid("bad compression methods");
  ClientHello hello;
  hello.status = ClientHello::Status::complete;
  if (r.left() == 0) return hello;  // no extensions (allowed before TLS 1.3): no server name
  uint16_t extensions_len = 0;
  Reader extensions(nullptr, 0);
  if (!r.u16(extensions_len) || !r.take(extensions_len, extensions) || r.left() != 0)
    return invalid("extensions do not fill the ClientHello");
  std::bitset<65536> seen;
  while (extensions.left() > 0) {
    uint16_t type = 0, len = 0;
    Reader body(nullptr, 0);
    if (!extensions.u16(type) || !extensions.u16(len) || !extensions.take(len, body))
      return invalid("truncated extension");
    if (seen.test(type)) return invalid("an extension appears twice");
    seen.set(type);
    if (type != kServerNameExtension) continue;
    // ServerNameList: exactly one host_name, as OpenSSL requires (no other name type exists)
    uint16_t list_len = 0;
    Reader list(nullptr, 0);
    if (!body.u16(list_len) || !body.take(list_len, list) || body.left() != 0)
      return invalid("server_name list does not fill its extension");
    uint8_t name_type = 0;
    uint16_t name_len = 0;
    Reader name(nullptr, 0);
    if (!list.u8(name_type) || !list.u16(name_len) || !list.take(name_len, name) || list.left() != 0)
      return invalid("server_name list is not one name");
    if (name_type != kHostName) return invalid("server_name is not a host_name");
    if (!host_name(name, hello.server_name)) return invalid("server_name is not a host name");
  }
  return hello;
}

}  // namespace

ClientHello parse_client_hello(std::span<const uint8_t> in) {
  // The handshake message, gathered from the records' bodies.
  std::vector<uint8_t> message;
  std::size_t need = 0;  // 4 + its length, once the handshake header is in
  std::size_t pos = 0;
  int records = 0;
  for (;;) {
    const std::size_t avail = in.size() - pos;
    // The record header, checked byte by byte so that garbage is refused at its first byte.
    if (avail >= 1 && records == kMaxClientHelloRecords) return invalid("ClientHello spread over too many records");
    if (avail >= 1 && in[pos] != kHandshakeRecord) return invalid("not a TLS handshake record");
    if (avail >= 2 && in[pos + 1] != 3) return invalid("not a TLS record version");
    if (avail >= 3 && in[pos + 2] > 4) return invalid("not a TLS record version");
    if (avail < kRecordHeader) return ClientHello{};
    const std::size_t record_len = std::size_t{in[pos + 3]} << 8 | in[pos + 4];
    if (record_len == 0 || record_len > kMaxRecordBody) return invalid("bad record length");
    ++records;
    pos += kRecordHeader;
    const std::size_t here = std::min(record_len, in.size() - pos);
    std::size_t used = here;
    if (need != 0) used = std::min(used, need - message.size());
    else if (message.size() < 4) used = std::min(used, 4 - message.size());
    message.insert(message.end(), in.begin() + static_cast<std::ptrdiff_t>(pos),
                   in.begin() + static_cast<std::ptrdiff_t>(pos + used));
    if (!message.empty() && message[0] != kClientHello) return invalid("first handshake message is not a ClientHello");
    if (need == 0 && message.size() >= 4) {
      const std::size_t len = std::size_t{message[1]} << 16 | std::size_t{message[2]} << 8 | message[3];
      if (len > kMaxClientHelloBytes) return invalid("ClientHello too large");
      need = 4 + len;
      // the rest of this record's bytes belong to the message too
      const std::size_t more = std::min(here - used, need - message.size());
      message.insert(message.end(), in.begin() + static_cast<std::ptrdiff_t>(pos + used),
                     in.begin() + static_cast<std::ptrdiff_t>(pos + used + more));
    }
    if (need != 0 && message.size() == need)
      return parse_body(Reader(message.data() + 4, need - 4));
    if (here < record_len) return ClientHello{};  // the record's end has not arrived
    pos += record_len;
  }
}

}  // namespace meridian::forward::l4
