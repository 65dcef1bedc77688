#include "forward/settings.hpp"

#include <set>

#include "config/server_config.hpp"
#include "util/host_port.hpp"

namespace meridian::forward {

using json = nlohmann::json;
using Pointer = json::json_pointer;

const char* algorithm_name(Algorithm a) {
  switch (a) {
    case Algorithm::round_robin: return "round_robin";
    case Algorithm::weighted_round_robin: return "weighted_round_robin";
    case Algorithm::least_conn: return "least_conn";
    case Algorithm::weighted_least_conn: return "weighted_least_conn";
    case Algorithm::ip_hash: return "ip_hash";
    case Algorithm::consistent_hash: return "consistent_hash";
    case Algorithm::p2c: return "p2c";
  }
  return "round_robin";
}

namespace {

class Reader {
 public:
  explicit Reader(const ErrorSink& sink) : sink_(sink) {}
  bool failed() const { return failed_; }

  void error(const Pointer& at, const std::string& message) {
    failed_ = true;
    if (sink_) sink_(at, message);
  }

  bool object(const json& v, const Pointer& at, const char* what) {
    if (v.is_object()) return true;
    error(at, std::string("\"") + what + "\" must be an object");
    return false;
  }

  void keys(const json& obj, const Pointer& at, std::initializer_list<const char*> allowed) {
    for (const auto& [k, v] : obj.items()) {
      bool ok = false;
      for (const char* a : allowed) ok = ok || k == a;
      if (!ok) {
        std::string list;
        for (const char* a : allowed) list += std::string(list.empty() ? "" : ", ") + a;
        error(at / k, "unknown key \"" + k + "\" (known: " + list + ")");
      }
    }
  }

  void duration(const json& obj, const char* key, const Pointer& at, Ms& out, bool allow_zero = false) {
    if (!obj.contains(key)) return;
    const auto d = config::parse_duration(obj[key]);
    if (!d || d->count() < 0 || (!allow_zero && d->count() == 0)) {
      error(at / key, std::string("\"") + key + "\" must be a duration such as \"10s\" or \"500ms\"");
      return;
    }
    out = *d;
  }

  template <typename T>
  void integer(const json& obj, const char* key, const Pointer& at, T& out, uint64_t lo, uint64_t hi) {
    if (!obj.contains(key)) return;
    const json& v = obj[key];
    const bool whole = v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0);
    if (!whole || v.get<uint64_t>() < lo || v.get<uint64_t>() > hi) {
      error(at / key, std::string("\"") + key + "\" must be an integer from " + std::to_string(lo) + " to " +
                          std::to_string(hi));
      return;
    }
    out = static_cast<T>(v.get<uint64_t>());
  }

  void number(const json& obj, const char* key, const Pointer& at, double& out, double lo, double hi) {
    if (!obj.contains(key)) return;
    const json& v = obj[key];
    if (!v.is_number() || v.get<double>() < lo || v.get<double>() > hi) {
      error(at / key, std::string("\"") + key + "\" must be a number from " + std::to_string(lo) + " to " +
                          std::to_string(hi));
      return;
    }
    out = v.get<double>();
  }

  void boolean(const json& obj, const char* key, const Pointer& at, bool& out) {
    if (!obj.contains(key)) return;
    if (!obj[key].is_boolean()) return error(at / key, std::string("\"") + key + "\" must be true or false");
    out = obj[key].get<bool>();
  }

  void string(const json& obj, const char* key, const Pointer& at, std::string& out) {
    if (!obj.contains(key)) return;
    if (!obj[key].is_string()) return error(at / key, std::string("\"") + key + "\" must be a string");
    out = obj[key].get<std::string>();
  }

  void listen(const json& obj, const Pointer& at, std::string& out) {
    if (!obj.contains("listen")) return error(at, "a listener needs \"listen\": \"ADDRESS:PORT\"");
    if (!obj["listen"].is_string() || !util::parse_host_port(obj["listen"].get<std::string>()))
      return error(at / "listen", "\"listen\" is an address:port such as 127.0.0.11:8080 or [::1]:8080");
    out = obj["listen"].get<std::string>();
  }

