// The DNS test client of the integration tests: UDP and TCP exchanges with
// timeouts on top of the query builder and response decoder shared with the
// unit tests (support/dns_message.hpp).
#pragma once
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "integration/harness/process.hpp"
#include "support/dns_message.hpp"

namespace meridian::test {

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

  // source: the local address to connect from (e.g. "127.0.0.2"); empty: the kernel's choice.
  bool connect(const Endpoint& server, std::chrono::milliseconds timeout = std::chrono::seconds(15),
               const std::string& source = "");
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

// Conveniences for tests: one query, parsed answer; ok=false when nothing came.
Message ask_udp(const Endpoint& server, const QuerySpec& spec);
Message ask_tcp(const Endpoint& server, const QuerySpec& spec);

// Ask once over UDP and TCP until the server answers or the deadline passes.
bool wait_until_answering(const Endpoint& server, std::chrono::milliseconds deadline = std::chrono::seconds(20));

}  // namespace meridian::test
