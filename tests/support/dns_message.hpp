// The DNS message side of the test client, shared by unit and integration tests:
// queries built by hand from a QuerySpec, and a response decoder that is
// independent of meridian's own reader and writer (names and sections decoded
// here, rdata read and printed by ldns). The transport (UDP/TCP) is in
// integration/harness/dns_client.hpp; byte-level builders for deliberately
// malformed packets are in unit/support/dns_wire.hpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace meridian::test {

using Bytes = std::vector<uint8_t>;

struct Edns {
  uint16_t payload = 1232;
  uint8_t ext_rcode = 0;  // upper bits of the RCODE (a query sends 0; tests may not)
  uint8_t version = 0;
  bool do_bit = false;
  bool nsid = false;                                      // ask for NSID
  std::vector<std::pair<uint16_t, std::string>> options;  // extra options, raw payloads
  Bytes raw_options;  // appended after `options` as is, so tests can send broken ones
};

struct QuerySpec {
  QuerySpec() = default;
  QuerySpec(std::string n, uint16_t t = 1, uint16_t k = 1) : name(std::move(n)), type(t), klass(k) {}

  std::string name;    // presentation form; case is kept as written
  uint16_t type = 1;   // A
  uint16_t klass = 1;  // IN
  uint16_t id = 0x4d52;
  uint8_t opcode = 0;
  bool rd = false;
  uint16_t other_flags = 0;  // further header bits (QR, AA, TC, AD, CD, Z) ORed in as given
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

// A resource record in readable form. Owners keep their case; rdata is ldns's
// presentation of each field joined by single spaces.
struct Record {
  std::string owner;
  uint32_t ttl = 0;
  uint16_t type = 0;
  uint16_t klass = 0;
  std::string rdata;
  std::string rdata_wire;  // rdata bytes with any compressed names expanded (from ldns)
  std::size_t offset = 0;  // where the record starts in the message (questions: 0)

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

  bool has_opt = false;  // exactly one OPT (a second one makes the message unparsable)
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

// ok=false (with error) on anything malformed, including bytes after the last record.
Message parse_message(const Bytes& wire);
std::string rcode_name(int rcode);
std::string type_name(uint16_t type);  // "AAAA", "TYPE65534" (ldns's names)
// Space-separated hex bytes; more than `max` bytes end in " ...".
std::string hex(const uint8_t* p, std::size_t n, std::size_t max = std::numeric_limits<std::size_t>::max());
std::string hex(const Bytes& b, std::size_t max = std::numeric_limits<std::size_t>::max());
std::string hex(std::string_view bytes);

// ldns reads the whole packet as a DNS message (a second, independent opinion).
bool ldns_parses(const Bytes& wire);

}  // namespace meridian::test
