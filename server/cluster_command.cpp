// `meridian cluster status` and `meridian cluster override KEY up|down|auto`:
// straight to etcd (meridian.json's "cluster": its members and name), so they
// work from any node, whether or not meridian runs there.
#include <functional>
#include <iostream>
#include <optional>
#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "cluster/agreement.hpp"
#include "cluster/cluster_keys.hpp"
#include "cluster/cluster_node.hpp"
#include "cluster/etcd_client.hpp"
#include "commands.hpp"
#include "config/json_source.hpp"
#include "config/server_config.hpp"
#include "health/health_key.hpp"

namespace meridian::cli {

namespace {

namespace asio = boost::asio;
using nlohmann::json;

struct ClusterConfig {
  config::ClusterSettings settings;
  std::string hash;
};

std::optional<ClusterConfig> read_cluster_config(const std::string& path, const std::string& command) {
  try {
    const auto source = config::JsonSource::load_file(path);
    config::Diagnostics diagnostics;
    const auto cfg = config::read_server_config(source, diagnostics);
    if (!diagnostics.empty()) {
      diagnostics.print(std::cerr);
      return std::nullopt;
    }
    if (!cfg.cluster) {
      std::cerr << "cluster " << command << ": " << path << " has no \"cluster\"\n";
      return std::nullopt;
    }
    return ClusterConfig{*cfg.cluster, cluster::config_hash(source.root())};
  } catch (const config::LoadError& e) {
    e.diagnostics().print(std::cerr);
    return std::nullopt;
  }
}

std::vector<config::EtcdMember> members(const config::ClusterSettings& s) {
  std::vector<config::EtcdMember> out;
  for (const auto& url : s.etcd) out.push_back(*config::parse_etcd_url(url));
  return out;
}

// Runs one coroutine to its end on a private io_context; rethrows its failure.
template <typename T>
T run(std::function<asio::awaitable<T>(cluster::EtcdClient&)> body, const config::ClusterSettings& s) {
  asio::io_context io;
  cluster::EtcdClient client(io.get_executor(), members(s));
  auto result = asio::co_spawn(io, [&]() { return body(client); }, asio::use_future);
  io.run();
  return result.get();
}

const char* mode_text(health::Override::Mode m) {
  return m == health::Override::up ? "up" : m == health::Override::down ? "down" : "auto";
}

}  // namespace

int cluster_override(const std::string& config_path, const std::string& key, const std::string& state,
                     const std::string& reason) {
  const auto c = read_cluster_config(config_path, "override");
  if (!c) return 1;
  if (!health::HealthKey::parse(key)) {
    std::cerr << "cluster override: \"" << key << "\" is not a health key (service/region, service/region/ADDRESS "
              << "or service/region/backend/HOST:PORT)\n";
    return 2;
  }
  const cluster::ClusterKeys keys(c->settings.name);
  const health::Override::Mode mode = state == "up" ? health::Override::up
                                      : state == "down" ? health::Override::down
                                                        : health::Override::automatic;
  try {
    run<int>([&](cluster::EtcdClient& client) -> asio::awaitable<int> {
      // "auto" removes the override: the agreed view decides again.
      if (mode == health::Override::automatic)
        cluster::throw_if_error(co_await client.call("/v3/kv/deleterange", cluster::delete_request(keys.override_key(key))));
      else
        cluster::throw_if_error(co_await client.call(
            "/v3/kv/put", cluster::put_request(keys.override_key(key), cluster::override_json(mode, reason), 0)));
      co_return 0;
    }, c->settings);
  } catch (const std::exception& e) {
    std::cerr << "cluster override: " << e.what() << "\n";
    return 1;
  }
  std::cout << "cluster " << c->settings.name << ": " << key << " " << mode_text(mode)
            << (mode == health::Override::automatic ? " (override removed)" : "") << "\n";
  return 0;
}

int cluster_status(const std::string& config_path, bool as_json) {
  const auto c = read_cluster_config(config_path, "status");
  if (!c) return 1;
  const cluster::ClusterKeys keys(c->settings.name);
  cluster::RangeReply reply;
  try {
    reply = run<cluster::RangeReply>([&](cluster::EtcdClient& client) -> asio::awaitable<cluster::RangeReply> {
      co_return cluster::parse_range_reply(co_await client.call("/v3/kv/range", cluster::range_request(keys.root())));
    }, c->settings);
  } catch (const std::exception& e) {
    std::cerr << "cluster status: " << e.what() << "\n";
    return 1;
  }
  std::map<std::string, std::string> kvs;
  for (const auto& kv : reply.kvs) kvs[kv.key] = kv.value;
  const auto data = cluster::read_cluster_data(keys, kvs);
  cluster::ClusterStatus s;
  s.cluster = c->settings.name;
  s.node = c->settings.node;
  s.config_hash = c->hash;
  s.connected = s.fresh = true;
  s.view_age_seconds = 0;
  s.nodes = data.nodes;
  s.overrides = data.overrides;
  s.agreed = cluster::agree(data, c->settings.agree, c->settings.min_observers, nullptr);
  // "This node": the one meridian.json names, as etcd holds its observations.
  for (const auto& [key, by_node] : data.observations)
    if (const auto it = by_node.find(c->settings.node); it != by_node.end()) s.own[key] = it->second.up;
  const auto j = cluster::cluster_status_json(s);
  if (as_json) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << "cluster " << s.cluster << " (etcd revision " << reply.revision << "), seen from node " << s.node
            << ", config hash " << s.config_hash << "\n";
  std::cout << s.nodes.size() << " live node(s):\n";
  for (const auto& [name, r] : s.nodes)
    std::cout << "  " << name << " config " << r.config_hash << (r.config_hash != s.config_hash ? " SKEWED" : "")
              << " version " << r.version << " started " << r.started << " last_seen " << r.last_seen << "\n";
  std::cout << "agreed view (" << c->settings.min_observers << " observer(s) needed):\n";
  for (const auto& [key, a] : s.agreed) {
    std::cout << "  " << key << " " << health::state_name(a.status.state) << (a.counted ? "" : " (too few observers)")
              << ": " << a.status.reason;
    if (const auto own = s.own.find(key); own != s.own.end() && own->second != (a.status.state == health::State::up))
      std::cout << "; " << s.node << " sees it " << (own->second ? "up" : "down");
    std::cout << "\n";
  }
  if (!s.overrides.empty()) std::cout << "cluster overrides:\n";
  for (const auto& [key, o] : s.overrides)
    std::cout << "  " << key << " " << mode_text(o.mode) << (o.reason.empty() ? "" : " (" + o.reason + ")") << "\n";
  for (const auto& p : data.problems) std::cerr << "cluster status: ignored " << p << "\n";
  return 0;
}

}  // namespace meridian::cli
