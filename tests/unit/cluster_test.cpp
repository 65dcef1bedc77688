// lib/cluster's pure parts: the etcd gateway's encoding and replies, the key
// layout, reading the cluster's keys, the agreement rule; the precedence of the
// cluster's inputs in resolve_health and HealthSnapshot; the "cluster" settings.
#include <doctest/doctest.h>

#include <string>

#include "cluster/agreement.hpp"
#include "cluster/cluster_keys.hpp"
#include "cluster/cluster_node.hpp"
#include "cluster/cluster_status.hpp"
#include "cluster/etcd_codec.hpp"
#include "config/server_config.hpp"
#include "health/effective_state.hpp"
#include "health/health_snapshot.hpp"

using namespace meridian;
using namespace meridian::cluster;
using nlohmann::json;
using Kind = config::AgreeRule::Kind;

TEST_CASE("cluster: base64 both ways, with every padding length and binary bytes") {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd",
                                                       "/meridian/v1/prod/obs/web/eu-west/127.0.0.11/ns1",
                                                       std::string("\0\xff\x10", 3)}) {
    const auto decoded = base64_decode(base64_encode(s));
    REQUIRE(decoded);
    CHECK(*decoded == s);
  }
  CHECK(base64_encode("/a/b") == "L2EvYg==");
  CHECK(base64_decode("L2EvYg==").value() == "/a/b");
  CHECK_FALSE(base64_decode("L2EvY"));
  CHECK_FALSE(base64_decode("L2E*Yg=="));
}

TEST_CASE("cluster: prefix_end is the prefix with its last byte plus one") {
  CHECK(prefix_end("/a/") == "/a0");
  CHECK(prefix_end("a\xff") == "b");
  CHECK(prefix_end(std::string("\xff")) == std::string(1, '\0'));
}

TEST_CASE("cluster: requests carry keys as base64 and int64 as strings") {
  const json put = put_request("/k", "v", 7587);
  CHECK(put["key"] == base64_encode("/k"));
  CHECK(put["value"] == base64_encode("v"));
  CHECK(put["lease"] == "7587");
  CHECK_FALSE(put_request("/k", "v", 0).contains("lease"));
  const json range = range_request("/meridian/v1/prod/");
  CHECK(range["range_end"] == base64_encode("/meridian/v1/prod0"));
  const json watch = watch_create_request("/p/", 42);
  CHECK(watch["create_request"]["start_revision"] == "42");
  CHECK(watch["create_request"]["key"] == base64_encode("/p/"));
  CHECK(lease_grant_request(10)["TTL"] == "10");
  CHECK(lease_id_request(-5)["ID"] == "-5");
}

TEST_CASE("cluster: replies as etcd 3.4's gateway writes them") {
  // Captured from etcd 3.4.23.
  const json range = json::parse(R"({"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952",
    "revision":"2","raft_term":"2"},"kvs":[{"key":"L2EvYg==","create_revision":"2","mod_revision":"2","version":"1",
    "value":"eA==","lease":"2324035844156191751"}],"count":"1"})");
  const RangeReply r = parse_range_reply(range);
  CHECK(r.revision == 2);
  REQUIRE(r.kvs.size() == 1);
  CHECK(r.kvs[0].key == "/a/b");
  CHECK(r.kvs[0].value == "x");
  CHECK(r.kvs[0].lease == 2324035844156191751);
  CHECK(parse_range_reply(json::parse(R"({"header":{"revision":"9"}})")).kvs.empty());

  CHECK(parse_lease_grant(json::parse(R"({"header":{"revision":"1"},"ID":"2324035844156191749","TTL":"5"})")) ==
        2324035844156191749);
  CHECK(parse_keepalive(json::parse(R"({"result":{"header":{},"ID":"1","TTL":"5"}})")) == 5);
  // A lease that expired: no TTL.
  CHECK(parse_keepalive(json::parse(R"({"result":{"header":{},"ID":"1"}})")) == 0);

  const json error = json::parse(R"({"error":"etcdserver: requested lease not found",
    "message":"etcdserver: requested lease not found","code":5})");
  try {
    parse_range_reply(error);
    FAIL("no error thrown");
  } catch (const EtcdError& e) {
    CHECK(e.code == 5);
    CHECK_FALSE(e.member_problem());
    CHECK(std::string(e.what()) == "etcdserver: requested lease not found");
  }
  CHECK(EtcdError(14, "unavailable").member_problem());
  CHECK_THROWS(parse_range_reply(json::parse(R"({"header":{"revision":"x"}})")));
}

