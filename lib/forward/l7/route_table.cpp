#include "forward/l7/route_table.hpp"

#include <re2/re2.h>

#include "forward/balancer/balancer.hpp"

namespace meridian::forward::l7 {

namespace http = boost::beast::http;

namespace {

std::string_view sv(boost::beast::string_view v) { return {v.data(), v.size()}; }

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c; }

// The Host header without its port, lower-cased ("[v6]" kept whole).
std::string host_of(std::string_view header) {
  std::string host(header);
  for (auto& c : host) c = ascii_lower(c);
  if (!host.empty() && host.front() == '[') {
    if (const auto close = host.find(']'); close != std::string::npos) host.resize(close + 1);
  } else if (const auto colon = host.rfind(':'); colon != std::string::npos) {
    host.resize(colon);
  }
  return host;
}

bool host_matches(const std::string& pattern, const std::string& host) {
  if (pattern.empty()) return true;
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    const std::string_view suffix(pattern.data() + 1, pattern.size() - 1);
    return host.size() > suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0;
  }
  return pattern == host;
}

}  // namespace

struct RouteTable::Compiled {
  struct Share {
    Group* group;
    uint32_t weight;
    int64_t current = 0;  // smooth weighted round robin
  };
  struct Condition {
    ValueMatch match;
    std::unique_ptr<RE2> regex;  // for Kind::regex

    bool holds(std::optional<std::string_view> value) const {
      switch (match.kind) {
        case ValueMatch::Kind::present: return value.has_value();
        case ValueMatch::Kind::absent: return !value.has_value();
        case ValueMatch::Kind::exact: return value && *value == match.value;
        case ValueMatch::Kind::prefix: return value && value->substr(0, match.value.size()) == match.value;
        case ValueMatch::Kind::regex:
          return value && regex && RE2::PartialMatch(re2::StringPiece(value->data(), value->size()), *regex);
      }
      return false;
    }
  };

  Route spec;
  Group* group = nullptr;  // without a split
  std::vector<Share> shares;
  uint64_t total = 0;
  std::vector<Condition> headers, cookies;

  bool matches(const RequestHead& req, const std::string& host, std::string_view path) const {
    if (!host_matches(spec.host, host)) return false;
    if (!spec.path_prefix.empty() && path.substr(0, spec.path_prefix.size()) != spec.path_prefix) return false;
    if (!spec.path.empty() && path != spec.path) return false;
    if (!spec.methods.empty()) {
      const std::string_view method = sv(req.method_string());
      bool any = false;
      for (const auto& m : spec.methods) any = any || m == method;
      if (!any) return false;
    }
    for (const auto& c : headers) {
      // every field of that name counts: one that satisfies the condition is enough
      // (for "absent", none may exist)
      auto [it, end] = req.equal_range(boost::beast::string_view(c.match.name.data(), c.match.name.size()));
      if (it == end) {
        if (!c.holds(std::nullopt)) return false;
        continue;
      }
      bool any = false;
      for (; it != end && !any; ++it) any = c.holds(sv(it->value()));
      if (!any) return false;
    }
    for (const auto& c : cookies)
      if (!c.holds(find_cookie(req, c.match.name))) return false;
    return true;
  }

  // Smooth weighted round robin (nginx): over any run of requests the shares follow the
  // weights within one request.
  Group* next_by_weight() {
    Share* best = nullptr;
    for (auto& s : shares) {
      s.current += s.weight;
      if (!best || s.current > best->current) best = &s;
    }
    best->current -= static_cast<int64_t>(total);
    return best->group;
  }
  Group* by_hash(uint64_t h) const {
    uint64_t point = h % total;
    for (const auto& s : shares) {
      if (point < s.weight) return s.group;
      point -= s.weight;
    }
    return shares.back().group;
  }
};

RouteTable::RouteTable(const std::vector<Route>& routes, const std::vector<std::unique_ptr<Group>>& groups,
                       Group* fallback)
    : fallback_(fallback) {
  const auto find = [&](const std::string& name) -> Group* {
    for (const auto& g : groups)
      if (g->name() == name) return g.get();
    return nullptr;
  };
  for (const auto& r : routes) {
    Compiled c;
    c.spec = r;
    if (r.split.empty()) {
      c.group = find(r.group);
      if (!c.group) continue;
    } else {
      for (const auto& s : r.split)
        if (Group* g = find(s.group); g && s.weight > 0) {
          c.shares.push_back({g, s.weight});
          c.total += s.weight;
        }
      if (c.shares.empty()) continue;
    }
    for (auto [list, out] : {std::pair{&r.headers, &c.headers}, std::pair{&r.cookies, &c.cookies}})
      for (const auto& m : *list) {
        Compiled::Condition cond{m, nullptr};
        if (m.kind == ValueMatch::Kind::regex) cond.regex = std::make_unique<RE2>(m.value, RE2::Quiet);
        out->push_back(std::move(cond));
      }
    routes_.push_back(std::move(c));
  }
}

RouteTable::~RouteTable() = default;

RouteChoice RouteTable::choose(const RequestHead& req, std::string_view client_bytes) {
  if (routes_.empty()) return {fallback_, nullptr};
  const std::string host = host_of(sv(req[http::field::host]));
  const std::string_view target = sv(req.target());
  const std::string_view path = target.substr(0, target.find('?'));
  for (auto& r : routes_) {
    if (!r.matches(req, host, path)) continue;
    const bool idem = r.spec.idempotent;
    if (r.shares.empty()) return {r.group, nullptr, idem};
    const Sticky& sticky = r.spec.sticky;
    if (sticky.kind == Sticky::Kind::cookie) {
      if (const auto pinned = find_cookie(req, sticky.cookie))
        for (const auto& s : r.shares)
          if (s.group->name() == *pinned) return {s.group, nullptr, idem};
      return {r.next_by_weight(), &sticky.cookie, idem};
    }
    if (sticky.kind == Sticky::Kind::hash) {
      std::optional<std::string_view> key;
      if (sticky.key.kind == HashKey::Kind::header) {
        if (const auto it = req.find(sticky.key.name); it != req.end()) key = sv(it->value());
      } else if (sticky.key.kind == HashKey::Kind::cookie) {
        key = find_cookie(req, sticky.key.name);
      }
      return {r.by_hash(hash_bytes(key.value_or(client_bytes), 7)), nullptr, idem};
    }
    return {r.next_by_weight(), nullptr, idem};
  }
  return {fallback_, nullptr};
}

std::optional<std::string_view> find_cookie(const RequestHead& req, std::string_view name) {
  for (auto it = req.find(http::field::cookie); it != req.end() && it->name() == http::field::cookie; ++it) {
    std::string_view v = sv(it->value());
    while (!v.empty()) {
      const std::size_t end = v.find(';');
      std::string_view pair = v.substr(0, end);
      v = end == std::string_view::npos ? std::string_view() : v.substr(end + 1);
      while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
      const std::size_t eq = pair.find('=');
      if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    }
  }
  return std::nullopt;
}

}  // namespace meridian::forward::l7
