#include "forward/settings.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include <openssl/ssl.h>
#include <re2/re2.h>

#include "config/json_object_reader.hpp"
#include "config/path.hpp"
#include "tls/client_tls_config.hpp"
#include "forward/tls/server_tls.hpp"
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

using config::JsonObjectReader;
using config::KeyRules;
using config::ZeroDuration;

// The shared reader's errors go to the caller's ErrorSink, at pointers relative
// to the region object; any error fails the region.
class ForwardErrors final : public config::JsonErrorSink {
 public:
  explicit ForwardErrors(const ErrorSink& sink) : sink_(sink) {}
  bool failed() const { return failed_; }
  void report(const Pointer& at, const std::string& message, bool /*at_key*/) override {
    failed_ = true;
    if (sink_) sink_(at, message);
  }

 private:
  const ErrorSink& sink_;
  bool failed_ = false;
};

// An object whose unknown keys are reported before anything else, as they always were.
void expect_keys(JsonObjectReader& r, std::initializer_list<std::string_view> keys) {
  r.allow(keys);
  r.report_unknown_keys();
}

bool valid_listen(const std::string& text) { return util::parse_host_port(text).has_value(); }

void read_listen(JsonObjectReader& r, std::string& out) {
  r.string("listen", out,
           KeyRules::required("a listener needs \"listen\": \"ADDRESS:PORT\"",
                              "\"listen\" is an address:port such as 127.0.0.11:8080 or [::1]:8080"),
           valid_listen);
}

void read_balance(JsonObjectReader& r, BalanceSettings& b) {
  r.one_of("balance", b.algorithm,
           {{"round_robin", Algorithm::round_robin},
            {"weighted_round_robin", Algorithm::weighted_round_robin},
            {"least_conn", Algorithm::least_conn},
            {"weighted_least_conn", Algorithm::weighted_least_conn},
            {"ip_hash", Algorithm::ip_hash},
            {"consistent_hash", Algorithm::consistent_hash},
            {"p2c", Algorithm::p2c}},
           KeyRules::optional("\"balance\" is one of round_robin, weighted_round_robin, least_conn, "
                              "weighted_least_conn, ip_hash, consistent_hash, p2c"));
  auto hash = r.section("hash");
  if (!hash) return;
  expect_keys(*hash, {"key", "vnodes"});
  hash->integer("vnodes", b.vnodes, 1, 10000);
  if (const json* key = hash->find("key")) {
    const std::string k = key->is_string() ? key->get<std::string>() : "";
    if (k == "client_ip") b.key.kind = HashKey::Kind::client_ip;
    else if (k.rfind("header:", 0) == 0 && k.size() > 7) b.key = {HashKey::Kind::header, k.substr(7)};
    else if (k.rfind("cookie:", 0) == 0 && k.size() > 7) b.key = {HashKey::Kind::cookie, k.substr(7)};
    else hash->error("key", "\"key\" is \"client_ip\", \"header:NAME\" or \"cookie:NAME\"");
  }
}

void read_retry(JsonObjectReader& r, RetrySettings& s) {
  expect_keys(r, {"max_retries", "backoff", "budget", "retry_after_cap"});
  r.integer("max_retries", s.max_retries, 0, 10);
  r.duration("retry_after_cap", s.retry_after_cap, ZeroDuration::allowed);
  if (auto backoff = r.section("backoff")) {
    expect_keys(*backoff, {"base", "cap"});
    backoff->duration("base", s.backoff_base, ZeroDuration::allowed);
    backoff->duration("cap", s.backoff_cap, ZeroDuration::allowed);
    if (s.backoff_cap < s.backoff_base) backoff->error("cap", "\"cap\" must not be below \"base\"");
  }
  if (auto budget = r.section("budget")) {
    expect_keys(*budget, {"ratio", "window", "min_retries"});
    budget->number("ratio", s.budget_ratio, 0, 10);
    budget->duration("window", s.budget_window);
    budget->integer("min_retries", s.budget_min_retries, 0, 1000000);
  }
}

// A name of "forward.l4.sni": a host name (letters, digits, '-', '_' in dot-separated labels),
// "*." and one, or "*".
bool valid_sni_name(std::string_view name) {
  if (name == "*") return true;
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253) return false;
  std::size_t label = 0;
  for (const char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (++label > 63 || !(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
      return false;
    }
  }
  return label > 0;
}