  void balance(const json& obj, const Pointer& at, BalanceSettings& b) {
    if (obj.contains("balance")) {
      const json& v = obj["balance"];
      static const std::pair<const char*, Algorithm> names[] = {
          {"round_robin", Algorithm::round_robin},
          {"weighted_round_robin", Algorithm::weighted_round_robin},
          {"least_conn", Algorithm::least_conn},
          {"weighted_least_conn", Algorithm::weighted_least_conn},
          {"ip_hash", Algorithm::ip_hash},
          {"consistent_hash", Algorithm::consistent_hash},
          {"p2c", Algorithm::p2c}};
      bool found = false;
      if (v.is_string())
        for (const auto& [n, a] : names)
          if (v.get<std::string>() == n) b.algorithm = a, found = true;
      if (!found)
        error(at / "balance",
              "\"balance\" is one of round_robin, weighted_round_robin, least_conn, weighted_least_conn, ip_hash, "
              "consistent_hash, p2c");
    }
    if (obj.contains("hash")) {
      const Pointer h = at / "hash";
      const json& v = obj["hash"];
      if (!object(v, h, "hash")) return;
      keys(v, h, {"key", "vnodes"});
      integer(v, "vnodes", h, b.vnodes, 1, 10000);
      if (v.contains("key")) {
        const std::string k = v["key"].is_string() ? v["key"].get<std::string>() : "";
        if (k == "client_ip") b.key.kind = HashKey::Kind::client_ip;
        else if (k.rfind("header:", 0) == 0 && k.size() > 7) b.key = {HashKey::Kind::header, k.substr(7)};
        else if (k.rfind("cookie:", 0) == 0 && k.size() > 7) b.key = {HashKey::Kind::cookie, k.substr(7)};
        else error(h / "key", "\"key\" is \"client_ip\", \"header:NAME\" or \"cookie:NAME\"");
      }
    }
  }

