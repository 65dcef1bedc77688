// One active-check attempt behind a small interface. A probe connects, asks and
// judges once; the runner (check_runner.cpp) schedules attempts and turns their
// results into up/down with rise/fall/hold-down. Probes are found by the check's
// "type" in one table (probe_types.cpp), which the config reader validates
// "type" against: a new kind of check is its own files under probes/ plus one
// row in that table.
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "health/checks/check_config.hpp"

namespace meridian::health {

struct ProbeResult {
  bool ok = false;
  // Shown in /status and logs: "connected", "HTTP status 500", "connect: Connection refused",
  // "timeout after 1000ms".
  std::string reason;
};

class Probe {
 public:
  using Clock = std::chrono::steady_clock;
  using Done = std::function<void(ProbeResult)>;

  virtual ~Probe() = default;

  // Starts one attempt against `target`. `done` runs exactly once, on the probe's
  // executor and never inside start(): with the verdict, or at `deadline` with
  // "timeout after <the check's timeout>ms". One attempt at a time.
  virtual void start(const boost::asio::ip::tcp::endpoint& target, Clock::time_point deadline, Done done) = 0;

  // Abandons the attempt in flight, if any (its connection closes); its `done`
  // is not called. Call on the executor.
  virtual void cancel() = 0;
};

// Makes the probe for one check; the check's settings stay fixed for its life.
using ProbeMaker = std::function<std::unique_ptr<Probe>(boost::asio::any_io_executor, const CheckConfig&)>;

struct ProbeType {
  std::string_view name;  // the check's "type"
  bool http_settings;     // takes "path", "expect" and "body"
  std::unique_ptr<Probe> (*make)(boost::asio::any_io_executor executor, const CheckConfig& config);
};

// Every probe type, in the order messages list them.
std::span<const ProbeType> probe_types();
// nullptr when no probe has that name.
const ProbeType* find_probe_type(std::string_view name);
// The names for messages: "tcp" or "http" (quoted).
std::string probe_type_names();
// The table's maker: the probe named by config.kind (which read_checks validated).
std::unique_ptr<Probe> make_probe(boost::asio::any_io_executor executor, const CheckConfig& config);

}  // namespace meridian::health
