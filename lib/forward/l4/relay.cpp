#include "forward/l4/relay.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <boost/asio/post.hpp>

#include "util/coarse_clock.hpp"

namespace meridian::forward::l4 {

namespace {

// Buffer-fulls one direction may move per turn before the io thread serves others.
constexpr int kReadsPerTurn = 8;
// Events taken from the set per wake-up.
constexpr int kEventsPerWake = 64;

bool would_block(int e) { return e == EAGAIN || e == EWOULDBLOCK; }

}  // namespace

RelayedPair::RelayedPair(int client_fd, int upstream_fd, std::size_t buffer_bytes, uint64_t& bytes_in,
                         uint64_t& bytes_out)
    : size_(buffer_bytes), last_(util::coarse_now()) {
  up_.from = down_.to = client_fd;
  up_.to = down_.from = upstream_fd;
  up_.buf.reset(new char[size_]);
  down_.buf.reset(new char[size_]);
  up_.bytes = &bytes_in;
  down_.bytes = &bytes_out;
}

RelayedPair::~RelayedPair() {
  if (closed_) return;
  forget_and_close();
}

// Out of the set first: closing a descriptor takes it out of an epoll set only when no
// other descriptor shares its open file (a child forked meanwhile may hold a copy), and a
// registration that outlived the pair would hand the relay a freed cookie.
void RelayedPair::forget_and_close() {
  for (const int fd : {up_.from, down_.from}) {
    if (set_fd_ >= 0) ::epoll_ctl(set_fd_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
  }
}

void RelayedPair::close() {
  if (closed_) return;
  closed_ = true;
  forget_and_close();
  if (on_close) {
    auto f = std::move(on_close);
    f();
  }
}

RelayedPair::Step RelayedPair::pump(Flow& f) {
  int reads = 0;
  for (;;) {
    if (f.begin < f.end) {
      if (f.blocked) return Step::idle;
      const ssize_t w = ::send(f.to, f.buf.get() + f.begin, f.end - f.begin, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w < 0) {
        if (errno == EINTR) continue;
        if (!would_block(errno)) return Step::failed;
        f.blocked = true;  // the write edge resumes it
        return Step::idle;
      }
      f.begin += static_cast<std::size_t>(w);
      continue;
    }
    if (f.eof) {
      if (!f.shut) {
        ::shutdown(f.to, SHUT_WR);  // half-close: this direction ends, the other goes on
        f.shut = true;
      }
      return Step::idle;
    }
    if (!f.readable) return Step::idle;
    if (reads == kReadsPerTurn) return Step::more;
    ++reads;
    const ssize_t n = ::recv(f.from, f.buf.get(), size_, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (!would_block(errno)) return Step::failed;
      f.readable = false;
      return Step::idle;
    }
    if (n == 0) {
      f.eof = true;
      continue;
    }
    // A short read emptied the socket: the next edge says when there is more. Unless the
    // peer's FIN was already reported: its end-of-file read is still to come, and no new
    // edge would announce it.
    if (static_cast<std::size_t>(n) < size_ && !f.hangup) f.readable = false;
    f.begin = 0;
    f.end = static_cast<std::size_t>(n);
    *f.bytes += static_cast<uint64_t>(n);
    last_ = util::coarse_now();
  }
}

void RelayedPair::run(Relay& relay) {
  if (closed_) return;
  const Step a = pump(up_);
  const Step b = pump(down_);
  if (a == Step::failed || b == Step::failed) {
    close();  // reset or error: both directions end
    return;
  }
  if (up_.shut && down_.shut) {
    close();
    return;
  }
  if (a == Step::more || b == Step::more) relay.again(*this);
}

void RelayedPair::on_event(bool client, uint32_t events, Relay& relay) {
  Flow& in = client ? up_ : down_;    // reads this socket
  Flow& out = client ? down_ : up_;   // writes this socket
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) in.readable = true;
  if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) in.hangup = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) out.blocked = false;
  run(relay);
}

Relay::Relay(boost::asio::io_context& io) : io_(io), set_(io) {
  const int fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "epoll_create1");
  set_.assign(fd);
}

Relay::~Relay() {
  boost::system::error_code ignored;
  set_.close(ignored);
}

bool Relay::add(const std::shared_ptr<RelayedPair>& pair) {
  // Registering reports what is already pending (data that came with the connect, a
  // writable socket) as the first edge.
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.ptr = &pair->client_side_;
  bool ok = ::epoll_ctl(set_.native_handle(), EPOLL_CTL_ADD, pair->up_.from, &ev) == 0;
  ev.data.ptr = &pair->upstream_side_;
  ok = ok && ::epoll_ctl(set_.native_handle(), EPOLL_CTL_ADD, pair->down_.from, &ev) == 0;
  pair->set_fd_ = set_.native_handle();
  if (!ok) {
    pair->close();
    return false;
  }
  if (!armed_) arm();
  return true;
}

void Relay::arm() {
  armed_ = true;
  set_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                  [weak = weak_from_this()](const boost::system::error_code& ec) {
                    const auto self = weak.lock();
                    if (!self) return;
                    self->armed_ = false;
                    if (ec) return;  // closed with the relay
                    self->drain();
                  });
}

// One batch per wake-up, then back to Asio, so accepts and timers are not starved. A pair
// is only ever destroyed by the handler of its session, never during a batch, so the
// cookies taken from the kernel stay valid to the end of it (closing a pair takes its
// sockets out of the set, and a closed pair ignores events already taken).
void Relay::drain() {
  epoll_event events[kEventsPerWake];
  int n;
  do {
    n = ::epoll_wait(set_.native_handle(), events, kEventsPerWake, 0);
  } while (n < 0 && errno == EINTR);
  for (int i = 0; i < n; ++i) {
    auto* side = static_cast<RelayedPair::Side*>(events[i].data.ptr);
    if (!side->pair->closed_) side->pair->on_event(side->client, events[i].events, *this);
  }
  arm();
}

void Relay::again(RelayedPair& p) {
  if (p.queued_) return;
  p.queued_ = true;
  again_.push_back(p.shared_from_this());
  if (again_posted_) return;
  again_posted_ = true;
  boost::asio::post(io_, [weak = weak_from_this()] {
    const auto self = weak.lock();
    if (!self) return;
    self->again_posted_ = false;
    auto turn = std::move(self->again_);
    self->again_.clear();
    for (auto& p : turn) {
      p->queued_ = false;
      p->run(*self);
    }
  });
}

}  // namespace meridian::forward::l4