 private:
  const ErrorSink& sink_;
  bool failed_ = false;
};

void read_backends(Reader& r, const json& list, RegionForward& out) {
  const Pointer at("/backends");
  if (!list.is_array() || list.empty()) {
    r.error(at, "\"backends\" is a non-empty array of \"HOST:PORT\" or {\"address\": \"HOST:PORT\", \"weight\": N}");
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const Pointer bat = at / i;
    BackendSpec b;
    const json& e = list[i];
    if (e.is_string()) {
      b.address = e.get<std::string>();
    } else if (e.is_object() && e.contains("address") && e["address"].is_string()) {
      r.keys(e, bat, {"address", "weight", "group", "max_connections"});
      b.address = e["address"].get<std::string>();
      r.integer(e, "weight", bat, b.weight, 0, 1000000);
      r.string(e, "group", bat, b.group);
      r.integer(e, "max_connections", bat, b.max_connections, 1, 1000000);
    } else {
      r.error(bat, "a backend is \"HOST:PORT\" or {\"address\": \"HOST:PORT\", \"weight\": N}");
      continue;
    }
    const auto hp = util::parse_host_port(b.address);
    if (!hp || hp->port == 0) {
      r.error(bat, "\"" + b.address + "\" is not an address:port such as 127.0.0.1:9001 or [::1]:9001");
      continue;
    }
    b.host = hp->address.to_string();
    b.port = hp->port;
    if (!seen.insert(b.address).second) {
      r.error(bat, "backend \"" + b.address + "\" is listed twice");
      continue;
    }
    out.backends.push_back(std::move(b));
  }
}

void read_retry(Reader& r, const json& v, const Pointer& at, RetrySettings& s) {
  if (!r.object(v, at, "retry")) return;
  r.keys(v, at, {"max_retries", "backoff", "budget", "retry_after_cap"});
  r.integer(v, "max_retries", at, s.max_retries, 0, 10);
  r.duration(v, "retry_after_cap", at, s.retry_after_cap, true);
  if (v.contains("backoff")) {
    const Pointer b = at / "backoff";
    if (r.object(v["backoff"], b, "backoff")) {
      r.keys(v["backoff"], b, {"base", "cap"});
      r.duration(v["backoff"], "base", b, s.backoff_base, true);
      r.duration(v["backoff"], "cap", b, s.backoff_cap, true);
      if (s.backoff_cap < s.backoff_base) r.error(b / "cap", "\"cap\" must not be below \"base\"");
    }
  }
  if (v.contains("budget")) {
    const Pointer b = at / "budget";
    if (r.object(v["budget"], b, "budget")) {
      r.keys(v["budget"], b, {"ratio", "window", "min_retries"});
      r.number(v["budget"], "ratio", b, s.budget_ratio, 0, 10);
      r.duration(v["budget"], "window", b, s.budget_window);
      r.integer(v["budget"], "min_retries", b, s.budget_min_retries, 0, 1000000);
    }
  }
}

void read_l4(Reader& r, const json& v, const Pointer& at, L4Settings& s) {
  if (!r.object(v, at, "l4")) return;
  r.keys(v, at, {"listen", "balance", "hash", "connect_timeout", "idle_timeout", "connect_attempts", "max_connections",
                 "proxy_protocol", "buffer_bytes"});
  r.listen(v, at, s.listen);
  r.balance(v, at, s.balance);
  if (s.balance.key.kind != HashKey::Kind::client_ip)
    r.error(at / "hash" / "key", "an L4 listener can only hash on \"client_ip\"");
  r.duration(v, "connect_timeout", at, s.connect_timeout);
  r.duration(v, "idle_timeout", at, s.idle_timeout);
  r.integer(v, "connect_attempts", at, s.connect_attempts, 1, 10);
  r.integer(v, "max_connections", at, s.max_connections, 1, 1000000);
  r.integer(v, "buffer_bytes", at, s.buffer_bytes, 1024, 1u << 20);
  if (v.contains("proxy_protocol")) {
    const json& p = v["proxy_protocol"];
    if (p == "v1") s.proxy_protocol = ProxyProtocol::v1;
    else if (p == "v2") s.proxy_protocol = ProxyProtocol::v2;
    else if (p == "off" || p == false) s.proxy_protocol = ProxyProtocol::off;
    else r.error(at / "proxy_protocol", "\"proxy_protocol\" is \"off\", \"v1\" or \"v2\"");
  }
}

void read_l7(Reader& r, const json& v, const Pointer& at, L7Settings& s, const RegionForward& region) {
  if (!r.object(v, at, "l7")) return;
  r.keys(v, at, {"listen", "balance", "hash", "timeouts", "limits", "routes", "retry", "rate_limit",
                 "forwarded_proto"});
  r.listen(v, at, s.listen);
  r.balance(v, at, s.balance);
  r.string(v, "forwarded_proto", at, s.forwarded_proto);
  if (v.contains("timeouts")) {
    const Pointer t = at / "timeouts";
    const json& o = v["timeouts"];
    if (r.object(o, t, "timeouts")) {
      r.keys(o, t, {"connect", "header", "request", "backend", "keepalive", "pool_idle"});
      r.duration(o, "connect", t, s.connect_timeout);
      r.duration(o, "header", t, s.header_timeout);
      r.duration(o, "request", t, s.request_timeout);
      r.duration(o, "backend", t, s.backend_timeout);
      r.duration(o, "keepalive", t, s.keepalive_timeout);
      r.duration(o, "pool_idle", t, s.pool_idle_timeout);
    }
  }
  if (v.contains("limits")) {
    const Pointer l = at / "limits";
    const json& o = v["limits"];
    if (r.object(o, l, "limits")) {
      r.keys(o, l, {"max_header_bytes", "max_body_bytes", "max_response_bytes", "max_connections", "max_pending",
                    "pool_size"});
      r.integer(o, "max_header_bytes", l, s.max_header_bytes, 1024, 1u << 20);
      r.integer(o, "max_body_bytes", l, s.max_body_bytes, 0, 1ull << 32);
      r.integer(o, "max_response_bytes", l, s.max_response_bytes, 1024, 1ull << 34);
      r.integer(o, "max_connections", l, s.max_connections, 1, 1000000);
      r.integer(o, "max_pending", l, s.max_pending, 1, 1000000);
      r.integer(o, "pool_size", l, s.pool_size, 0, 100000);
    }
  }
  if (v.contains("retry")) read_retry(r, v["retry"], at / "retry", s.retry);
  if (v.contains("rate_limit")) {
    const Pointer rl = at / "rate_limit";
    const json& o = v["rate_limit"];
    if (r.object(o, rl, "rate_limit")) {
      r.keys(o, rl, {"rate", "burst", "max_clients"});
      if (!o.contains("rate")) r.error(rl, "\"rate_limit\" needs \"rate\" (requests per second per client IP)");
      r.number(o, "rate", rl, s.rate_limit.rate, 0.001, 1e9);
      s.rate_limit.burst = std::max(1.0, s.rate_limit.rate);
      r.number(o, "burst", rl, s.rate_limit.burst, 1, 1e9);
      r.integer(o, "max_clients", rl, s.rate_limit.max_clients, 1, 100000000);
      s.rate_limit.enabled = true;
    }
  }
  std::set<std::string> groups;
  for (const auto& b : region.backends) groups.insert(b.group);
  if (v.contains("routes")) {
    const Pointer rt = at / "routes";
    const json& list = v["routes"];
    if (!list.is_array()) {
      r.error(rt, "\"routes\" is an array of {\"host\": ..., \"path_prefix\": ..., \"group\": ...}");
    } else {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const Pointer at_i = rt / i;
        if (!r.object(list[i], at_i, "route")) continue;
        Route route;
        r.keys(list[i], at_i, {"host", "path_prefix", "group"});
        r.string(list[i], "host", at_i, route.host);
        r.string(list[i], "path_prefix", at_i, route.path_prefix);
        r.string(list[i], "group", at_i, route.group);
        for (auto& c : route.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (!route.path_prefix.empty() && route.path_prefix[0] != '/')
          r.error(at_i / "path_prefix", "\"path_prefix\" starts with /");
        if (!region.backends.empty() && !groups.count(route.group))
          r.error(at_i / "group", "no backend is in group \"" + route.group + "\"");
        s.routes.push_back(std::move(route));
      }
    }
  }
}

}  // namespace

