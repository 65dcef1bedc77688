// A small DNS test client: queries built by hand (so tests can also send broken
// ones), UDP and TCP exchanges with timeouts, and a response parser that keeps
// the raw bytes next to a readable form (rdata printed by ldns).
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "integration/harness/process.hpp"

namespace meridian::test {

using Bytes = std::vector<uint8_t>;

namespace qtype {
inline constexpr uint16_t A = 1, NS = 2, CNAME = 5, SOA = 6, PTR = 12, MX = 15, TXT = 16, AAAA = 28,
                          SRV = 33, DNAME = 39, OPT = 41, DS = 43, CAA = 257, AXFR = 252, ANY = 255;
}
namespace qclass {
inline constexpr uint16_t IN = 1, CH = 3, HS = 4, NONE = 254, ANY = 255;
}
namespace rcode {
inline constexpr int NOERROR = 0, FORMERR = 1, SERVFAIL = 2, NXDOMAIN = 3, NOTIMP = 4, REFUSED = 5,
                     BADVERS = 16;
}

struct Edns {
  uint16_t payload = 1232;
  uint8_t version = 0;
  bool do_bit = false;
  bool nsid = false;                                      // ask for NSID
  std::vector<std::pair<uint16_t, std::string>> options;  // extra options, raw payloads
};

struct QuerySpec {
  QuerySpec() = default;
  QuerySpec(std::string n, uint16_t t = qtype::A, uint16_t k = qclass::IN)
      : name(std::move(n)), type(t), klass(k) {}

  std::string name;              // presentation form; case is kept as written
  uint16_t type = qtype::A;
  uint16_t klass = qclass::IN;
  uint16_t id = 0x4d52;
  uint8_t opcode = 0;
  bool rd = false;
  std::optional<Edns> edns;
};

// Wire form of a name in presentation format ("www.example.com", "." is the
// root; \DDD and \X escapes allowed; no compression).
Bytes encode_name(const std::string& text);
Bytes build_query(const QuerySpec& spec);
void put_u16(Bytes& b, uint16_t v);
void put_u32(Bytes& b, uint32_t v);
// Appends an OPT RR and bumps ARCOUNT.
void append_opt(Bytes& packet, const Edns& edns);

// One request/response over UDP. Resends every `retry` until `timeout` (the
// server is stateless, so a resend is harmless); responses whose ID differs
// from the query's are ignored. nullopt: nothing came back in time.
std::optional<Bytes> udp_exchange(const Endpoint& server, const Bytes& query,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(15),
                                  std::chrono::milliseconds retry = std::chrono::seconds(3));
// Sends once and waits `wait` for any datagram (for "no response expected" checks).
std::optional<Bytes> udp_send_expect(const Endpoint& server, const Bytes& packet, std::chrono::milliseconds wait);

class TcpConnection {
 public:
  TcpConnection() = default;
  ~TcpConnection();
  TcpConnection(TcpConnection&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  TcpConnection& operator=(TcpConnection&& o) noexcept;

  bool connect(const Endpoint& server, std::chrono::milliseconds timeout = std::chrono::seconds(15));
  bool send_raw(const Bytes& bytes);
  bool send_message(const Bytes& message);  // with the two-byte length prefix
  // One length-prefixed message; nullopt on timeout, EOF or error.
  std::optional<Bytes> read_message(std::chrono::milliseconds timeout = std::chrono::seconds(15));

  enum class Wait { closed, timeout, data };
  // Waits for the peer to close (EOF or reset); data received first ends the wait.
  Wait wait_closed(std::chrono::milliseconds timeout);
  void close();
  bool is_open() const { return fd_ >= 0; }
  int fd() const { return fd_; }

 private:
  bool read_exact(uint8_t* out, std::size_t n, Clock::time_point deadline);
  int fd_ = -1;
};

std::optional<Bytes> tcp_exchange(const Endpoint& server, const Bytes& query,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(15));

// A resource record in readable form. Owners keep their case; rdata is ldns's
// presentation of each field joined by single spaces.
struct Record {
  std::string owner;
  uint32_t ttl = 0;
  uint16_t type = 0;
  uint16_t klass = 0;
  std::string rdata;

  std::string type_name() const;
  std::string owner_lower() const;
  std::string str() const;  // "owner ttl CLASS TYPE rdata"
  // "owner TYPE rdata" with the owner lower-cased, TTL and class left out.
  std::string key() const;
};

struct Message {
  bool ok = false;       // the bytes parsed as a DNS message
  std::string error;
  Bytes wire;
  uint16_t id = 0;
  uint16_t flags = 0;
  int opcode = 0;
  int rcode = 0;         // including the extended bits from OPT
  bool qr = false, aa = false, tc = false, rd = false, ra = false, ad = false, cd = false;
  uint16_t qdcount = 0, ancount = 0, nscount = 0, arcount = 0;
  std::vector<Record> question;  // ttl and rdata empty
  std::vector<Record> answer, authority, additional;  // additional without OPT

  bool has_opt = false;
  uint16_t udp_payload = 0;
  uint8_t edns_version = 0;
  bool do_bit = false;
  std::vector<std::pair<uint16_t, std::string>> options;
  unsigned compression_pointers = 0;  // names written with a pointer
  std::size_t question_end = 0;

  std::optional<std::string> option(uint16_t code) const;
  // Records of one type in a section (all types when type == 0).
  static std::vector<Record> of_type(const std::vector<Record>& section, uint16_t type = 0);
  // Sorted "owner TYPE rdata" keys of a section, optionally one type only.
  static std::vector<std::string> keys(const std::vector<Record>& section, uint16_t type = 0);
  std::string describe() const;  // a dig-like dump for failure messages
};

Message parse_message(const Bytes& wire);
std::string rcode_name(int rcode);
std::string hex(const Bytes& b, std::size_t max = 256);

// Conveniences for tests: one query, parsed answer; ok=false when nothing came.
Message ask_udp(const Endpoint& server, const QuerySpec& spec);
Message ask_tcp(const Endpoint& server, const QuerySpec& spec);

// Ask once over UDP and TCP until the server answers or the deadline passes.
bool wait_until_answering(const Endpoint& server, std::chrono::milliseconds deadline = std::chrono::seconds(20));

}  // namespace meridian::test
