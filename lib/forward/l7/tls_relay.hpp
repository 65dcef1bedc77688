// The relay of an upgraded connection when either side is TLS. The L4 relay (l4/relay.*)
// moves bytes between two sockets with recv/send; a TLS stream cannot go there: Asio's
// ssl::stream keeps OpenSSL behind a memory BIO and may already hold ciphertext it read
// past the request (and plaintext OpenSSL decrypted but not yet returned), which a raw
// socket relay would lose, and every byte must go through SSL_read/SSL_write anyway (TLS 1.3
// also sends post-handshake messages of its own). So these connections are relayed by two
// coroutines over the streams: a TLS client (the listener terminates TLS) and/or a TLS
// backend (its "tls").
#pragma once
#include <chrono>
#include <cstdint>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "forward/l4/relay_watch.hpp"

namespace meridian::forward::l7 {

// A TLS connection over a socket someone else owns: a TLS listener's client, a TLS backend.
using TlsClientStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

// Copies client -> upstream and upstream -> client until both ended, one failed, or no byte
// moved for idle_timeout (then both are closed). The client closing its side (close_notify
// or EOF) is passed on as a half-close to a clear-text backend; toward a TLS backend it ends
// the relay (the caller sends close_notify: a TLS half-close cannot go out while the other
// direction reads). The backend closing ends the relay (the caller tells the client).
// stop() from elsewhere (the tier's forced close) ends it too.
// Client, Upstream: tcp::socket or TlsClientStream, not both tcp::socket (the epoll relay's).
template <class Client, class Upstream>
class StreamRelay {
 public:
  StreamRelay(Client& client, Upstream& upstream, uint64_t& bytes_in, uint64_t& bytes_out);
  boost::asio::awaitable<l4::RelayEnd> run(std::chrono::steady_clock::duration idle_timeout);
  void stop();
  // The backend closed first: the caller tells the client (close_notify, or FIN).
  bool ended_by_upstream() const { return upstream_ended_ && !failed_; }
  // The client closed first toward a TLS backend: the caller sends it close_notify.
  bool ended_by_client() const { return client_ended_ && !failed_; }

 private:
  boost::asio::awaitable<void> client_to_upstream();
  boost::asio::awaitable<void> upstream_to_client();
  void finished();

  Client& client_;
  Upstream& upstream_;
  uint64_t& bytes_in_;
  uint64_t& bytes_out_;
  boost::asio::steady_timer wake_;
  std::chrono::steady_clock::time_point last_;
  int running_ = 0;
  bool stopping_ = false;
  bool failed_ = false;
  bool upstream_ended_ = false;  // the backend closed
  bool client_ended_ = false;    // the client closed, toward a TLS backend: the relay ends
};

using TlsRelay = StreamRelay<TlsClientStream, boost::asio::ip::tcp::socket>;

}  // namespace meridian::forward::l7
