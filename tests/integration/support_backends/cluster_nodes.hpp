// Three meridian nodes sharing health through a real etcd cluster (harness/
// etcd_cluster.hpp), with one probe target per node: every node serves the same
// failover service "web" (app.example.test: eu-west 127.0.0.1, else us-east
// 127.0.0.2) and checks eu-west's endpoint on a port of its own, so the test makes
// eu-west look up or down to each node separately (its HttpBackend listening or
// not). The services are the same on every node, so the nodes are not skewed.
#pragma once
#include <doctest/doctest.h>

#include <array>
#include <memory>

#include "integration/harness/etcd_cluster.hpp"
#include "integration/harness/http_backend.hpp"
#include "integration/support_backends/meridian_fixture.hpp"

namespace meridian::test::backends {

inline const std::string kAppName = "app.example.test";
inline const std::string kEuWest = "127.0.0.1";
inline const std::string kUsEast = "127.0.0.2";
inline const std::string kEuKey = "web/eu-west/127.0.0.1";

// One etcd cluster for every test case of a binary: started on first use.
inline EtcdCluster& shared_etcd() {
  static EtcdCluster etcd;
  static const bool started = etcd.start();
  REQUIRE_MESSAGE(started, etcd.error());
  return etcd;
}

struct ClusterOptions {
  std::string agree = "majority";  // or "any", "all", a number
  int min_observers = 2;
  std::string lease_ttl = "3s";
  std::string stale_after = "6s";
};

class ClusterNodes {
 public:
  static constexpr int kNodes = 3;

  // name: the cluster's name in etcd (each test case its own).
  ClusterNodes(std::string name, ClusterOptions options) : name_(std::move(name)), options_(std::move(options)) {}

  bool start() {
    EtcdCluster& etcd = shared_etcd();
    for (int i = 0; i < kNodes; ++i) {
      probes_[static_cast<std::size_t>(i)] = std::make_unique<HttpBackend>();
      nodes_[static_cast<std::size_t>(i)] = std::make_unique<Meridian>();
    }
    for (int i = 0; i < kNodes; ++i) {
      json checks{{"probe", {{"type", "tcp"}, {"port", probe(i).port()}, {"interval", "400ms"}, {"timeout", "350ms"},
                             {"rise", 2}, {"fall", 2}, {"jitter", 0}}}};
      json services{{"web", {{"policy", "failover"}, {"ttl", 60}, {"failover_ttl", 10},
                             {"order", json::array({"eu-west", "us-east"})},
                             {"regions", {{"eu-west", {{"endpoints", json::array({kEuWest})}, {"check", "probe"}}},
                                          {"us-east", {{"endpoints", json::array({kUsEast})}}}}}}}};
      json config = base_config(checks, services);
      json agree = options_.agree == "majority" || options_.agree == "any" || options_.agree == "all"
                       ? json(options_.agree)
                       : json(std::stod(options_.agree));
      const std::vector<std::string> urls =
          i == 0 && !first_node_etcd_.empty() ? first_node_etcd_ : etcd.client_urls();
      config["cluster"] = {{"etcd", urls}, {"name", name_}, {"node", node_name(i)},
                           {"lease_ttl", options_.lease_ttl}, {"stale_after", options_.stale_after},
                           {"health", {{"agree", agree}, {"min_observers", options_.min_observers}}}};
      if (!node(i).start(config, {{"example.test.json", standard_zone()}})) {
        error = node_name(i) + ": " + node(i).error;
        return false;
      }
    }
    return true;
  }

  // Before start(): the first node talks to etcd through these URLs (a proxy) instead.
  void set_first_node_etcd(std::vector<std::string> urls) { first_node_etcd_ = std::move(urls); }

  static std::string node_name(int i) { return "ns" + std::to_string(i + 1); }
  Meridian& node(int i) { return *nodes_[static_cast<std::size_t>(i)]; }
  HttpBackend& probe(int i) { return *probes_[static_cast<std::size_t>(i)]; }

  // The cluster part of a node's /status (null when it does not answer).
  json cluster(int i) {
    const json s = node(i).status();
    return s.is_object() && s.contains("cluster") ? s["cluster"] : json();
  }
  // What node i's agreed view says of key: {"state", "observers", "down", ...} or null.
  json agreed(int i, const std::string& key = kEuKey) {
    const json c = cluster(i);
    if (!c.is_object() || !c.contains("agreed") || !c["agreed"].contains(key)) return json();
    return c["agreed"][key];
  }
  int live_nodes(int i) {
    const json c = cluster(i);
    return c.is_object() && c.contains("nodes") ? static_cast<int>(c["nodes"].size()) : -1;
  }
  // Every running node in `which` sees `observers` observers and `down` of them down.
  bool wait_votes(int observers, int down, std::vector<int> which = {0, 1, 2},
                  std::chrono::milliseconds deadline = kHealthDeadline) {
    return wait_for([&] {
      for (int i : which) {
        const json a = agreed(i);
        if (!a.is_object() || a.value("observers", -1) != observers || a.value("down", -1) != down) return false;
      }
      return true;
    }, deadline);
  }
  // Every node in `which` answers app.example.test with `address`.
  bool wait_all_answer(const std::string& address, std::vector<int> which = {0, 1, 2},
                       std::chrono::milliseconds deadline = kHealthDeadline) {
    return wait_for([&] {
      for (int i : which)
        if (node(i).one(kAppName) != address) return false;
      return true;
    }, deadline);
  }
  // Every node in `which` keeps answering `address` for `span` (polled).
  bool all_keep_answering(const std::string& address, std::chrono::milliseconds span, std::vector<int> which = {0, 1, 2}) {
    const auto end = Clock::now() + span;
    while (Clock::now() < end) {
      for (int i : which)
        if (node(i).one(kAppName) != address) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // poll interval, bounded by span
    }
    return true;
  }
  // How eu-west's endpoint is decided on node i: "cluster", "local" or "override".
  std::string decided_by(int i) {
    const json s = node(i).status();
    if (!s.is_object()) return "";
    for (const auto& svc : s.value("services", json::array()))
      for (const auto& r : svc.value("regions", json::array()))
        if (r.value("region", "") == "eu-west" && !r["endpoints"].empty())
          return r["endpoints"][0].value("decided_by", "");
    return "";
  }
  std::string logs() {
    std::string all;
    for (int i = 0; i < kNodes; ++i) all += "--- " + node_name(i) + "\n" + node(i).log();
    return all;
  }

  std::string error;

 private:
  std::string name_;
  ClusterOptions options_;
  std::vector<std::string> first_node_etcd_;
  std::array<std::unique_ptr<HttpBackend>, kNodes> probes_;
  std::array<std::unique_ptr<Meridian>, kNodes> nodes_;
};

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace meridian::test::backends