TEST_CASE("cluster: watch messages: created, PUT and DELETE events, compaction") {
  const WatchMessage created = parse_watch_message(json::parse(R"({"result":{"header":{"revision":"3"},"created":true}})"));
  CHECK(created.created);
  CHECK_FALSE(created.must_resync());
  const WatchMessage events = parse_watch_message(json::parse(R"({"result":{"header":{"revision":"3"},"events":[
    {"kv":{"key":"L2EvYg==","create_revision":"2","mod_revision":"2","version":"1","value":"eA=="}},
    {"type":"DELETE","kv":{"key":"L2EvYg==","mod_revision":"3"}}]}})"));
  REQUIRE(events.events.size() == 2);
  CHECK_FALSE(events.events[0].deleted);
  CHECK(events.events[0].kv.value == "x");
  CHECK(events.events[1].deleted);
  CHECK(events.events[1].kv.key == "/a/b");
  const WatchMessage compacted =
      parse_watch_message(json::parse(R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"4"}})"));
  CHECK(compacted.must_resync());
  CHECK(compacted.compact_revision == 4);
}

TEST_CASE("cluster: the key layout, both ways") {
  const ClusterKeys keys("prod");
  CHECK(keys.node("ns1") == "/meridian/v1/prod/node/ns1");
  CHECK(keys.observation("web/eu-west/127.0.0.11", "ns1") == "/meridian/v1/prod/obs/web/eu-west/127.0.0.11/ns1");
  CHECK(keys.override_key("web/eu-west") == "/meridian/v1/prod/override/web/eu-west");
  const auto obs = keys.parse("/meridian/v1/prod/obs/web/eu-west/backend/127.0.0.1:9001/ns2");
  REQUIRE(obs);
  CHECK(obs->kind == ClusterKeys::Parsed::Kind::observation);
  CHECK(obs->health_key == "web/eu-west/backend/127.0.0.1:9001");
  CHECK(obs->node == "ns2");
  CHECK(keys.parse("/meridian/v1/prod/node/ns1")->node == "ns1");
  CHECK(keys.parse("/meridian/v1/prod/override/web/eu-west")->health_key == "web/eu-west");
  CHECK_FALSE(keys.parse("/meridian/v1/other/node/ns1"));
  CHECK_FALSE(keys.parse("/meridian/v1/prod/node/"));
  CHECK_FALSE(keys.parse("/meridian/v1/prod/obs/nonode"));
}

namespace {

ClusterData three_nodes(std::initializer_list<std::pair<const char*, bool>> votes) {
  ClusterData d;
  for (const char* n : {"ns1", "ns2", "ns3"}) d.nodes[n] = NodeRecord{"h", "1", 1, 2};
  for (const auto& [node, up] : votes) d.observations["web/eu-west/127.0.0.11"][node] = {up, 1, up ? "" : "refused"};
  return d;
}

AgreedKey only(const std::map<std::string, AgreedKey>& m) {
  REQUIRE(m.size() == 1);
  return m.begin()->second;
}

}  // namespace

TEST_CASE("cluster: agreed_down under each rule") {
  const config::AgreeRule majority{Kind::majority, 0.5}, any{Kind::any, 0}, all{Kind::all, 0},
      fifth{Kind::fraction, 0.2}, third{Kind::fraction, 0.333333};
  CHECK_FALSE(agreed_down(1, 3, majority));
  CHECK(agreed_down(2, 3, majority));
  CHECK_FALSE(agreed_down(1, 2, majority));  // a tie is not more than half
  CHECK(agreed_down(1, 3, any));
  CHECK_FALSE(agreed_down(0, 3, any));
  CHECK_FALSE(agreed_down(2, 3, all));
  CHECK(agreed_down(3, 3, all));
  CHECK_FALSE(agreed_down(1, 6, fifth));
  CHECK(agreed_down(2, 6, fifth));
  CHECK(agreed_down(1, 3, third));
  CHECK_FALSE(agreed_down(0, 0, any));
}