// "sni": {"NAME": "GROUP", ...} of an L4 listener.
void read_sni(JsonObjectReader& r, L4Settings& s, const RegionForward& region) {
  const json* sni = r.find("sni");
  if (!sni) return;
  if (!sni->is_object() || sni->empty()) {
    r.error("sni", "\"sni\" is an object of server names to groups: {\"www.example.com\": \"web\", \"*\": \"default\"}");
    return;
  }
  std::set<std::string> groups;
  for (const auto& b : region.backends) groups.insert(b.group);
  for (const auto& [name, group] : sni->items()) {
    const Pointer at = r.pointer("sni") / name;
    if (!valid_sni_name(name)) {
      r.sink().report(at, "a server name is a host name, \"*.\" and a host name, or \"*\"", false);
      continue;
    }
    if (!group.is_string() || group.get<std::string>().empty()) {
      r.sink().report(at, "the value is a backend group's name", false);
      continue;
    }
    if (!region.backends.empty() && !groups.count(group.get<std::string>())) {
      r.sink().report(at, "no backend is in group \"" + group.get<std::string>() + "\"", false);
      continue;
    }
    SniRoute route{name, group.get<std::string>()};
    for (auto& c : route.name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::any_of(s.sni.begin(), s.sni.end(), [&](const SniRoute& o) { return o.name == route.name; })) {
      r.sink().report(at, "\"" + route.name + "\" is listed twice (names are compared in lower case)", false);
      continue;
    }
    s.sni.push_back(std::move(route));
  }
}

void read_l4(JsonObjectReader& r, L4Settings& s, const RegionForward& region) {
  expect_keys(r, {"listen", "balance", "hash", "connect_timeout", "idle_timeout", "connect_attempts", "max_connections",
                  "proxy_protocol", "buffer_bytes", "sni"});
  read_sni(r, s, region);
  read_listen(r, s.listen);
  read_balance(r, s.balance);
  if (s.balance.key.kind != HashKey::Kind::client_ip)
    r.sink().report(r.pointer("hash") / "key", "an L4 listener can only hash on \"client_ip\"", false);
  r.duration("connect_timeout", s.connect_timeout);
  r.duration("idle_timeout", s.idle_timeout);
  r.integer("connect_attempts", s.connect_attempts, 1, 10);
  r.integer("max_connections", s.max_connections, 1, 1000000);
  r.integer("buffer_bytes", s.buffer_bytes, 1024, 1u << 20);
  if (const json* p = r.find("proxy_protocol")) {
    if (*p == "v1") s.proxy_protocol = ProxyProtocol::v1;
    else if (*p == "v2") s.proxy_protocol = ProxyProtocol::v2;
    else if (*p == "off" || *p == false) s.proxy_protocol = ProxyProtocol::off;
    else r.error("proxy_protocol", "\"proxy_protocol\" is \"off\", \"v1\" or \"v2\"");
  }
}

// "header" / "cookie" of a route: {"NAME": "VALUE" | {"prefix"|"regex": TEXT} | {"present": BOOL}}.
void read_value_matches(JsonObjectReader& route, std::string_view key, std::vector<ValueMatch>& out) {
  const json* m = route.find(key);
  if (!m) return;
  const std::string what(key);
  const std::string form = "\"" + what + "\" is {\"NAME\": \"VALUE\"} or {\"NAME\": {\"prefix\"|\"regex\": TEXT}} or "
                           "{\"NAME\": {\"present\": true|false}}";
  if (!m->is_object() || m->empty()) {
    route.error(key, form);
    return;
  }
  for (const auto& [name, spec] : m->items()) {
    const Pointer at = route.pointer(key) / name;
    ValueMatch v;
    v.name = name;
    if (name.empty()) {
      route.sink().report(at, "a " + what + " name is not empty", true);
      continue;
    }
    if (spec.is_string()) {
      v.kind = ValueMatch::Kind::exact;
      v.value = spec.get<std::string>();
    } else if (spec.is_object() && spec.size() == 1 && spec.begin().value().is_string() &&
               (spec.contains("prefix") || spec.contains("regex"))) {
      v.kind = spec.contains("prefix") ? ValueMatch::Kind::prefix : ValueMatch::Kind::regex;
      v.value = spec.begin().value().get<std::string>();
      if (v.kind == ValueMatch::Kind::regex) {
        RE2 re(v.value, RE2::Quiet);
        if (!re.ok()) {
          route.sink().report(at / "regex", "not a valid regular expression (RE2 syntax): " + re.error(), false);
          continue;
        }
      }
    } else if (spec.is_object() && spec.size() == 1 && spec.contains("present") && spec["present"].is_boolean()) {
      v.kind = spec["present"].get<bool>() ? ValueMatch::Kind::present : ValueMatch::Kind::absent;
    } else {
      route.sink().report(at, form, false);
      continue;
    }
    out.push_back(std::move(v));
  }
}

