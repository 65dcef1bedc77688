// Zone transfer to secondaries (see README.md in this folder): AXFR (RFC 5936)
// and IXFR answered AXFR-style (RFC 1995) over TCP, TSIG (RFC 8945) on requests
// and on every message of a transfer, signed answers to signed ordinary queries
// (a secondary's SOA refresh), and NOTIFY (RFC 1996) when a zone's serial changes.
// Nothing here runs on the UDP fast path: the TCP server hands transfers to a
// thread of their own, and signed queries (rare: secondaries only) come here
// instead of being answered in place.
#pragma once
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "query/responder.hpp"
#include "query/snapshot.hpp"
#include "util/host_port.hpp"
#include "util/ip_address.hpp"

namespace meridian::transfer {

// ---- TSIG (RFC 8945) ----

namespace tsig_error {
inline constexpr uint16_t BADSIG = 16, BADKEY = 17, BADTIME = 18;
}
inline constexpr uint16_t kTsigType = 250;
inline constexpr uint16_t kNotAuth = 9;   // rcode of a failed TSIG check
inline constexpr uint16_t kFudge = 300;   // seconds, as RFC 8945 recommends

// The TSIG record that ends a message.
struct TsigRecord {
  std::size_t start = 0;   // where it starts: the message without it ends here
  std::string key_name;    // lower-case wire form
  std::string algorithm;   // lower-case wire form
  uint64_t time_signed = 0;
  uint16_t fudge = 0;
  std::string mac;
  uint16_t original_id = 0;
  uint16_t error = 0;
  std::string other;
};

enum class TsigFound { none, found, malformed };
// Looks at the last additional record: found when it is a TSIG record (then out
// is filled), none when the message has none, malformed when the message or the
// record cannot be read.
TsigFound find_tsig(const uint8_t* message, std::size_t length, TsigRecord& out);

// One signed exchange: the key, and the MAC the next message's MAC covers (the
// request's, then each response's in turn).
struct TsigSession {
  std::string key_name;   // lower-case wire form
  std::string algorithm;  // lower-case wire form
  std::string secret;     // raw bytes
  std::string prior_mac;
  bool first = true;      // the first response covers every TSIG variable, later ones the timers only
};

// The HMAC of data under secret, for "hmac-sha256" / "hmac-sha384" / "hmac-sha512"
// (text or wire form); nullopt for another algorithm.
std::optional<std::string> hmac(std::string_view algorithm, std::string_view secret, std::string_view data);
std::optional<std::string> decode_base64(std::string_view text);
// "hmac-sha256" -> its wire name; empty when unknown.
std::string algorithm_wire_name(std::string_view text);

// Checks a request's TSIG against the keys: 0 (the session is then ready for the
// response), or BADKEY (unknown key or algorithm), BADSIG, BADTIME (outside the fudge).
uint16_t verify_request(const uint8_t* message, std::size_t length, const TsigRecord& tsig,
                        const std::vector<query::TsigKey>& keys, uint64_t now, TsigSession& session);
// Appends a TSIG record to a whole message (ARCOUNT + 1) signed as the session's
// next message; `error`/`other` for a BADTIME answer.
void sign_message(std::vector<uint8_t>& message, TsigSession& session, uint64_t now, uint16_t error = 0);
// Appends a TSIG record to a request of ours (a NOTIFY) signed with key; false (the
// message unchanged) when the key's algorithm or secret cannot be used.
bool sign_request(std::vector<uint8_t>& message, const query::TsigKey& key, uint64_t now = 0);
// Checks the TSIG of a response to a request of ours signed with key whose MAC was
// request_mac: 0, or BADKEY (another key or algorithm), BADSIG (no TSIG, a wrong MAC),
// BADTIME, or the error the peer put in its TSIG.
uint16_t verify_response(const uint8_t* message, std::size_t length, const query::TsigKey& key,
                         std::string_view request_mac, uint64_t now = 0);
// Appends an unsigned TSIG record (empty MAC) with `error`, for BADKEY and BADSIG answers.
void append_unsigned_tsig(std::vector<uint8_t>& message, const TsigRecord& request, uint16_t error, uint64_t now);

// ---- Transfers ----

// A QUERY (not a response) with one question whose type is AXFR or IXFR.
bool is_transfer_request(const uint8_t* message, std::size_t length);
// Its type (AXFR 252 or IXFR 251) when it is one, else 0.
uint16_t transfer_qtype(const uint8_t* message, std::size_t length);

struct TransferReply {
  std::vector<std::vector<uint8_t>> messages;  // in order; each without the TCP length prefix
  uint16_t rcode = 0;
  std::string zone;        // presentation form; empty when the question named none of ours
  std::size_t records = 0; // records sent (SOA twice)
  std::string outcome;     // for the log: "axfr", "ixfr-up-to-date", "refused: ...", ...
};

struct TransferOptions {
  std::size_t max_message = 65535;  // bytes of one message, TSIG included
  uint64_t now = 0;                 // unix seconds (TSIG time); 0: read the clock
};

// Answers an AXFR or IXFR request received over TCP from `client`.
TransferReply answer_transfer(const query::Snapshot& snapshot, const uint8_t* message, std::size_t length,
                              const util::IpAddress& client, const TransferOptions& options = {});

// Whether a zone may be transferred to this client holding this key (lower-case
// text with a final dot; empty: unsigned request).
bool transfer_allowed(const zone::TransferSettings& settings, const util::IpAddress& client, std::string_view key);

// A signed ordinary query (a secondary's SOA refresh): the TSIG is checked, the
// query answered by query::answer_query without it, and the answer signed.
// Returns the answer's length in out (0: nothing to send). out may be message.
std::size_t answer_signed_query(const query::Snapshot& snapshot, const uint8_t* message, std::size_t length,
                                const util::IpAddress& client, query::Transport transport, uint8_t* out,
                                std::size_t out_capacity, uint64_t now = 0);

// ---- NOTIFY (RFC 1996) ----

// Sends NOTIFY to every zone's `transfer.notify` targets when the zone's serial
// changes between two published snapshots, over UDP, from a thread of its own:
// each target is retried with a doubling wait (1 s, 2 s, 4 s ...) until it answers
// or 5 sends went unanswered.
class NotifySender {
 public:
  using SnapshotSource = std::function<std::shared_ptr<const query::Snapshot>()>;
  struct Options {
    std::chrono::milliseconds poll_interval{200};  // how often published snapshots are looked at
    std::chrono::milliseconds first_retry{1000};
    unsigned max_sends = 5;
  };
  explicit NotifySender(SnapshotSource source) : NotifySender(std::move(source), Options{}) {}
  NotifySender(SnapshotSource source, Options options);
  ~NotifySender();
  NotifySender(const NotifySender&) = delete;
  NotifySender& operator=(const NotifySender&) = delete;

  // NOTIFY messages acknowledged and given up on, since start.
  uint64_t acknowledged() const { return acknowledged_.load(); }
  uint64_t abandoned() const { return abandoned_.load(); }

 private:
  struct Pending;
  void run();
  void look_at(const query::Snapshot& snapshot, std::vector<Pending>& pending);

  SnapshotSource source_;
  Options options_;
  std::map<std::string, uint32_t> serials_;  // zone origin (wire) -> serial last seen
  std::weak_ptr<const zone::ZoneSet> zones_seen_;  // the zone set looked at last (weak: never kept alive)
  bool seen_any_ = false;
  std::atomic<uint64_t> acknowledged_{0};
  std::atomic<uint64_t> abandoned_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace meridian::transfer