TEST_CASE("cluster: agree counts live observers only and needs min_observers") {
  const config::AgreeRule majority{};
  auto d = three_nodes({{"ns1", false}, {"ns2", true}, {"ns3", true}});
  auto a = only(agree(d, majority, 2, nullptr));
  CHECK(a.observers == 3);
  CHECK(a.down == 1);
  CHECK(a.counted);
  CHECK(a.status.state == health::State::up);
  CHECK(a.status.source == health::Source::cluster);
  CHECK(only(agree(d, {Kind::any, 0}, 2, nullptr)).status.state == health::State::down);

  d = three_nodes({{"ns1", false}, {"ns2", false}, {"ns3", true}});
  a = only(agree(d, majority, 2, nullptr));
  CHECK(a.status.state == health::State::down);
  CHECK(a.status.reason == "2/3 nodes see it down (ns1, ns2): refused");

  // ns1 and ns2 lost their leases: ns3's vote alone is too few.
  d.nodes.erase("ns1");
  d.nodes.erase("ns2");
  a = only(agree(d, majority, 2, nullptr));
  CHECK(a.observers == 1);
  CHECK_FALSE(a.counted);
  CHECK(a.status.state == health::State::up);
  const auto in = cluster_inputs(d, agree(d, majority, 2, nullptr), true);
  CHECK(in.agreed.empty());
}

TEST_CASE("cluster: keys this node does not know are ignored; a stale view agrees on nothing") {
  auto d = three_nodes({{"ns1", false}, {"ns2", false}});
  d.observations["old/gone/192.0.2.1"]["ns1"] = {false, 1, ""};
  d.overrides["web/eu-west"] = {health::Override::down, "drain", "etcd"};
  const auto known = [](const std::string& k) { return k.rfind("web/", 0) == 0; };
  const auto agreed = agree(d, {}, 2, known);
  CHECK(agreed.size() == 1);
  const auto fresh = cluster_inputs(d, agreed, true);
  CHECK(fresh.agreed.at("web/eu-west/127.0.0.11").state == health::State::down);
  CHECK(fresh.overrides.size() == 1);
  const auto stale = cluster_inputs(d, agreed, false);
  CHECK(stale.agreed.empty());
  CHECK(stale.overrides.size() == 1);  // an operator's word holds while etcd is away
}

TEST_CASE("cluster: read_cluster_data from the values nodes and `cluster override` write") {
  const ClusterKeys keys("prod");
  std::map<std::string, std::string> kvs;
  kvs[keys.node("ns1")] = node_record_json("ns1", {"abc", "1.0", 100, 200});
  kvs[keys.observation("web/eu-west/127.0.0.11", "ns1")] = observation_json({false, 150, "refused"});
  kvs[keys.override_key("web/eu-west")] = override_json(health::Override::down, "drain");
  kvs[keys.override_key("web/us-east")] = "\"up\"";
  kvs[keys.override_key("web/ap-south")] = "\"auto\"";
  kvs[keys.override_key("web/bad")] = "\"sideways\"";
  kvs[keys.observation("web/eu-west/127.0.0.12", "ns1")] = "{}";
  const ClusterData d = read_cluster_data(keys, kvs);
  CHECK(d.nodes.at("ns1") == NodeRecord{"abc", "1.0", 100, 200});
  CHECK(d.observations.at("web/eu-west/127.0.0.11").at("ns1") == NodeObservation{false, 150, "refused"});
  CHECK(d.overrides.at("web/eu-west").mode == health::Override::down);
  CHECK(d.overrides.at("web/eu-west").reason == "drain");
  CHECK(d.overrides.at("web/us-east").mode == health::Override::up);
  CHECK_FALSE(d.overrides.count("web/ap-south"));  // auto: no override
  CHECK(d.problems.size() == 2);
}

