// Runs active checks on Boost.Asio: one monitor per target, each on its own
// timer with a random start offset and jitter, asking its probe (probe.hpp) for
// one attempt at a time and applying rise/fall (and an optional hold-down)
// before it reports a state change to the health table.
#pragma once
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "health/checks/check_config.hpp"
#include "health/checks/probe.hpp"
#include "health/health_table.hpp"

namespace meridian::health {

struct CheckTarget {
  std::string key;                          // health table key
  boost::asio::ip::tcp::endpoint endpoint;  // where to connect
  CheckConfig config;
};

struct CheckStats {
  uint64_t runs = 0;
  uint64_t failures = 0;
  double last_duration_seconds = 0;
  bool has_result = false;
};

class CheckRunner {
 public:
  explicit CheckRunner(HealthTable& table);
  // With another source of probes than the probe table (tests script results).
  CheckRunner(HealthTable& table, ProbeMaker probes);
  ~CheckRunner();

  // Replaces the targets. Monitors whose key and settings are unchanged keep
  // running (and their state); removed ones stop; new ones start.
  void apply(std::vector<CheckTarget> targets);
  void stop();

  // True once every target has produced at least one result.
  bool all_have_results() const;
  std::map<std::string, CheckStats> stats() const;
  // The checks' thread: other work that must stay off the DNS query path and is
  // mostly waiting (the cluster's etcd calls) runs there too.
  boost::asio::any_io_executor executor() { return io_.get_executor(); }

 private:
  class Monitor;
  HealthTable& table_;
  ProbeMaker make_probe_;
  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Monitor>> monitors_;
};

}  // namespace meridian::health
