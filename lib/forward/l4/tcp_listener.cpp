#include "forward/l4/tcp_listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "forward/l4/proxy_protocol.hpp"
#include "util/coarse_clock.hpp"
#include "util/log.hpp"

namespace meridian::forward::l4 {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

std::shared_ptr<L4Config> L4Config::build(const L4Settings& s, std::shared_ptr<Region> region) {
  auto c = std::make_shared<L4Config>();
  c->s = s;
  c->region = std::move(region);
  c->group = std::make_unique<Group>("all", c->region->backends, s.balance);
  return c;
}

// One proxied connection: two pumps and an idle watchdog share it.
struct Pipe {
  Pipe(std::shared_ptr<TcpListener> l, TierCore& core, tcp::socket c, tcp::socket u, std::shared_ptr<Backend> b, Ms idle)
      : listener(std::move(l)), client(std::move(c)), upstream(std::move(u)), backend(std::move(b)), timer(core.io),
        idle(idle), last(Clock::now()),
        tracked(core, [this](bool force) {
          if (force) close();
        }) {}
  ~Pipe() { --backend->active; }
  void close() {
    boost::system::error_code ec;
    client.close(ec);
    upstream.close(ec);
    timer.cancel();
  }
  std::shared_ptr<TcpListener> listener;
  tcp::socket client, upstream;
  std::shared_ptr<Backend> backend;
  asio::steady_timer timer;
  Ms idle;
  Time last;
  int pumps = 2;
  Tracked tracked;
};

namespace {

bool would_block(const boost::system::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// Copies from -> to until EOF or an error. Reads go through the reactor's speculative
// path: a read that fills less than the buffer emptied the socket, so the reactor waits for
// the next edge before reading again (no read failing with EAGAIN), and it re-arms nothing
// (an explicit async_wait would cost one epoll_ctl per message). Writes are tried directly
// and only wait when the kernel's buffer is full.
awaitable<void> pump(std::shared_ptr<Pipe> p, tcp::socket& from, tcp::socket& to, std::size_t size, uint64_t& bytes) {
  std::unique_ptr<char[]> buf(new char[size]);
  boost::system::error_code ec;
  for (;;) {
    const std::size_t n =
        co_await from.async_read_some(asio::buffer(buf.get(), size), redirect_error(use_awaitable, ec));
    if (ec) break;
    p->last = util::coarse_now();  // per message: the cheap clock
    std::size_t done = 0;
    while (done < n) {
      const std::size_t w = to.write_some(asio::buffer(buf.get() + done, n - done), ec);
      if (ec) break;
      done += w;
    }
    if (would_block(ec)) {
      ec = {};
      co_await asio::async_write(to, asio::buffer(buf.get() + done, n - done), redirect_error(use_awaitable, ec));
    }
    if (ec) break;
    bytes += n;
  }
  if (ec == asio::error::eof) {
    // half-close: pass the end of this direction on, keep the other one running
    boost::system::error_code e;
    to.shutdown(tcp::socket::shutdown_send, e);
    if (--p->pumps == 0) p->close();
  } else {
    --p->pumps;
    p->close();  // reset or error: both directions end
  }
}

awaitable<void> watchdog(std::shared_ptr<Pipe> p, uint64_t& idle_timeouts) {
  for (;;) {
    p->timer.expires_at(p->last + p->idle);
    boost::system::error_code ec;
    co_await p->timer.async_wait(redirect_error(use_awaitable, ec));
    if (p->pumps == 0 || !p->client.is_open()) co_return;
    if (Clock::now() >= p->last + p->idle) {
      ++idle_timeouts;
      p->close();
      co_return;
    }
  }
}

}  // namespace

awaitable<void> TcpListener::session(tcp::socket client) {
  auto self = std::static_pointer_cast<TcpListener>(shared_from_this());
  std::shared_ptr<L4Config> cfg = cfg_;
  const L4Settings& s = cfg->s;
  ++connections_total_;
  ++connections_active_;
  struct Count {
    uint64_t& n;
    ~Count() { --n; }
  } count{connections_active_};

  boost::system::error_code ec;
  const tcp::endpoint peer = client.remote_endpoint(ec);
  const tcp::endpoint local = client.local_endpoint(ec);
  if (ec) co_return;
  client.set_option(tcp::no_delay(true), ec);
  std::string addr_bytes;
  {
    auto a = peer.address();
    if (a.is_v6() && a.to_v6().is_v4_mapped()) a = asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6());
    if (a.is_v4()) {
      const auto b = a.to_v4().to_bytes();
      addr_bytes.assign(reinterpret_cast<const char*>(b.data()), b.size());
    } else {
      const auto b = a.to_v6().to_bytes();
      addr_bytes.assign(reinterpret_cast<const char*>(b.data()), b.size());
    }
  }
  const uint64_t key = hash_bytes(addr_bytes);

