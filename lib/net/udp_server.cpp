#include "net/udp_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "dns/constants.hpp"
#include "net/answer.hpp"
#include "query/responder.hpp"
#include "rrl/rrl.hpp"

namespace meridian::net {

namespace {

constexpr unsigned kBatch = 32;             // datagrams per recvmmsg/sendmmsg
// Queries beyond this are malformed anyway, and UDP responses stay within
// max_udp_payload (at most 4096).
constexpr std::size_t kPacketBuffer = 4096;

socklen_t fill_sockaddr(const util::HostPort& hp, sockaddr_storage& ss) {
  std::memset(&ss, 0, sizeof ss);
  const auto ip = util::IpAddress::from_asio(hp.address);
  if (ip.family == 4) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(hp.port);
    std::memcpy(&sin->sin_addr, ip.bytes(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(hp.port);
  std::memcpy(&sin6->sin6_addr, ip.bytes(), 16);
  sin6->sin6_scope_id = hp.address.to_v6().scope_id();
  return sizeof(sockaddr_in6);
}

query::ClientAddress client_of(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return util::IpAddress::v4(&reinterpret_cast<const sockaddr_in&>(ss).sin_addr);
  return util::IpAddress::v6(&reinterpret_cast<const sockaddr_in6&>(ss).sin6_addr);
}

// Response rate limiting of one reply (out of line: the loop pays one branch when RRL is
// off). Returns the length to send, 0 for none; counts what it did.
[[gnu::noinline]] std::size_t rate_limit(rrl::Limiter& limiter, const rrl::Policy& policy,
                                         const query::ClientAddress& client, uint8_t* reply, std::size_t length,
                                         query::AnswerInfo& info, uint32_t now, DnsCounters& counters) {
  // A valid server cookie proves the source address: never limited (nor is TCP).
  if (info.cookie == cookies::CookieState::valid) return length;
  rrl::ResponseFacts facts;
  facts.rcode = info.rcode;
  if (info.zone) facts.zone = info.zone->origin();
  facts.wildcard = info.wildcard;
  facts.client_cookie = info.cookie == cookies::CookieState::client_only || info.cookie == cookies::CookieState::invalid;
  const rrl::Outcome out = rrl::limit_response(limiter, policy, client, reply, length, facts, now);
  if (out.action == rrl::Action::send) return length;
  counters.record_rate_limited(out.action);
  if (out.action == rrl::Action::slip) {
    // What went out: no answer, TC=1 or BADCOOKIE.
    info.service = info.region = -1;
    if (out.badcookie) info.rcode = dns::rcode::BADCOOKIE;
    else info.truncated = true;
  }
  return out.length;
}

}  // namespace

int open_udp_socket(const util::HostPort& where, bool reuse_port) {
  const int family = where.address.is_v4() ? AF_INET : AF_INET6;
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  const int one = 1;
  if (reuse_port) ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  // No path-MTU discovery for DNS replies: a forged ICMP "fragmentation needed"
  // must not shrink what we send (the fragmentation attacks on DNS); replies
  // larger than the path fragment as RFC 6891 expects. OMIT where the kernel has it.
  {
    const int omit = family == AF_INET ? IP_PMTUDISC_OMIT : IPV6_PMTUDISC_OMIT;
    const int dont = family == AF_INET ? IP_PMTUDISC_DONT : IPV6_PMTUDISC_DONT;
    const int level = family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
    const int name = family == AF_INET ? IP_MTU_DISCOVER : IPV6_MTU_DISCOVER;
    if (::setsockopt(fd, level, name, &omit, sizeof omit) != 0) ::setsockopt(fd, level, name, &dont, sizeof dont);
  }
  const int buf = 4 << 20;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  sockaddr_storage ss;
  const socklen_t len = fill_sockaddr(where, ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::system_error(err, std::generic_category(), "bind udp " + where.to_string());
  }
  return fd;
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in&>(ss).sin_port);
  return ntohs(reinterpret_cast<sockaddr_in6&>(ss).sin6_port);
}

util::HostPort UdpServer::bind(const util::HostPort& where, unsigned threads) {
  util::HostPort actual = where;
  for (unsigned i = 0; i < (threads ? threads : 1); ++i) {
    const int fd = open_udp_socket(actual, true);
    if (actual.port == 0) actual.port = bound_port(fd);
    sockets_.push_back(fd);
  }
  return actual;
}

void UdpServer::start() {
  for (int fd : sockets_) threads_.emplace_back([this, fd] { worker(fd); });
}

void UdpServer::stop() {
  stopping_.store(true);
  // Wakes the workers blocked in recvmmsg: a receive-shut socket returns at once (Linux does
  // this for unconnected UDP sockets too, answering ENOTCONN). So the sockets need no receive
  // timeout, whose timer the kernel would arm and cancel on every sleep of the query loop.
  for (int fd : sockets_) ::shutdown(fd, SHUT_RD);
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
  for (int fd : sockets_) ::close(fd);
  sockets_.clear();
}

void UdpServer::worker(int fd) {
  // All buffers are set up once; the loop below allocates nothing.
  // The response is written over the query (answer_query allows it): one buffer
  // per datagram, and the header and question are already in place.
  struct Slot {
    uint8_t packet[kPacketBuffer];
    sockaddr_storage peer;
    iovec in_iov;
    iovec out_iov;
  };
  std::unique_ptr<Slot[]> slots(new Slot[kBatch]);
  mmsghdr in[kBatch];
  mmsghdr out[kBatch];
  std::memset(in, 0, sizeof in);
  std::memset(out, 0, sizeof out);  // the kernel writes only msg_len of these
  for (unsigned i = 0; i < kBatch; ++i) {
    slots[i].in_iov = {slots[i].packet, kPacketBuffer};
    in[i].msg_hdr.msg_iov = &slots[i].in_iov;
    in[i].msg_hdr.msg_iovlen = 1;
    in[i].msg_hdr.msg_name = &slots[i].peer;
    in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    out[i].msg_hdr.msg_iovlen = 1;
  }
  // Parked while blocked in recvmmsg: an idle worker keeps no replaced snapshot alive.
  BatchReader reader(snapshots_);
  DnsCounters& counters = stats_.slot();
  rrl::Limiter limiter;  // its table is allocated while RRL is on

  while (!stopping_.load(std::memory_order_relaxed)) {
    reader.park();
    // The raw system call: libc's wrapper adds a thread-cancellation check around
    // it, which this loop does not use (threads stop through stopping_).
    const int received = static_cast<int>(::syscall(SYS_recvmmsg, fd, in, kBatch, MSG_WAITFORONE, nullptr));
    // stop() shut the socket (receives then return at once, empty), or a transient error
    if (received <= 0 || stopping_.load(std::memory_order_relaxed)) continue;
    const query::Snapshot* current = reader.enter();
    if (!current) continue;  // nothing published yet: no answer
    const query::Snapshot& snapshot = *current;
    const query::AnswerClock clock;  // read once per batch, if a dynamic answer needs it
    const rrl::Policy* rrl_policy = snapshot.rrl.get();
    uint32_t rrl_now = 0;
    if (rrl_policy) [[unlikely]] {
      limiter.fit(*rrl_policy);
      rrl_now = static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(clock.now().time_since_epoch()).count());
    } else if (limiter.capacity()) [[unlikely]] {
      limiter.release();
    }
    // The loop comes in two copies, chosen once per batch, so that without RRL a
    // query pays nothing for it.
    auto answer_batch = [&]<bool kRateLimit>() {
      unsigned replies = 0;
      for (int i = 0; i < received; ++i) {
        Slot& s = slots[i];
        query::AnswerInfo info;
        std::size_t n = 0;
        if (!(in[i].msg_hdr.msg_flags & MSG_TRUNC)) {
          n = answer_dns_query(snapshot, s.packet, in[i].msg_len, client_of(s.peer), query::Transport::udp, clock,
                               s.packet, kPacketBuffer, info);
        } else {
          info.dropped = true;
        }
        if constexpr (kRateLimit) {
          if (n) n = rate_limit(limiter, *rrl_policy, client_of(s.peer), s.packet, n, info, rrl_now, counters);
          if (n == 0 && !info.dropped) {
            counters.record_unanswered(query::Transport::udp);
            continue;
          }
        }
        counters.record(query::Transport::udp, info);
        if (n == 0) continue;
        s.out_iov = {s.packet, n};
        out[replies].msg_hdr.msg_iov = &s.out_iov;
        out[replies].msg_hdr.msg_name = &s.peer;
        out[replies].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
        ++replies;
      }
      return replies;
    };
    const unsigned replies =
        rrl_policy ? answer_batch.template operator()<true>() : answer_batch.template operator()<false>();
    // msg_namelen is the one input field the kernel rewrote.
    for (int i = 0; i < received; ++i) in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
    unsigned sent = 0;
    while (sent < replies) {
      const int r = static_cast<int>(::syscall(SYS_sendmmsg, fd, out + sent, replies - sent, 0));
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        ++sent;  // skip the datagram the kernel refused (e.g. unreachable peer)
        continue;
      }
      sent += static_cast<unsigned>(r);
    }
  }
}

}  // namespace meridian::net