TEST_CASE("cluster: resolve_health: local override > cluster override > agreed view > own checks") {
  using namespace health;
  const Override file_up{Override::up, "file", "ops.json"};
  const Override etcd_down{Override::down, "drain", "etcd"};
  const Status agreed_down{State::down, Source::cluster, "2/3 nodes see it down", {}};
  const Status own_up{State::up, Source::check, "HTTP 200",
                      {Stability::Clock::time_point{} + std::chrono::seconds(10), std::chrono::seconds(4)}};

  auto e = resolve_health({.check = &own_up});
  CHECK(e.status.source == Source::check);
  e = resolve_health({.check = &own_up, .agreed = &agreed_down});
  CHECK(e.status.state == State::down);
  CHECK(e.status.source == Source::cluster);
  CHECK(e.status.stability == own_up.stability);  // the agreed state is timed by this node's checks
  CHECK(std::string(decided_by(e.status.source)) == "cluster");
  e = resolve_health({.check = &own_up, .cluster_override = &etcd_down, .agreed = &agreed_down});
  CHECK(e.status.source == Source::cluster_override);
  CHECK(e.status.reason == "drain");
  CHECK(e.forced());
  CHECK_FALSE(e.status.stability.expires());
  e = resolve_health({.target_override = &file_up, .check = &own_up, .cluster_override = &etcd_down, .agreed = &agreed_down});
  CHECK(e.status.state == State::up);
  CHECK(e.status.source == Source::override_file);
  CHECK(std::string(decided_by(e.status.source)) == "override");
  // Region level: the file's region override wins over the cluster's.
  e = resolve_health({.region_override = &file_up, .cluster_region_override = &etcd_down});
  CHECK(e.region_override == Override::up);
  e = resolve_health({.cluster_region_override = &etcd_down});
  CHECK(e.region_override == Override::down);
  CHECK(e.region_override_reason == "drain");
}

TEST_CASE("cluster: HealthSnapshot applies the cluster inputs, and they make snapshots differ") {
  using namespace health;
  std::map<std::string, Entry> entries;
  Entry& e = entries["web/eu-west/127.0.0.11"];
  e.by_source[Source::check] = Observation{State::up, "HTTP 200", {}, {}};
  ClusterInputs cluster;
  cluster.agreed["web/eu-west/127.0.0.11"] = {State::down, Source::cluster, "2/3 nodes see it down", {}};
  cluster.overrides["web/us-east"] = {Override::down, "drain", "etcd"};
  const auto local = HealthSnapshot::of_table({}, entries);
  const auto shared = HealthSnapshot::of_table({}, entries, cluster);
  CHECK(local.status(std::string("web/eu-west/127.0.0.11")).state == State::up);
  CHECK(shared.status(std::string("web/eu-west/127.0.0.11")).state == State::down);
  Status forced;
  CHECK(shared.region_forced("web", "us-east", forced));
  CHECK(forced.source == Source::cluster_override);
  CHECK_FALSE(local.region_forced("web", "us-east", forced));
  CHECK_FALSE(local == shared);
  // The local file still wins over the cluster.
  OverrideMap file{{"web/us-east", Override{Override::up, "keep", "ops.json"}}};
  const auto both = HealthSnapshot::of_table(file, entries, cluster);
  CHECK(both.region_forced("web", "us-east", forced));
  CHECK(forced.state == State::up);
}

TEST_CASE("cluster: the config hash sees the services only") {
  const json a = json::parse(R"({"dns": {"listen": ["127.0.0.1:53"]}, "cluster": {"node": "ns1"},
                                 "services": {"web": {"ttl": 60}}, "checks": {"c": {"type": "tcp"}}})");
  json b = a;
  b["dns"]["listen"] = json::array({"127.0.0.2:53"});
  b["cluster"]["node"] = "ns2";
  b["checks"]["c"]["port"] = 8080;
  CHECK(config_hash(a) == config_hash(b));
  CHECK(config_hash(a).size() == 16);
  b["services"]["web"]["ttl"] = 30;
  CHECK(config_hash(a) != config_hash(b));
}

TEST_CASE("cluster: metrics label keys as the other health metrics do") {
  ClusterStatus s;
  s.config_hash = "h";
  s.nodes["ns1"] = {"h", "1", 1, 2};
  s.nodes["ns2"] = {"other", "1", 1, 2};
  AgreedKey a;
  a.observers = 2;
  a.status.state = health::State::down;
  s.agreed["web/eu-west/127.0.0.11"] = a;
  s.own["web/eu-west/127.0.0.11"] = true;
  s.fresh = false;
  const std::string text = cluster_metrics(s);
  CHECK(text.find("meridian_cluster_nodes 2\n") != std::string::npos);
  CHECK(text.find("meridian_cluster_health_stale 1\n") != std::string::npos);
  CHECK(text.find("meridian_cluster_skewed_nodes 1\n") != std::string::npos);
  CHECK(text.find("meridian_cluster_disagreement{service=\"web\",region=\"eu-west\",endpoint=\"127.0.0.11\"} 1\n") !=
        std::string::npos);
  const auto j = cluster_status_json(s);
  CHECK(j["nodes"]["ns2"]["skewed"] == true);
  CHECK(j["agreed"]["web/eu-west/127.0.0.11"]["disagrees"] == true);
}