  bool aborted = false;
  Tracked guard(core_, [&](bool force) {
    if (force) {
      aborted = true;
      boost::system::error_code e;
      client.close(e);
    }
  });

  std::vector<Backend*> tried;
  std::shared_ptr<Backend> chosen;
  tcp::socket upstream(core_.io);
  for (unsigned attempt = 0; attempt < s.connect_attempts && !aborted; ++attempt) {
    Backend* b = cfg->group->pick(Clock::now(), key, tried);
    if (!b) break;
    tried.push_back(b);
    std::shared_ptr<Backend> hold;
    for (const auto& m : cfg->group->members())
      if (m.get() == b) hold = m;
    ++b->active;
    ++b->counters.requests;
    b->circuit.on_dispatch(Clock::now());
    beast::tcp_stream conn(core_.io);
    conn.expires_after(s.connect_timeout);
    co_await conn.async_connect(b->endpoint, redirect_error(use_awaitable, ec));
    if (!ec) {
      cfg->region->on_success(*b, Clock::now());
      upstream = conn.release_socket();
      chosen = std::move(hold);
      break;
    }
    --b->active;
    ++b->counters.connect_failures;
    cfg->region->on_failure(*b, Clock::now(), "connect: " + (ec == beast::error::timeout ? std::string("timed out") : ec.message()));
    if (attempt + 1 < s.connect_attempts) ++connect_retries_;
  }
  if (!chosen) {
    if (!aborted) ++no_backend_;
    client.close(ec);
    co_return;
  }
  if (aborted) {
    --chosen->active;
    co_return;
  }
  upstream.set_option(tcp::no_delay(true), ec);
  client.non_blocking(true, ec);  // the pumps write directly first
  upstream.non_blocking(true, ec);
  auto pipe = std::make_shared<Pipe>(self, core_, std::move(client), std::move(upstream), chosen, s.idle_timeout);
  if (s.proxy_protocol != ProxyProtocol::off) {
    const std::string header = s.proxy_protocol == ProxyProtocol::v1 ? proxy_v1(peer, local) : proxy_v2(peer, local);
    co_await asio::async_write(pipe->upstream, asio::buffer(header), redirect_error(use_awaitable, ec));
    if (ec) {
      pipe->close();
      co_return;
    }
  }
  asio::co_spawn(core_.io, pump(pipe, pipe->client, pipe->upstream, s.buffer_bytes, bytes_in_), asio::detached);
  asio::co_spawn(core_.io, pump(pipe, pipe->upstream, pipe->client, s.buffer_bytes, bytes_out_), asio::detached);
  co_await watchdog(pipe, idle_timeouts_);
}

void TcpListener::metrics(MetricSink& m) const {
  connection_metrics(m);
  const std::string l = labels();
  m.add("meridian_forward_tcp_connect_retries_total", "counter", "Backend connects retried on another backend.", l,
        double(connect_retries_));
  m.add("meridian_forward_tcp_no_backend_total", "counter", "Client connections closed because no backend connected.",
        l, double(no_backend_));
  m.add("meridian_forward_tcp_idle_timeouts_total", "counter", "Proxied connections closed by the idle timeout.", l,
        double(idle_timeouts_));
  m.add("meridian_forward_tcp_bytes_total", "counter", "Bytes proxied, by direction.", l + ",direction=\"in\"",
        double(bytes_in_));
  m.add("meridian_forward_tcp_bytes_total", "counter", "Bytes proxied, by direction.", l + ",direction=\"out\"",
        double(bytes_out_));
}

nlohmann::json TcpListener::status() const {
  return {{"kind", "l4"},
          {"listen", id_.listen},
          {"bound", bound()},
          {"service", id_.service},
          {"region", id_.region},
          {"balance", algorithm_name(cfg_->s.balance.algorithm)},
          {"proxy_protocol", cfg_->s.proxy_protocol == ProxyProtocol::off  ? "off"
                             : cfg_->s.proxy_protocol == ProxyProtocol::v1 ? "v1"
                                                                           : "v2"},
          {"connections_active", connections_active_},
          {"connections_total", connections_total_},
          {"connect_retries", connect_retries_},
          {"no_backend", no_backend_},
          {"idle_timeouts", idle_timeouts_}};
}

}  // namespace meridian::forward::l4
