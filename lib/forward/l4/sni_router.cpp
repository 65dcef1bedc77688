#include "forward/l4/sni_router.hpp"

#include <sys/socket.h>

#include <cerrno>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace meridian::forward::l4 {

namespace asio = boost::asio;

SniRouter::SniRouter(const std::vector<SniRoute>& routes, const std::vector<std::shared_ptr<Backend>>& backends,
                     const BalanceSettings& balance) {
  std::unordered_map<std::string, Group*> by_group;
  for (const auto& r : routes) {
    Group*& g = by_group[r.group];
    if (!g) {
      std::vector<std::shared_ptr<Backend>> members;
      for (const auto& b : backends)
        if (b->group == r.group) members.push_back(b);
      groups_.push_back(std::make_unique<Group>(r.group, std::move(members), balance));
      g = groups_.back().get();
    }
    if (r.name == "*") any_ = g;
    else if (r.name.starts_with("*.")) below_[r.name.substr(1)] = g;
    else exact_[r.name] = g;
  }
}

Group* SniRouter::choose(std::string_view name) const {
  if (!name.empty()) {
    if (const auto it = exact_.find(std::string(name)); it != exact_.end()) return it->second;
    // the longest suffix first: "a.b.example.com" tries ".b.example.com", then ".example.com", ".com"
    for (std::size_t dot = name.find('.'); dot != std::string_view::npos; dot = name.find('.', dot + 1))
      if (const auto it = below_.find(std::string(name.substr(dot))); it != below_.end()) return it->second;
  }
  return any_;
}

asio::awaitable<ClientHello> peek_client_hello(asio::ip::tcp::socket& client, const Deadline& deadline) {
  const auto fail = [](const char* why) {
    ClientHello h;
    h.status = ClientHello::Status::invalid;
    h.error = why;
    return h;
  };
  std::vector<uint8_t> buf(kMaxClientHelloWire);
  for (;;) {
    // Peeked here, not by an async receive: between this read and the wait below the io
    // thread runs nothing else, so an edge for bytes arriving after it cannot be lost.
    const ssize_t n = ::recv(client.native_handle(), buf.data(), buf.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) co_return fail("closed");
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) co_return fail("read error");
    if (n > 0) {
      ClientHello h = parse_client_hello(std::span<const uint8_t>(buf.data(), static_cast<std::size_t>(n)));
      // kMaxClientHelloWire bytes always decide; a full buffer that did not is refused anyway
      if (h.status != ClientHello::Status::incomplete) co_return h;
      if (static_cast<std::size_t>(n) == buf.size()) co_return fail("ClientHello too large");
    }
    boost::system::error_code ec;
    co_await client.async_wait(asio::ip::tcp::socket::wait_read, asio::redirect_error(asio::use_awaitable, ec));
    if (deadline.expired()) co_return fail("timed out");
    if (ec) co_return fail("closed");
  }
}

}  // namespace meridian::forward::l4
