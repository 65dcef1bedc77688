// Response Rate Limiting (RRL) as BIND 9 and Knot define it: a token bucket per
// (client prefix, what the response says) debited by every UDP response, so that a
// spoofed-source flood cannot use the server as a reflector. Answers are keyed by
// (prefix, qname, qtype), NXDOMAIN and empty answers by (prefix, zone), errors by
// prefix alone: always the question, never the geo-dependent answer. A limited
// response is dropped, or every `slip`-th one goes out truncated (TC=1, so a real
// client retries over TCP) or, when the client sent a DNS cookie, as BADCOOKIE with
// a server cookie (it retries with the cookie and is then never limited).
//
// Each UDP worker owns one Limiter: a fixed-size table allocated off the query path,
// no lock, no allocation, no clock read or system call per response (the caller
// passes the time it read once per batch).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "config/server_config.hpp"
#include "util/ip_address.hpp"

namespace meridian::rrl {

// What a response says, each with its own rate and bucket.
enum class Category : uint8_t { answer, nodata, nxdomain, error };
inline constexpr unsigned kCategories = 4;

struct Policy {
  // Responses per second and client prefix, by Category; 0: that category is not limited.
  uint32_t rate[kCategories] = {20, 20, 20, 20};
  uint32_t window = 15;  // seconds of debt a flooding prefix accrues (BIND's window)
  uint32_t slip = 2;     // every slip-th limited response is slipped; 0: none, 1: all
  uint8_t ipv4_prefix = 24;
  uint8_t ipv6_prefix = 56;
  std::vector<util::IpNetwork> exempt;  // never limited
  bool log_only = false;                // count and log, but send every response
  std::size_t table_size = 65536;       // buckets per worker (a power of two)

  bool exempts(const util::IpAddress& client) const;
  friend bool operator==(const Policy& a, const Policy& b);
};

// The policy for the settings (their networks are valid: the config reader checked them).
std::shared_ptr<const Policy> make_policy(const config::RrlSettings& settings);

enum class Action : uint8_t {
  send,      // within the rate, exempt, or not limited
  drop,      // send nothing
  slip,      // send the slipped form (slip_response)
  log_only,  // over the rate, but sent as it is (log_only)
};

// The bucket key besides the client prefix: the wire name in any case (the qname of
// an answer, or the wildcard it was synthesised from; the zone of a negative answer;
// empty for an error) and the qtype (answers).
struct ResponseKey {
  Category category = Category::answer;
  std::string_view name;
  uint16_t qtype = 0;
};

class Limiter {
 public:
  Limiter();                                // a random hash key, so collisions cannot be aimed
  explicit Limiter(const uint8_t key[32]);  // a fixed one (tests)
  ~Limiter();
  Limiter(const Limiter&) = delete;
  Limiter& operator=(const Limiter&) = delete;

  // Sizes the table for the policy: allocates when the size changes (the first batch
  // after start or a reload that turned RRL on or resized it), otherwise nothing.
  void fit(const Policy& policy);
  void release();  // RRL turned off: frees the table
  std::size_t capacity() const { return mask_ ? mask_ + 1 : 0; }

  // Debits the bucket of (client's prefix, key) at `now` (whole seconds of a
  // monotonic clock) and says what to do with the response. fit() came first.
  Action account(const Policy& policy, const util::IpAddress& client, const ResponseKey& key, uint32_t now);

  // Whether a limiting event may be logged now: at most once a second per worker,
  // so a flood from many prefixes cannot turn into a flood of log lines.
  // `suppressed` gets the limited responses not logged since the last line.
  bool may_log(uint32_t now, uint64_t& suppressed);

 private:
  struct Entry;
  Entry* find(uint64_t hash, uint32_t now, bool& fresh);

  uint64_t key_[4];
  Entry* table_ = nullptr;        // inside mapping_, aligned to a huge page
  void* mapping_ = nullptr;
  std::size_t mapping_bytes_ = 0;
  std::size_t mask_ = 0;
  uint32_t last_log_ = 0;
  bool logged_once_ = false;
  uint64_t unlogged_ = 0;
};

// The rate-limiting outcome for one UDP response written in `response`.
struct Outcome {
  Action action = Action::send;
  std::size_t length = 0;  // of the response to send (0: none)
  bool badcookie = false;  // slipped as BADCOOKIE rather than TC=1
};

// What the responder said about the response, besides its bytes.
struct ResponseFacts {
  uint16_t rcode = 0;           // extended rcode
  std::string_view zone;        // the zone's origin (lower-case wire), empty when none
  bool client_cookie = false;   // the query's COOKIE option was answered with a server cookie
  std::string_view wildcard;    // the wildcard (lower-case wire) an answer was synthesised from: its key
};

// Categorises the response (from its rcode and ANCOUNT; the qname read from its
// question), accounts it, and rewrites it in place when it slips. Logs the start of
// limiting (rate-limited by may_log).
Outcome limit_response(Limiter& limiter, const Policy& policy, const util::IpAddress& client, uint8_t* response,
                       std::size_t length, const ResponseFacts& facts, uint32_t now);

// Rewrites a response into its slipped form: the header and question, and its OPT
// if it has one, nothing else; TC=1, or BADCOOKIE when `badcookie` and the OPT holds
// a COOKIE option (the client's cookie and our server cookie, as the responder wrote
// them). Returns the new length; 0 when the response does not parse.
// *was_badcookie tells which form was written.
std::size_t slip_response(uint8_t* response, std::size_t length, bool badcookie, bool* was_badcookie = nullptr);

}  // namespace meridian::rrl
