// What the tcp and http probes share: one attempt is one TCP connection made
// before a deadline, ending in exactly one result (the probe's verdict, an
// error, or the timeout). Handlers hold the attempt alive, not the probe, so a
// probe (and its monitor) can go while an attempt is still unwinding.
#pragma once
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "health/checks/probe.hpp"

namespace meridian::health {

class ConnectionAttempt : public std::enable_shared_from_this<ConnectionAttempt> {
 public:
  ConnectionAttempt(boost::asio::any_io_executor executor, std::chrono::milliseconds timeout, Probe::Done done);
  virtual ~ConnectionAttempt() = default;

  void begin(const boost::asio::ip::tcp::endpoint& target, Probe::Clock::time_point deadline);
  // Ends the attempt without a result.
  void abandon();

 protected:
  // Runs once the connection is up; ends with finish().
  virtual void on_connected() = 0;
  // Reports the result unless one was already reported; closes the connection.
  void finish(bool ok, std::string reason);

  template <class Derived>
  std::shared_ptr<Derived> self() {
    return std::static_pointer_cast<Derived>(shared_from_this());
  }

  boost::asio::ip::tcp::endpoint target_;
  boost::asio::ip::tcp::socket socket_;

 private:
  boost::asio::steady_timer deadline_;
  std::chrono::milliseconds timeout_;  // named in the timeout reason
  Probe::Done done_;
};

// A probe whose attempts are ConnectionAttempts of type A (made from the executor,
// the check's settings and `done`); it keeps the one in flight to cancel it.
template <class A>
class ConnectionProbe final : public Probe {
 public:
  ConnectionProbe(boost::asio::any_io_executor executor, const CheckConfig& config)
      : executor_(std::move(executor)), config_(config) {}

  void start(const boost::asio::ip::tcp::endpoint& target, Clock::time_point deadline, Done done) override {
    auto attempt = std::make_shared<A>(executor_, config_, std::move(done));
    current_ = attempt;
    attempt->begin(target, deadline);
  }

  void cancel() override {
    if (auto attempt = current_.lock()) attempt->abandon();
  }

 private:
  boost::asio::any_io_executor executor_;
  CheckConfig config_;
  std::weak_ptr<A> current_;
};

}  // namespace meridian::health
