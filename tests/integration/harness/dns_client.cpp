#include "integration/harness/dns_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
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

}  // namespace

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

bool TcpConnection::connect(const Endpoint& server, milliseconds timeout, const std::string& source) {
  close();
  sockaddr_storage ss;
  const socklen_t len = make_sockaddr(server, ss);
  fd_ = ::socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return false;
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!source.empty()) {
    sockaddr_storage local;
    const socklen_t local_len = make_sockaddr(Endpoint{source, 0}, local);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&local), local_len) != 0) {
      close();
      return false;
    }
  }
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
