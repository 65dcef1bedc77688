#include "forward/core/listener.hpp"

#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "util/host_port.hpp"

namespace meridian::forward {

tcp::acceptor Listener::bind(boost::asio::io_context& io, const std::string& listen) {
  const auto hp = util::parse_host_port(listen);
  if (!hp) throw std::runtime_error("cannot listen on " + listen + ": not an address:port");
  tcp::endpoint ep(hp->address, hp->port);
  tcp::acceptor a(io);
  boost::system::error_code ec;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && ep.address().is_v6()) a.set_option(boost::asio::ip::v6_only(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(1024, ec);
  if (ec) throw std::runtime_error("cannot listen on " + listen + ": " + ec.message());
  return a;
}

void Listener::start() {
  boost::asio::co_spawn(core_.io, [self = shared_from_this()] { return self->accept_loop(); },
                        boost::asio::detached);
}

boost::asio::awaitable<void> Listener::accept_loop() {
  namespace asio = boost::asio;
  using asio::redirect_error;
  using asio::use_awaitable;
  auto self = shared_from_this();
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(redirect_error(use_awaitable, ec));
    if (ec) {
      if (!acceptor_.is_open() || ec == asio::error::operation_aborted) co_return;
      // out of descriptors and the like: pause instead of spinning
      asio::steady_timer t(core_.io, std::chrono::milliseconds(50));
      co_await t.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    if (connections_active_ >= max_connections() || core_.draining) {
      ++connections_refused_;
      socket.close(ec);
      continue;
    }
    asio::co_spawn(
        core_.io, [self, s = std::move(socket)]() mutable { return self->session(std::move(s)); }, asio::detached);
  }
}

void Listener::connection_metrics(MetricSink& m) const {
  const std::string l = labels();
  m.add("meridian_forward_connections_active", "gauge", "Client connections open on a forwarding listener.", l,
        double(connections_active_));
  m.add("meridian_forward_connections_total", "counter", "Client connections accepted by a forwarding listener.", l,
        double(connections_total_));
  m.add("meridian_forward_connections_refused_total", "counter",
        "Client connections closed at once because the listener was at max_connections.", l,
        double(connections_refused_));
}

std::string Listener::bound() const {
  boost::system::error_code ec;
  const auto ep = acceptor_.local_endpoint(ec);
  if (ec) return id_.listen;
  util::HostPort hp{ep.address(), ep.port()};
  return hp.to_string();
}

std::string Listener::labels() const {
  // The bound address: a configured port 0 is shown as the port it got.
  return "tier=\"" + id_.kind + "\",listener=\"" + label_escape(bound()) + "\",service=\"" + label_escape(id_.service) +
         "\",region=\"" + label_escape(id_.region) + "\"";
}

}  // namespace meridian::forward
