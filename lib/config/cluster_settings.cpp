#include "config/cluster_settings.hpp"

#include <cctype>
#include <cmath>

namespace meridian::config {

namespace {

// Names become parts of etcd keys: no "/" and nothing a shell or a log would mangle.
bool is_key_part(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  for (const char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

}  // namespace

std::optional<EtcdMember> parse_etcd_url(const std::string& url) {
  constexpr std::string_view scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) return std::nullopt;
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos) return std::nullopt;
  EtcdMember m;
  std::size_t colon;
  if (rest.front() == '[') {  // [v6]:port
    const auto close = rest.find(']');
    if (close == std::string::npos || close + 1 >= rest.size() || rest[close + 1] != ':') return std::nullopt;
    m.host = rest.substr(1, close - 1);
    colon = close + 1;
  } else {
    colon = rest.rfind(':');
    if (colon == std::string::npos || colon == 0) return std::nullopt;
    m.host = rest.substr(0, colon);
    if (m.host.find(':') != std::string::npos) return std::nullopt;
  }
  m.port = rest.substr(colon + 1);
  if (m.port.empty() || m.port.size() > 5) return std::nullopt;
  for (const char c : m.port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  const long port = std::stol(m.port);
  if (port < 1 || port > 65535 || m.host.empty()) return std::nullopt;
  return m;
}

std::optional<ClusterSettings> read_cluster_settings(JsonObjectReader& cluster) {
  ClusterSettings s;
  bool ok = true;
  const KeyRules etcd_rules = KeyRules::required(
      "\"cluster\" needs \"etcd\": the member URLs, e.g. [\"http://127.0.0.1:2379\"]");
  if (const auto* etcd = cluster.array("etcd", etcd_rules)) {
    if (etcd->empty()) {
      cluster.error("etcd", "\"etcd\" needs at least one member URL such as \"http://127.0.0.1:2379\"");
      ok = false;
    }
    for (std::size_t i = 0; i < etcd->size(); ++i) {
      const auto& u = (*etcd)[i];
      if (!u.is_string() || !parse_etcd_url(u.get<std::string>())) {
        cluster.sink().report(cluster.pointer("etcd") / std::to_string(i),
                              "an etcd member is a URL such as \"http://127.0.0.1:2379\"", false);
        ok = false;
      } else {
        s.etcd.push_back(u.get<std::string>());
      }
    }
  } else {
    ok = false;
  }
  const std::string part = " (letters, digits, \"-\", \"_\" or \".\", up to 64)";
  ok &= cluster.string("name", s.name, KeyRules::required({}, "\"name\" names the cluster" + part), is_key_part);
  ok &= cluster.string("node", s.node, KeyRules::required({}, "\"node\" names this node" + part), is_key_part);
  ok &= cluster.duration("lease_ttl", s.lease_ttl);
  ok &= cluster.duration("stale_after", s.stale_after);
  if (ok && s.lease_ttl < std::chrono::seconds(2)) {
    cluster.error("lease_ttl", "\"lease_ttl\" must be at least 2s (etcd grants whole seconds)");
    ok = false;
  }
  if (auto health = cluster.section("health", KeyRules::optional(
                                                  "\"health\" must be an object {\"agree\": \"majority\", \"min_observers\": 2}"))) {
    if (const auto* agree = health->find("agree")) {
      const std::string wrong = "\"agree\" must be \"majority\", \"any\", \"all\" or a fraction above 0 and at most 1";
      if (agree->is_string()) {
        const auto t = agree->get<std::string>();
        if (t == "majority") s.agree.kind = AgreeRule::Kind::majority;
        else if (t == "any") s.agree.kind = AgreeRule::Kind::any;
        else if (t == "all") s.agree.kind = AgreeRule::Kind::all;
        else { health->error("agree", wrong); ok = false; }
      } else if (agree->is_number()) {
        const double f = agree->get<double>();
        if (!(f > 0 && f <= 1) || std::isnan(f)) { health->error("agree", wrong); ok = false; }
        else s.agree = {AgreeRule::Kind::fraction, f};
      } else {
        health->error("agree", wrong);
        ok = false;
      }
    }
    ok &= health->integer("min_observers", s.min_observers, 1, 1000);
    health->report_unknown_keys();
  }
  cluster.report_unknown_keys();
  if (!ok) return std::nullopt;
  return s;
}

}  // namespace meridian::config
