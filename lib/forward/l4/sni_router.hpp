// TLS passthrough by server name: an L4 listener with "sni" reads the client's ClientHello
// without consuming it (MSG_PEEK: the backend gets every byte untouched), and sends the
// connection to the group its server name maps to: the exact name, else the longest
// "*.suffix" that covers it, else "*"; none: the connection is closed.
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>  // before asio/awaitable.hpp (Boost 1.74 forgets it)
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "forward/core/backend.hpp"
#include "forward/core/tier_core.hpp"
#include "forward/l4/client_hello.hpp"

namespace meridian::forward::l4 {

class SniRouter {
 public:
  // Builds one group per group name the routes use, over the region's backends of that group.
  SniRouter(const std::vector<SniRoute>& routes, const std::vector<std::shared_ptr<Backend>>& backends,
            const BalanceSettings& balance);
  // The group for a server name (lower case; empty: the client sent none); nullptr: none.
  Group* choose(std::string_view server_name) const;

 private:
  std::vector<std::unique_ptr<Group>> groups_;
  std::unordered_map<std::string, Group*> exact_;
  std::unordered_map<std::string, Group*> below_;  // "*.example.com" kept as ".example.com"
  Group* any_ = nullptr;
};

// Waits until the bytes the client sent so far hold a whole ClientHello or cannot be one.
// Peeks only: nothing is consumed. The deadline (set by the caller) ends the wait: the
// result is then invalid with error "timed out"; a client that closes: "closed".
boost::asio::awaitable<ClientHello> peek_client_hello(boost::asio::ip::tcp::socket& client, const Deadline& deadline);

}  // namespace meridian::forward::l4
