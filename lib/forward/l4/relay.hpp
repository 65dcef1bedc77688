// Moves the bytes of the L4 proxy's connections. Each connection's two sockets sit in an
// edge-triggered epoll set of the relay's own, which the io thread drains whenever Asio
// reports it readable. Why not Asio's own reads: in the Boost we build with, an Asio read
// either tries the socket first (one read failing with EAGAIN per message) or waits first
// (one epoll_ctl per message). Here a read that comes back short means the socket is empty,
// and the next edge says when it is not: one recv and one send per message and direction.
#pragma once
#include <sys/epoll.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

namespace meridian::forward::l4 {

class Relay;

// One proxied connection: a client socket and a backend socket, bytes copied both ways,
// half-close passed on. It owns both descriptors from the moment it is made.
class RelayedPair : public std::enable_shared_from_this<RelayedPair> {
 public:
  RelayedPair(int client_fd, int upstream_fd, std::size_t buffer_bytes, uint64_t& bytes_in, uint64_t& bytes_out);
  ~RelayedPair();
  RelayedPair(const RelayedPair&) = delete;
  RelayedPair& operator=(const RelayedPair&) = delete;

  // Closes both sockets (the relay forgets them) and calls on_close once.
  void close();
  bool closed() const { return closed_; }
  // When a byte last moved (coarse clock): the idle timeout counts from it.
  std::chrono::steady_clock::time_point last_activity() const { return last_; }
  std::function<void()> on_close;

 private:
  friend class Relay;
  // One direction: read `from`, write `to`.
  struct Flow {
    int from = -1, to = -1;
    std::unique_ptr<char[]> buf;
    std::size_t begin = 0, end = 0;  // unsent bytes
    bool readable = false;  // an edge said data (or EOF) may be waiting
    bool blocked = false;   // `to` refused more; wait for its write edge
    bool hangup = false;    // an edge reported the peer's FIN (or an error) on `from`
    bool eof = false;       // `from` ended; pass it on once flushed
    bool shut = false;      // passed on
    uint64_t* bytes = nullptr;
  };
  // The epoll cookie of one socket.
  struct Side {
    RelayedPair* pair;
    bool client;
  };
  enum class Step { idle, more, failed };
  Step pump(Flow& f);
  void on_event(bool client, uint32_t events, Relay& relay);
  void run(Relay& relay);
  void forget_and_close();

  std::size_t size_;
  Flow up_;    // client -> backend
  Flow down_;  // backend -> client
  Side client_side_{this, true}, upstream_side_{this, false};
  std::chrono::steady_clock::time_point last_;
  int set_fd_ = -1;  // the relay's epoll set, once added
  bool closed_ = false;
  bool queued_ = false;  // in the relay's again list
};

class Relay : public std::enable_shared_from_this<Relay> {
 public:
  explicit Relay(boost::asio::io_context& io);  // throws std::system_error
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Starts moving the pair's bytes; false (pair closed) when the kernel refuses the sockets.
  bool add(const std::shared_ptr<RelayedPair>& pair);

 private:
  friend class RelayedPair;
  void arm();
  void drain();
  // A pair that stopped at its per-turn limit with bytes still waiting: it gets another turn
  // after the io thread has run what else is ready.
  void again(RelayedPair& p);

  boost::asio::io_context& io_;
  boost::asio::posix::stream_descriptor set_;  // the epoll descriptor, as Asio sees it
  std::vector<std::shared_ptr<RelayedPair>> again_;
  bool again_posted_ = false;
  bool armed_ = false;
};

}  // namespace meridian::forward::l4
