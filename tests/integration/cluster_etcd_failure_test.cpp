// Several nodes when etcd fails: a member killed, two stopped (no quorum: local
// checks after stale_after, no lost query, back after SIGCONT), a compaction
// during a watch (issue 15 scenarios 5 and 6), and a watch etcd ends as compacted.
// Three real meridian processes and a real 3-member etcd cluster on loopback
// (README "Several nodes"); each node checks eu-west from "where it stands" (a
// probe target of its own: support_backends/cluster_nodes.hpp), so the test makes
// eu-west fail for some nodes only.
#include <doctest/doctest.h>

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "integration/support_backends/cluster_nodes.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

// Queries each node at a fixed rate, one datagram per query (no resend), and
// counts the queries that got no answer within a generous deadline.
class FixedRateLoad {
 public:
  FixedRateLoad(std::vector<Endpoint> servers, std::chrono::milliseconds every) {
    for (const auto& s : servers)
      threads_.emplace_back([this, s, every] {
        uint16_t id = 1;
        auto next = Clock::now();
        while (!stop_.load()) {
          QuerySpec q{kAppName, qtype::A};
          q.id = id++;
          const auto reply = udp_exchange(s, build_query(q), std::chrono::seconds(5), std::chrono::seconds(5));
          ++sent_;
          if (!reply) ++lost_;
          next += every;
          std::this_thread::sleep_until(next);  // the fixed rate; the loop ends with stop()
        }
      });
  }
  ~FixedRateLoad() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  uint64_t sent() const { return sent_.load(); }
  uint64_t lost() const { return lost_.load(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0}, lost_{0};
  std::vector<std::thread> threads_;
};

// Continues the paused members whatever happens in the test.
struct ResumeMembers {
  EtcdCluster& etcd;
  std::vector<int> members;
  ~ResumeMembers() {
    for (int m : members) etcd.resume(m);
  }
};

bool metric_is(ClusterNodes& c, int i, const std::string& line) {
  return c.node(i).metrics().find(line + "\n") != std::string::npos;
}

}  // namespace

TEST_CASE("scenario 5: etcd: one member killed changes nothing; two stopped: local checks after stale_after with no lost query; back after SIGCONT") {
  EtcdCluster& etcd = shared_etcd();
  // any: ns1's down vote drops eu-west everywhere while the view is fresh; alone,
  // ns2 and ns3 see it up.
  ClusterNodes c("s5", {.agree = "any", .min_observers = 2, .lease_ttl = "3s", .stale_after = "4s"});
  REQUIRE_MESSAGE(c.start(), c.error);
  REQUIRE_MESSAGE(c.wait_votes(3, 0), c.logs());
  c.probe(0).stop_listening();
  REQUIRE_MESSAGE(c.wait_all_answer(kUsEast), c.logs());

  // One member gone: calls move to the others, nothing changes, changes still flow. A
  // follower: killing the leader leaves etcd without one for an election (2-4 s with the
  // test's timings), which stale_after 4 s may rightly see as a stale view.
  const int leader = etcd.leader();
  REQUIRE(leader >= 0);
  const int victim = (leader + 1) % etcd.size();
  etcd.kill(victim);
  CHECK(c.all_keep_answering(kUsEast, std::chrono::seconds(6)));  // longer than stale_after
  REQUIRE(c.probe(0).start_listening());
  REQUIRE_MESSAGE(c.wait_all_answer(kEuWest), c.logs());
  c.probe(0).stop_listening();
  REQUIRE_MESSAGE(c.wait_all_answer(kUsEast), c.logs());
  for (int i = 0; i < 3; ++i) CHECK(metric_is(c, i, "meridian_cluster_health_stale 0"));
  REQUIRE_MESSAGE(etcd.restart(victim), etcd.error());

  // Two of three stopped: no quorum.
  FixedRateLoad load({c.node(0).dns, c.node(1).dns, c.node(2).dns}, std::chrono::milliseconds(20));
  const auto paused = Clock::now();
  etcd.pause(1);
  etcd.pause(2);
  ResumeMembers resume{etcd, {1, 2}};
  // ns2 and ns3 answer from their own checks (eu-west up); ns1 from its own (down).
  REQUIRE_MESSAGE(c.wait_all_answer(kEuWest, {1, 2}, std::chrono::seconds(60)), c.logs());
  const double fallback = seconds_since(paused);
  MESSAGE("etcd without quorum: ns2 and ns3 answered from their own checks after " << fallback << " s (stale_after 4 s)");
  CHECK(fallback > 2.0);  // not before the view could be stale
  CHECK(c.node(0).one(kAppName) == kUsEast);
  // ns1 may have heard from etcd up to a renewal round later than the others.
  for (int i = 0; i < 3; ++i) {
    CHECK(wait_for([&] { return metric_is(c, i, "meridian_cluster_health_stale 1"); }, std::chrono::seconds(30)));
    CHECK(c.cluster(i).value("fresh", true) == false);
  }
  CHECK(c.decided_by(1) == "local");
  CHECK(c.node(1).log().find("event=cluster_view state=stale") != std::string::npos);

  const auto continued = Clock::now();
  etcd.resume(1);
  etcd.resume(2);
  REQUIRE_MESSAGE(c.wait_all_answer(kUsEast, {0, 1, 2}, std::chrono::seconds(60)), c.logs());
  MESSAGE("quorum back: every node answered from the agreed view again after " << seconds_since(continued) << " s");
  load.stop();
  MESSAGE("fixed-rate load: " << load.sent() << " queries, " << load.lost() << " unanswered");
  CHECK(load.sent() > 100);
  CHECK(load.lost() == 0);
  for (int i = 0; i < 3; ++i) {
    CHECK(wait_for([&] { return metric_is(c, i, "meridian_cluster_health_stale 0"); }, std::chrono::seconds(30)));
    CHECK(c.node(i).log_clean());
  }
}