void read_routes(JsonObjectReader& r, L7Settings& s, const RegionForward& region) {
  const json* list = r.array(
      "routes", KeyRules::optional("\"routes\" is an array of {\"host\": ..., \"path_prefix\": ..., \"group\": ...}"));
  if (!list) return;
  std::set<std::string> groups;
  for (const auto& b : region.backends) groups.insert(b.group);
  const auto known = [&](JsonObjectReader& at, const Pointer& where, const std::string& group) {
    if (!region.backends.empty() && !groups.count(group))
      at.sink().report(where, "no backend is in group \"" + group + "\"", false);
  };
  for (std::size_t i = 0; i < list->size(); ++i) {
    JsonObjectReader entry((*list)[i], r.pointer("routes") / i, r.sink());
    if (!entry.is_object()) {
      entry.error("\"route\" must be an object");
      continue;
    }
    Route route;
    expect_keys(entry, {"host", "path_prefix", "path", "method", "header", "cookie", "group", "split", "sticky",
                        "idempotent"});
    entry.string("host", route.host);
    entry.string("path_prefix", route.path_prefix);
    entry.string("path", route.path);
    for (auto& c : route.host) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!route.path_prefix.empty() && route.path_prefix[0] != '/')
      entry.error("path_prefix", "\"path_prefix\" starts with /");
    if (entry.contains("path") && (route.path.empty() || route.path[0] != '/'))
      entry.error("path", "\"path\" starts with /");
    if (const json* m = entry.find("method")) {
      const auto token = [](const json& v) {
        if (!v.is_string() || v.get<std::string>().empty()) return false;
        for (const char c : v.get<std::string>())
          if (!std::isupper(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
        return true;
      };
      if (token(*m)) route.methods.push_back(m->get<std::string>());
      else if (m->is_array() && !m->empty() && std::all_of(m->begin(), m->end(), token))
        for (const auto& v : *m) route.methods.push_back(v.get<std::string>());
      else entry.error("method", "\"method\" is a method in upper case (\"GET\") or an array of them");
    }
    entry.boolean("idempotent", route.idempotent);
    read_value_matches(entry, "header", route.headers);
    read_value_matches(entry, "cookie", route.cookies);
    if (entry.contains("group") && entry.contains("split"))
      entry.error("split", "a route has \"group\" or \"split\", not both");
    entry.string("group", route.group);
    if (!entry.contains("split")) known(entry, entry.pointer("group"), route.group);
    if (const json* split = entry.array("split", KeyRules::optional("\"split\" is an array of {\"group\": NAME, \"weight\": N}"))) {
      uint64_t total = 0;
      for (std::size_t k = 0; k < split->size(); ++k) {
        JsonObjectReader share((*split)[k], entry.pointer("split") / k, r.sink());
        if (!share.is_object()) {
          share.error("a share is {\"group\": NAME, \"weight\": N}");
          continue;
        }
        expect_keys(share, {"group", "weight"});
        SplitShare sh;
        share.string("group", sh.group, KeyRules::required("a share needs \"group\""));
        share.integer("weight", sh.weight, 0, 1000000, KeyRules::required("a share needs \"weight\" (0 to 1000000)"));
        known(share, share.pointer("group"), sh.group);
        total += sh.weight;
        route.split.push_back(std::move(sh));
      }
      if (total == 0) entry.error("split", "\"split\" needs a share with a weight above 0");
    }
    if (const json* sticky = entry.find("sticky")) {
      const std::string k = sticky->is_string() ? sticky->get<std::string>() : "";
      if (k.rfind("cookie:", 0) == 0 && k.size() > 7) route.sticky = {Sticky::Kind::cookie, k.substr(7), {}};
      else if (k == "hash:client_ip") route.sticky = {Sticky::Kind::hash, "", {HashKey::Kind::client_ip, ""}};
      else if (k.rfind("hash:header:", 0) == 0 && k.size() > 12)
        route.sticky = {Sticky::Kind::hash, "", {HashKey::Kind::header, k.substr(12)}};
      else if (k.rfind("hash:cookie:", 0) == 0 && k.size() > 12)
        route.sticky = {Sticky::Kind::hash, "", {HashKey::Kind::cookie, k.substr(12)}};
      else entry.error("sticky", "\"sticky\" is \"cookie:NAME\", \"hash:client_ip\", \"hash:header:NAME\" or \"hash:cookie:NAME\"");
      if (!entry.contains("split")) entry.error("sticky", "\"sticky\" goes with \"split\"");
    }
    s.routes.push_back(std::move(route));
  }
}

// "tls" of an L7 listener: its files are loaded here, so that a certificate that does not
// load is an error at its line (and a reload with one keeps the running state).
void read_server_tls(JsonObjectReader& r, ServerTlsSettings& tls, const std::string& base_dir) {
  expect_keys(r, {"certificates", "alpn", "min_version"});
  const json* list = r.array("certificates", KeyRules::required("\"tls\" needs \"certificates\": [{\"cert\": FILE, \"key\": FILE}, ...]",
                                                                "\"certificates\" is an array of {\"cert\": FILE, \"key\": FILE}"));
  if (list && list->empty()) r.error("certificates", "\"certificates\" needs at least one {\"cert\": FILE, \"key\": FILE}");
  bool files_ok = list != nullptr && !list->empty();
  for (std::size_t i = 0; list && i < list->size(); ++i) {
    JsonObjectReader entry((*list)[i], r.pointer("certificates") / i, r.sink());
    if (!entry.is_object()) {
      entry.error("a certificate is {\"cert\": FILE, \"key\": FILE}");
      files_ok = false;
      continue;
    }
    expect_keys(entry, {"cert", "key"});
    TlsCertificateFiles files;
    const auto nonempty = [](const std::string& v) { return !v.empty(); };
    files_ok &= entry.string("cert", files.cert, KeyRules::required("a certificate needs \"cert\": the PEM chain file",
                                                                    "\"cert\" is a file name"), nonempty);
    files_ok &= entry.string("key", files.key, KeyRules::required("a certificate needs \"key\": its PEM private key file",
                                                                  "\"key\" is a file name"), nonempty);
    files.cert = config::resolve_path(base_dir, files.cert);
    files.key = config::resolve_path(base_dir, files.key);
    tls.certificates.push_back(std::move(files));
  }
  if (const json* alpn = r.array("alpn", KeyRules::optional("\"alpn\" is an array of \"h2\" and/or \"http/1.1\""))) {
    tls.alpn.clear();
    for (std::size_t i = 0; i < alpn->size(); ++i) {
      const json& p = (*alpn)[i];
      if (p != "h2" && p != "http/1.1") {
        r.sink().report(r.pointer("alpn") / i, "an ALPN protocol is \"h2\" or \"http/1.1\"", false);
        continue;
      }
      tls.alpn.push_back(p.get<std::string>());
    }
  }
  r.one_of("min_version", tls.min_version, {{"1.2", TLS1_2_VERSION}, {"1.3", TLS1_3_VERSION}},
           KeyRules::optional("\"min_version\" is \"1.2\" or \"1.3\""));
  if (!files_ok) return;
  std::size_t failed = 0;
  std::string failed_key, why;
  tls.loaded = ServerTls::load(tls, failed, failed_key, why);
  if (!tls.loaded) {
    if (failed_key.empty()) r.error("certificates", why);
    else r.sink().report(r.pointer("certificates") / failed / failed_key, why, false);
  }
}

void read_l7(JsonObjectReader& r, L7Settings& s, const RegionForward& region, const std::string& base_dir) {
  expect_keys(r, {"listen", "balance", "hash", "timeouts", "limits", "routes", "retry", "rate_limit",
                  "forwarded_proto", "tls", "http2", "websocket"});
  read_listen(r, s.listen);
  read_balance(r, s.balance);
  if (auto tls = r.section("tls")) {
    read_server_tls(*tls, s.tls.emplace(), base_dir);
    s.forwarded_proto = "https";
  }
  r.string("forwarded_proto", s.forwarded_proto);
  if (auto t = r.section("timeouts")) {
    expect_keys(*t, {"connect", "header", "request", "backend", "keepalive", "pool_idle"});
    t->duration("connect", s.connect_timeout);
    t->duration("header", s.header_timeout);
    t->duration("request", s.request_timeout);
    t->duration("backend", s.backend_timeout);
    t->duration("keepalive", s.keepalive_timeout);
    t->duration("pool_idle", s.pool_idle_timeout);
  }
  if (auto l = r.section("limits")) {
    expect_keys(*l, {"max_header_bytes", "max_body_bytes", "max_response_bytes", "max_connections", "max_pending",
                     "pool_size"});
    l->integer("max_header_bytes", s.max_header_bytes, 1024, 1u << 20);
    l->integer("max_body_bytes", s.max_body_bytes, 0, 1ull << 32);
    l->integer("max_response_bytes", s.max_response_bytes, 1024, 1ull << 34);
    l->integer("max_connections", s.max_connections, 1, 1000000);
    l->integer("max_pending", s.max_pending, 1, 1000000);
    l->integer("pool_size", s.pool_size, 0, 100000);
  }
  if (auto h2 = r.section("http2")) {
    expect_keys(*h2, {"max_concurrent_streams", "max_resets", "max_control_frames", "flood_window"});
    h2->integer("max_concurrent_streams", s.http2.max_concurrent_streams, 1, 100000);
    h2->integer("max_resets", s.http2.max_resets, 1, 10000000);
    h2->integer("max_control_frames", s.http2.max_control_frames, 1, 10000000);
    h2->duration("flood_window", s.http2.flood_window);
  }
  if (auto ws = r.section("websocket")) {
    expect_keys(*ws, {"idle_timeout"});
    ws->duration("idle_timeout", s.websocket_idle_timeout);
  }
  if (auto retry = r.section("retry")) read_retry(*retry, s.retry);
  if (auto rl = r.section("rate_limit")) {
    expect_keys(*rl, {"rate", "burst", "max_clients"});
    rl->number("rate", s.rate_limit.rate, 0.001, 1e9,
               KeyRules::required("\"rate_limit\" needs \"rate\" (requests per second per client IP)"));
    s.rate_limit.burst = std::max(1.0, s.rate_limit.rate);
    rl->number("burst", s.rate_limit.burst, 1, 1e9);
    rl->integer("max_clients", s.rate_limit.max_clients, 1, 100000000);
    s.rate_limit.enabled = true;
  }
  read_routes(r, s, region);
}

void read_forward(JsonObjectReader& region, RegionForward& out, const std::string& base_dir) {
  auto f = region.section("forward");
  if (!f) return;
  if (!region.contains("backends")) f->error("\"forward\" needs \"backends\" in the same region");
  expect_keys(*f, {"l4", "l7", "circuit_breaker", "outlier", "bulkhead", "drain_timeout"});
  f->duration("drain_timeout", out.drain_timeout, ZeroDuration::allowed);
  if (auto c = f->section("circuit_breaker")) {
    expect_keys(*c, {"enabled", "window", "buckets", "min_requests", "failure_rate", "open_timeout", "half_open_probes"});
    CircuitSettings& s = out.circuit;
    c->boolean("enabled", s.enabled);
    c->duration("window", s.window);
    c->integer("buckets", s.buckets, 1, 600);
    c->integer("min_requests", s.min_requests, 1, 1000000);
    c->number("failure_rate", s.failure_rate, 0.01, 1);
    c->duration("open_timeout", s.open_timeout);
    c->integer("half_open_probes", s.half_open_probes, 1, 1000);
  }
  if (auto o = f->section("outlier")) {
    expect_keys(*o, {"consecutive_failures", "base_ejection", "max_ejection", "max_ejection_percent"});
    OutlierSettings& s = out.outlier;
    o->integer("consecutive_failures", s.consecutive_failures, 0, 1000000);
    o->duration("base_ejection", s.base_ejection);
    o->duration("max_ejection", s.max_ejection);
    o->integer("max_ejection_percent", s.max_ejection_percent, 0, 100);
    if (s.max_ejection < s.base_ejection)
      o->error("max_ejection", "\"max_ejection\" must not be below \"base_ejection\"");
  }
  if (auto b = f->section("bulkhead")) {
    expect_keys(*b, {"max_connections"});
    b->integer("max_connections", out.bulkhead.max_connections, 1, 1000000);
  }
  if (auto l4 = f->section("l4")) read_l4(*l4, out.l4.emplace(), out);
  if (auto l7 = f->section("l7")) read_l7(*l7, out.l7.emplace(), out, base_dir);
  if (!f->contains("l4") && !f->contains("l7")) f->error("\"forward\" needs \"l4\" and/or \"l7\"");
  const auto l4_at = out.l4 ? util::parse_host_port(out.l4->listen) : std::nullopt;
  if (out.l4 && out.l7 && l4_at && l4_at->port != 0 && out.l4->listen == out.l7->listen)
    f->sink().report(f->pointer("l7") / "listen", "L4 and L7 cannot listen on the same address", false);
}

// The "tls" of each backend given as an object: true (defaults), false, or {"verify",
// "ca", "sni", "min_version"}; loaded here so that a CA file that does not load is an
// error at its key. Entries read_backends refused have no spec and are skipped.
void read_backend_tls(JsonObjectReader& region, RegionForward& out, const std::string& base_dir) {
  const json* list = region.find("backends");
  if (!list || !list->is_array()) return;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& entry = (*list)[i];
    if (!entry.is_object() || !entry.contains("tls") || !entry.contains("address")) continue;
    const auto spec = std::find_if(out.backends.begin(), out.backends.end(),
                                   [&](const BackendSpec& b) { return entry["address"] == b.address; });
    if (spec == out.backends.end()) continue;
    const Pointer at = region.pointer("backends") / i / "tls";
    const json& tls = entry["tls"];
    tls::ClientTlsSettings settings;
    if (out.backend_h2.count(spec->address)) settings.alpn = {"h2"};  // HTTP/2 over TLS: ALPN must choose it
    JsonObjectReader r(tls, at, region.sink());
    if (tls.is_boolean()) {
      if (!tls.get<bool>()) continue;
    } else if (tls.is_object()) {
      expect_keys(r, {"verify", "ca", "sni", "min_version"});
      if (!read_client_tls_keys(r, settings, base_dir)) continue;
    } else {
      r.error("\"tls\" is true, false or {\"verify\": BOOL, \"ca\": FILE, \"sni\": NAME, \"min_version\": \"1.2\"|\"1.3\"}");
      continue;
    }
    if (auto loaded = load_client_tls(r, settings, spec->host)) out.backend_tls[spec->address] = std::move(loaded);
  }
}

