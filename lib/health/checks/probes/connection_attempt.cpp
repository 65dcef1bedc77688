#include "health/checks/probes/connection_attempt.hpp"

namespace meridian::health {

ConnectionAttempt::ConnectionAttempt(boost::asio::any_io_executor executor, std::chrono::milliseconds timeout,
                                     Probe::Done done)
    : socket_(executor), deadline_(executor), timeout_(timeout), done_(std::move(done)) {}

void ConnectionAttempt::begin(const boost::asio::ip::tcp::endpoint& target, Probe::Clock::time_point deadline) {
  target_ = target;
  deadline_.expires_at(deadline);
  deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->finish(false, "timeout after " + std::to_string(self->timeout_.count()) + "ms");
  });
  socket_.async_connect(target, [self = shared_from_this()](const boost::system::error_code& ec) {
    if (!self->done_) return;  // already timed out or abandoned
    if (ec) return self->finish(false, "connect: " + ec.message());
    self->on_connected();
  });
}

void ConnectionAttempt::abandon() {
  done_ = nullptr;
  deadline_.cancel();
  boost::system::error_code ignored;
  socket_.close(ignored);
}

void ConnectionAttempt::finish(bool ok, std::string reason) {
  if (!done_) return;
  Probe::Done done = std::move(done_);
  done_ = nullptr;
  abandon();
  done(ProbeResult{ok, std::move(reason)});
}

}  // namespace meridian::health