TEST_CASE("scenario 6: a compaction during a watch: the nodes re-read as needed and the view stays right") {
  EtcdCluster& etcd = shared_etcd();
  ClusterNodes c("s6", {.agree = "any"});
  REQUIRE_MESSAGE(c.start(), c.error);
  REQUIRE_MESSAGE(c.wait_votes(3, 0), c.logs());
  REQUIRE(c.wait_all_answer(kEuWest));

  auto compact = [&] {
    const int64_t revision = etcd.revision();
    REQUIRE(revision > 0);
    const CommandResult r = etcd.etcdctl({"compaction", std::to_string(revision)});
    INFO(r.out << r.err);
    CHECK(r.exit_code == 0);
  };
  for (int round = 0; round < 2; ++round) {
    c.probe(0).stop_listening();
    REQUIRE_MESSAGE(c.wait_all_answer(kUsEast), c.logs());
    compact();
    REQUIRE(c.probe(0).start_listening());
    REQUIRE_MESSAGE(c.wait_all_answer(kEuWest), c.logs());
  }

  // ns3 stopped while ns1's vote changes twice and etcd compacts the history in between:
  // when it runs again its watch is behind the compaction (or silent), it re-reads.
  ::kill(c.node(2).process.pid(), SIGSTOP);
  struct Continue {
    pid_t pid;
    ~Continue() { ::kill(pid, SIGCONT); }
  } continue_ns3{c.node(2).process.pid()};
  c.probe(0).stop_listening();
  REQUIRE_MESSAGE(c.wait_all_answer(kUsEast, {0, 1}), c.logs());
  compact();
  std::this_thread::sleep_for(std::chrono::seconds(5));  // ns3 stays stopped past its silent-watch bound
  ::kill(c.node(2).process.pid(), SIGCONT);
  REQUIRE_MESSAGE(c.wait_all_answer(kUsEast), c.logs());
  CHECK(c.wait_votes(3, 1));
  MESSAGE("ns3's full re-reads: " << c.cluster(2).value("resyncs", 0));
  REQUIRE(c.probe(0).start_listening());
  REQUIRE_MESSAGE(c.wait_all_answer(kEuWest), c.logs());
  CHECK(c.wait_votes(3, 0));
  for (int i = 0; i < 3; ++i) CHECK(c.node(i).log_clean());
}

TEST_CASE("scenario 6b: a watch that etcd ends as compacted: the node re-reads, logs why, and follows the view") {
  // etcd answers a watch with compact_revision when its start revision is older than the
  // last compaction; with a node that reads and then watches at once, that only happens in
  // a race. A proxy in front of one member ends ns1's watches that way on demand.
  EtcdCluster& etcd = shared_etcd();
  TempDir dir;
  const std::string port_file = dir.file("proxy.port"), trigger = dir.file("compacted");
  const pid_t proxy = spawn_process({"/usr/bin/python3", source_path("tests/integration/support_backends/etcd_watch_compactor.py"),
                                     etcd.client_urls().front(), port_file, trigger},
                                    dir.file("proxy.log"));
  REQUIRE(proxy > 0);
  struct Kill {
    pid_t pid;
    ~Kill() {
      ::kill(pid, SIGKILL);
    }
  } kill_proxy{proxy};
  REQUIRE(wait_for([&] { return !read_file(port_file).empty(); }, std::chrono::seconds(30)));
  const std::string proxy_url = "http://127.0.0.1:" + read_file(port_file);

  ClusterNodes c("s6b", {.agree = "any"});
  c.set_first_node_etcd({proxy_url});
  REQUIRE_MESSAGE(c.start(), c.error);
  REQUIRE_MESSAGE(c.wait_votes(3, 0), c.logs());
  REQUIRE(c.wait_all_answer(kEuWest));
  const int before = c.cluster(0).value("resyncs", 0);

  // Every watch ns1 opens ends as compacted while the trigger is there: it re-reads each time.
  dir.write("compacted", std::to_string(etcd.revision()));
  CHECK(wait_for([&] { return c.node(0).log().find("compacted at revision") != std::string::npos; },
                 std::chrono::seconds(30)));
  CHECK(wait_for([&] { return c.cluster(0).value("resyncs", 0) > before; }, std::chrono::seconds(30)));
  std::filesystem::remove(trigger);
  // Its view is right after the re-reads: a vote changing later reaches it through the new watch.
  const int resyncs = c.cluster(0).value("resyncs", 0);
  c.probe(1).stop_listening();
  REQUIRE_MESSAGE(c.wait_all_answer(kUsEast), c.logs());
  REQUIRE(c.probe(1).start_listening());
  REQUIRE_MESSAGE(c.wait_all_answer(kEuWest), c.logs());
  MESSAGE("ns1's full re-reads: " << before << " before the compacted watches, " << resyncs << " after, "
                                  << c.cluster(0).value("resyncs", 0) << " at the end");
  CHECK(c.cluster(0).value("fresh", false) == true);
  for (int i = 0; i < 3; ++i) CHECK(c.node(i).log_clean());
}
