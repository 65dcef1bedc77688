// The routes of an L7 listener compiled against its backend groups: conditions on host,
// path (prefix or exact), method, headers and cookies, tried in order; a route sends to
// one group or splits by weight between groups (canaries), keeping a client on its group
// by a cookie or a hash. Lives in an L7Config (rebuilt on reload); used from the io thread.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/message.hpp>

#include "forward/core/backend.hpp"
#include "forward/l7/framing.hpp"
#include "forward/settings.hpp"

namespace meridian::forward::l7 {

using RequestHead = boost::beast::http::request_header<Fields>;

// What routing decided for one request.
struct RouteChoice {
  Group* group = nullptr;  // nullptr: no route matched and there is no default group (404)
  // Set when a cookie-sticky split chose the group anew: the response pins the client
  // with `Set-Cookie: NAME=GROUP`.
  const std::string* pin_cookie = nullptr;
  bool idempotent = false;  // the route's "idempotent": its requests may be retried whatever their method
};

class RouteTable {
 public:
  // groups: the listener's; fallback: the "default" group or nullptr. Routes whose group
  // (or every share of whose split) has no backend are left out.
  RouteTable(const std::vector<Route>& routes, const std::vector<std::unique_ptr<Group>>& groups, Group* fallback);
  ~RouteTable();
  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;

  // The first route whose conditions all hold decides; none: the fallback.
  // client_bytes: the client's address bytes (the default hash key).
  RouteChoice choose(const RequestHead& req, std::string_view client_bytes);

 private:
  struct Compiled;
  std::vector<Compiled> routes_;
  Group* fallback_;
};

// The value of the first cookie `name` in the request's Cookie headers.
std::optional<std::string_view> find_cookie(const RequestHead& req, std::string_view name);

}  // namespace meridian::forward::l7
