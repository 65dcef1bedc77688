#include "forward/l4/tcp_listener.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "forward/l4/proxy_protocol.hpp"
#include "forward/l4/relay_watch.hpp"
#include "util/coarse_clock.hpp"
#include "util/ip_address.hpp"
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
  if (!s.sni.empty()) c->sni = std::make_unique<SniRouter>(s.sni, c->region->backends, s.balance);
  return c;
}

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
  const auto ip = util::IpAddress::from_asio(peer.address()).unmapped();
  const std::string addr_bytes(reinterpret_cast<const char*>(ip.bytes()), ip.size());
  const uint64_t key = hash_bytes(addr_bytes);

  bool aborted = false;
  std::shared_ptr<RelayedPair> pair;
  Tracked guard(core_, [&](bool force) {
    if (!force) return;
    aborted = true;
    boost::system::error_code e;
    client.close(e);
    if (pair) pair->close();
  });

  Group* group = cfg->group.get();
  if (cfg->sni) {
    // TLS passthrough: the group follows the ClientHello's server name
    Deadline deadline(core_, client);
    deadline.expires_after(s.connect_timeout);
    const ClientHello hello = co_await peek_client_hello(client, deadline);
    if (aborted) co_return;
    group = hello.status == ClientHello::Status::complete ? cfg->sni->choose(hello.server_name) : nullptr;
    if (!group) {
      const bool timeout = hello.status != ClientHello::Status::complete && std::string_view(hello.error) == "timed out";
      ++(hello.status == ClientHello::Status::complete ? sni_no_route_ : timeout ? sni_timeouts_ : sni_invalid_);
      util::log(util::LogLevel::debug, "forward_sni_refused",
                {{"listener", id_.listen}, {"client", peer.address().to_string()},
                 {"reason", hello.status == ClientHello::Status::complete ? "no route for " + hello.server_name
                                                                           : std::string(hello.error)}});
      client.close(ec);
      co_return;
    }
  }

  std::vector<Backend*> tried;
  std::shared_ptr<Backend> chosen;
  tcp::socket upstream(core_.io);
  for (unsigned attempt = 0; attempt < s.connect_attempts && !aborted; ++attempt) {
    Backend* b = group->pick(util::coarse_now(), key, tried);
    if (!b) break;
    tried.push_back(b);
    std::shared_ptr<Backend> hold;
    for (const auto& m : group->members())
      if (m.get() == b) hold = m;
    ++b->active;
    ++b->counters.requests;
    b->circuit.on_dispatch(util::coarse_now());
    beast::tcp_stream conn(core_.io);
    conn.expires_after(s.connect_timeout);
    co_await conn.async_connect(b->endpoint, redirect_error(use_awaitable, ec));
    if (!ec) {
      cfg->region->on_success(*b, util::coarse_now());
      upstream = conn.release_socket();
      chosen = std::move(hold);
      break;
    }
    --b->active;
    ++b->counters.connect_failures;
    cfg->region->on_failure(*b, util::coarse_now(), "connect: " + (ec == beast::error::timeout ? std::string("timed out") : ec.message()));
    if (attempt + 1 < s.connect_attempts) ++connect_retries_;
  }
  if (!chosen) {
    if (!aborted) ++no_backend_;
    client.close(ec);
    co_return;
  }
  struct Active {
    std::shared_ptr<Backend> backend;
    ~Active() { --backend->active; }
  } active{chosen};
  if (aborted) co_return;
  upstream.set_option(tcp::no_delay(true), ec);
  if (s.proxy_protocol != ProxyProtocol::off) {
    const std::string header = s.proxy_protocol == ProxyProtocol::v1 ? proxy_v1(peer, local) : proxy_v2(peer, local);
    co_await asio::async_write(upstream, asio::buffer(header), redirect_error(use_awaitable, ec));
    if (ec || aborted) co_return;
  }
  // From here the relay moves the bytes; this coroutine keeps the idle timeout.
  pair = std::make_shared<RelayedPair>(client.release(ec), upstream.release(ec), s.buffer_bytes, bytes_in_, bytes_out_);
  if (co_await relay_until_closed(core_.io, *relay_, pair, s.idle_timeout) == RelayEnd::idle_timeout) ++idle_timeouts_;
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
  if (cfg_->sni)
    for (const auto& [reason, n] : {std::pair{"no_route", sni_no_route_}, std::pair{"invalid", sni_invalid_},
                                    std::pair{"timeout", sni_timeouts_}})
      m.add("meridian_forward_tcp_sni_refused_total", "counter",
            "Connections closed before a backend was chosen by SNI, by reason.",
            l + ",reason=\"" + reason + "\"", double(n));
  m.add("meridian_forward_tcp_bytes_total", "counter", "Bytes proxied, by direction.", l + ",direction=\"in\"",
        double(bytes_in_));
  m.add("meridian_forward_tcp_bytes_total", "counter", "Bytes proxied, by direction.", l + ",direction=\"out\"",
        double(bytes_out_));
}

nlohmann::json TcpListener::status() const {
  nlohmann::json j = {{"kind", "l4"},
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
  if (cfg_->sni) j["sni_refused"] = {{"no_route", sni_no_route_}, {"invalid", sni_invalid_}, {"timeout", sni_timeouts_}};
  return j;
}

}  // namespace meridian::forward::l4