namespace {
struct ReadConfig {
  config::JsonSource source;
  config::Diagnostics diagnostics;
  config::ServerConfig config;
  explicit ReadConfig(const std::string& cluster)
      : source(config::JsonSource::parse(R"({"dns": {"listen": "127.0.0.1:5300"}, "zones": "zones/",
  "cluster": )" + cluster + "}", "m.json")) {
    config = config::read_server_config(source, diagnostics);
  }
  std::string errors() const {
    std::string s;
    for (const auto& d : diagnostics.items())
      s += std::to_string(d.line) + ":" + std::to_string(d.column) + ": " + d.message + "\n";
    return s;
  }
};
}  // namespace

TEST_CASE("cluster: settings are read with their defaults, and errors point at the value") {
  const ReadConfig ok(R"({"etcd": ["http://127.0.0.1:2379", "http://[::1]:2379"], "name": "prod", "node": "ns1-dub",
                          "lease_ttl": "6s", "health": {"agree": 0.18, "min_observers": 1}})");
  CHECK(ok.errors() == "");
  REQUIRE(ok.config.cluster);
  CHECK(ok.config.cluster->etcd.size() == 2);
  CHECK(ok.config.cluster->lease_ttl == std::chrono::seconds(6));
  CHECK(ok.config.cluster->stale_after == std::chrono::seconds(30));
  CHECK(ok.config.cluster->agree == config::AgreeRule{Kind::fraction, 0.18});
  CHECK(ok.config.cluster->min_observers == 1);
  const ReadConfig defaults(R"({"etcd": ["http://e1:2379"], "name": "prod", "node": "ns1"})");
  CHECK(defaults.errors() == "");
  CHECK(defaults.config.cluster->agree.kind == Kind::majority);
  CHECK(defaults.config.cluster->min_observers == 2);

  const ReadConfig bad(R"({"etcd": ["https://e1:2379", "e2"], "name": "a/b", "node": "",
                           "lease_ttl": "1s", "health": {"agree": "most", "min_observers": 0}, "ttl": 3})");
  CHECK_FALSE(bad.config.cluster);
  const std::string e = bad.errors();
  CHECK(e.find("2:24: an etcd member is a URL such as \"http://127.0.0.1:2379\"") != std::string::npos);
  CHECK(e.find("2:43: an etcd member is a URL") != std::string::npos);
  CHECK(e.find("\"name\" names the cluster") != std::string::npos);
  CHECK(e.find("\"node\" names this node") != std::string::npos);
  CHECK(e.find("\"agree\" must be \"majority\", \"any\", \"all\" or a fraction") != std::string::npos);
  CHECK(e.find("\"min_observers\" must be an integer from 1 to 1000") != std::string::npos);
  CHECK(e.find("unknown key \"ttl\"") != std::string::npos);
  CHECK(ReadConfig(R"({"etcd": ["http://e1:2379"], "name": "p", "node": "n", "lease_ttl": "1s"})").errors().find(
            "\"lease_ttl\" must be at least 2s") != std::string::npos);
  CHECK(ReadConfig(R"({"name": "p", "node": "n"})").errors().find("\"cluster\" needs \"etcd\"") != std::string::npos);
}

TEST_CASE("cluster: etcd member URLs") {
  CHECK(config::parse_etcd_url("http://127.0.0.1:2379")->port == "2379");
  CHECK(config::parse_etcd_url("http://[::1]:2379/")->host == "::1");
  CHECK(config::parse_etcd_url("http://etcd-1.internal:2379")->host == "etcd-1.internal");
  for (const char* bad : {"https://h:2379", "http://h", "http://h:0", "http://h:99999", "http://:2379", "http://h:23/x", "h:2379"})
    CHECK_FALSE(config::parse_etcd_url(bad));
}
