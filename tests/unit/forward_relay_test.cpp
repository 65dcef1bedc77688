// The L4 relay on socket pairs: bytes both ways, half-close, a FIN that arrives with the
// last data, back-pressure from a slow reader, errors, close.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

#include <boost/asio/io_context.hpp>

#include "forward/l4/relay.hpp"

using namespace meridian::forward::l4;
using namespace std::chrono_literals;

namespace {

struct Ends {
  int near = -1, far = -1;  // near goes to the relay, the test talks through far
};

Ends stream_pair() {
  int fds[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
  ::fcntl(fds[1], F_SETFL, ::fcntl(fds[1], F_GETFL) | O_NONBLOCK);
  return {fds[0], fds[1]};
}

struct Fixture {
  boost::asio::io_context io{1};
  std::shared_ptr<Relay> relay = std::make_shared<Relay>(io);
  Ends client = stream_pair(), backend = stream_pair();
  uint64_t in = 0, out = 0;
  std::shared_ptr<RelayedPair> pair;
  int closes = 0;

  explicit Fixture(std::size_t buffer = 1024) {
    pair = std::make_shared<RelayedPair>(client.near, backend.near, buffer, in, out);
    pair->on_close = [this] { ++closes; };
    REQUIRE(relay->add(pair));
  }
  ~Fixture() {
    ::close(client.far);
    ::close(backend.far);
  }
  // Runs the io thread's work until `done` holds (or 5 s pass).
  template <class F>
  bool until(F done) {
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > end) return false;
      io.restart();
      io.run_for(5ms);
    }
    return true;
  }
  // Reads what is there now (non-blocking) and appends it; true at EOF.
  static bool take(int fd, std::string& into) {
    char buf[65536];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        into.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      return n == 0;
    }
  }
};

void send_all(int fd, const std::string& s) { REQUIRE(::send(fd, s.data(), s.size(), MSG_NOSIGNAL) == ssize_t(s.size())); }

}  // namespace

TEST_CASE("relay: bytes both ways, counted per direction") {
  Fixture f;
  send_all(f.client.far, "request");
  std::string at_backend, at_client;
  CHECK(f.until([&] { Fixture::take(f.backend.far, at_backend); return at_backend == "request"; }));
  send_all(f.backend.far, "response!");
  CHECK(f.until([&] { Fixture::take(f.client.far, at_client); return at_client == "response!"; }));
  CHECK(f.in == 7);
  CHECK(f.out == 9);
  CHECK_FALSE(f.pair->closed());
}

TEST_CASE("relay: a FIN right behind the last data is passed on (no new edge announces it)") {
  Fixture f;
  send_all(f.client.far, "last words");
  ::shutdown(f.client.far, SHUT_WR);  // before the relay has read anything: one edge for both
  std::string at_backend;
  bool eof = false;
  CHECK(f.until([&] { eof = Fixture::take(f.backend.far, at_backend); return eof; }));
  CHECK(at_backend == "last words");
  // half-close: the other direction still flows, then its end closes the pair
  send_all(f.backend.far, "answer");
  ::shutdown(f.backend.far, SHUT_WR);
  std::string at_client;
  CHECK(f.until([&] { return Fixture::take(f.client.far, at_client); }));
  CHECK(at_client == "answer");
  CHECK(f.until([&] { return f.pair->closed(); }));
  CHECK(f.closes == 1);
}

TEST_CASE("relay: a slow reader holds the writer back, and nothing is lost") {
  Fixture f(4096);
  std::string sent;
  for (int i = 0; sent.size() < (1u << 20); ++i) sent += "chunk " + std::to_string(i) + "|";
  // The backend reads at most 8 KiB per turn while the client writes all its socket takes:
  // the relay's writes to the backend block again and again.
  std::size_t off = 0;
  std::string got;
  bool eof = false;
  CHECK(f.until([&] {
    if (off < sent.size()) {
      const ssize_t n = ::send(f.client.far, sent.data() + off, sent.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) off += static_cast<std::size_t>(n);
      if (off == sent.size()) ::shutdown(f.client.far, SHUT_WR);
    }
    char buf[8192];
    const ssize_t n = ::read(f.backend.far, buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
    if (n == 0) eof = true;
    return eof;
  }));
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
  CHECK(f.in == sent.size());
}

TEST_CASE("relay: a reset on one side closes both") {
  Fixture f;
  send_all(f.client.far, "x");
  std::string at_backend;
  CHECK(f.until([&] { Fixture::take(f.backend.far, at_backend); return at_backend == "x"; }));
  ::close(f.backend.far);  // the backend goes away entirely
  f.backend.far = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  // the client's next bytes find nobody: both sides end
  send_all(f.client.far, "more");
  std::string at_client;
  CHECK(f.until([&] { return Fixture::take(f.client.far, at_client); }));
  CHECK(f.until([&] { return f.pair->closed(); }));
  CHECK(f.closes == 1);
}

TEST_CASE("relay: close() ends both sockets once, and events after it are ignored") {
  Fixture f;
  f.pair->close();
  f.pair->close();
  CHECK(f.closes == 1);
  std::string at_client;
  CHECK(f.until([&] { return Fixture::take(f.client.far, at_client); }));  // EOF at the client
  char c = 'x';
  CHECK(::send(f.backend.far, &c, 1, MSG_NOSIGNAL) < 0);  // the backend's peer is gone
  f.io.restart();
  f.io.run_for(20ms);  // nothing left to run, nothing touched
  CHECK(f.in == 0);
}

// A child forked while a connection is open holds copies of its sockets; closing the
// parent's descriptors alone would leave them registered, and the relay would be handed
// the freed pair (ASan saw it when a test forked a client during a proxied connection).
TEST_CASE("relay: a closed pair leaves the set even when a copy of its sockets lives on") {
  Fixture f;
  const int client_copy = ::dup(f.client.near), backend_copy = ::dup(f.backend.near);
  REQUIRE(client_copy >= 0);
  REQUIRE(backend_copy >= 0);
  f.pair->close();
  f.pair.reset();  // freed: an event still registered would now point at freed memory
  send_all(f.client.far, "late");
  send_all(f.backend.far, "late");
  f.io.restart();
  f.io.run_for(50ms);
  CHECK(f.in == 0);
  CHECK(f.out == 0);
  ::close(client_copy);
  ::close(backend_copy);
}