// The "protocol" ("http/1.1" or "h2") and "h2_max_sessions" of each backend given as an object.
void read_backend_protocol(JsonObjectReader& region, RegionForward& out) {
  const json* list = region.find("backends");
  if (!list || !list->is_array()) return;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& entry = (*list)[i];
    if (!entry.is_object() || !entry.contains("address")) continue;
    if (!entry.contains("protocol") && !entry.contains("h2_max_sessions")) continue;
    const auto spec = std::find_if(out.backends.begin(), out.backends.end(),
                                   [&](const BackendSpec& b) { return entry["address"] == b.address; });
    if (spec == out.backends.end()) continue;
    JsonObjectReader r(entry, region.pointer("backends") / i, region.sink());
    bool h2 = false;
    r.one_of("protocol", h2, {{"http/1.1", false}, {"h2", true}},
             KeyRules::optional("\"protocol\" is \"http/1.1\" or \"h2\""));
    BackendHttp2 settings;
    r.integer("h2_max_sessions", settings.max_sessions, 1, 64);
    if (h2) out.backend_h2[spec->address] = settings;
  }
}

// backends: nullopt to read them from the region here.
bool parse(const json& region, std::optional<std::vector<BackendSpec>> backends, RegionForward& out,
           const ErrorSink& error, const std::string& base_dir) {
  ForwardErrors errors(error);
  out = RegionForward{};
  JsonObjectReader reader(region, Pointer(""), errors);
  if (!reader.is_object()) {
    reader.error("a region is an object");
    return false;
  }
  out.backends = backends ? std::move(*backends) : config::read_backends(reader);
  read_backend_protocol(reader, out);
  read_backend_tls(reader, out, base_dir);
  read_forward(reader, out, base_dir);
  return !errors.failed();
}

}  // namespace

bool parse_region(const json& region, RegionForward& out, const ErrorSink& error) {
  return parse(region, std::nullopt, out, error, "");
}

bool parse_region(const json& region, std::vector<BackendSpec> backends, RegionForward& out, const ErrorSink& error,
                  const std::string& base_dir) {
  return parse(region, std::move(backends), out, error, base_dir);
}

std::vector<std::string> watched_files(const RegionForward& settings) {
  std::vector<std::string> files;
  if (settings.l7 && settings.l7->tls)
    for (const auto& c : settings.l7->tls->certificates) {
      files.push_back(c.cert);
      files.push_back(c.key);
    }
  for (const auto& [address, tls] : settings.backend_tls)
    if (!tls->settings().ca.empty()) files.push_back(tls->settings().ca);
  return files;
}

}  // namespace meridian::forward