bool parse_region(const json& region, RegionForward& out, const ErrorSink& error) {
  Reader r(error);
  out = RegionForward{};
  if (!region.is_object()) {
    r.error(Pointer(""), "a region is an object");
    return false;
  }
  if (region.contains("backends")) read_backends(r, region["backends"], out);
  if (!region.contains("forward")) return !r.failed();
  const Pointer at("/forward");
  const json& f = region["forward"];
  if (!r.object(f, at, "forward")) return false;
  if (!region.contains("backends")) r.error(at, "\"forward\" needs \"backends\" in the same region");
  r.keys(f, at, {"l4", "l7", "circuit_breaker", "outlier", "bulkhead", "drain_timeout"});
  r.duration(f, "drain_timeout", at, out.drain_timeout, true);
  if (f.contains("circuit_breaker")) {
    const Pointer c = at / "circuit_breaker";
    const json& o = f["circuit_breaker"];
    if (r.object(o, c, "circuit_breaker")) {
      r.keys(o, c, {"enabled", "window", "buckets", "min_requests", "failure_rate", "open_timeout", "half_open_probes"});
      CircuitSettings& s = out.circuit;
      r.boolean(o, "enabled", c, s.enabled);
      r.duration(o, "window", c, s.window);
      r.integer(o, "buckets", c, s.buckets, 1, 600);
      r.integer(o, "min_requests", c, s.min_requests, 1, 1000000);
      r.number(o, "failure_rate", c, s.failure_rate, 0.01, 1);
      r.duration(o, "open_timeout", c, s.open_timeout);
      r.integer(o, "half_open_probes", c, s.half_open_probes, 1, 1000);
    }
  }
  if (f.contains("outlier")) {
    const Pointer c = at / "outlier";
    const json& o = f["outlier"];
    if (r.object(o, c, "outlier")) {
      r.keys(o, c, {"consecutive_failures", "base_ejection", "max_ejection", "max_ejection_percent"});
      OutlierSettings& s = out.outlier;
      r.integer(o, "consecutive_failures", c, s.consecutive_failures, 0, 1000000);
      r.duration(o, "base_ejection", c, s.base_ejection);
      r.duration(o, "max_ejection", c, s.max_ejection);
      r.integer(o, "max_ejection_percent", c, s.max_ejection_percent, 0, 100);
      if (s.max_ejection < s.base_ejection) r.error(c / "max_ejection", "\"max_ejection\" must not be below \"base_ejection\"");
    }
  }
  if (f.contains("bulkhead")) {
    const Pointer c = at / "bulkhead";
    const json& o = f["bulkhead"];
    if (r.object(o, c, "bulkhead")) {
      r.keys(o, c, {"max_connections"});
      r.integer(o, "max_connections", c, out.bulkhead.max_connections, 1, 1000000);
    }
  }
  if (f.contains("l4")) read_l4(r, f["l4"], at / "l4", out.l4.emplace());
  if (f.contains("l7")) read_l7(r, f["l7"], at / "l7", out.l7.emplace(), out);
  if (!f.contains("l4") && !f.contains("l7")) r.error(at, "\"forward\" needs \"l4\" and/or \"l7\"");
  const auto l4_at = out.l4 ? util::parse_host_port(out.l4->listen) : std::nullopt;
  if (out.l4 && out.l7 && l4_at && l4_at->port != 0 && out.l4->listen == out.l7->listen)
    r.error(at / "l7" / "listen", "L4 and L7 cannot listen on the same address");
  return !r.failed();
}

}  // namespace meridian::forward
