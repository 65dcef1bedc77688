#include "health/checks/check_runner.hpp"

#include <random>

#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include "health/checks/check_stability.hpp"
#include "util/log.hpp"

namespace meridian::health {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
bool same_settings(const CheckTarget& a, const CheckTarget& b) {
  const CheckConfig& x = a.config;
  const CheckConfig& y = b.config;
  return a.endpoint == b.endpoint && x.kind == y.kind && x.interval == y.interval && x.timeout == y.timeout &&
         x.rise == y.rise && x.fall == y.fall && x.initial_up == y.initial_up && x.port == y.port && x.path == y.path &&
         x.host == y.host && x.expect == y.expect && x.body_contains == y.body_contains && x.hold_down == y.hold_down &&
         x.jitter == y.jitter;
}

double random_unit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}
}  // namespace

class CheckRunner::Monitor : public std::enable_shared_from_this<Monitor> {
 public:
  Monitor(asio::io_context& io, HealthTable& table, CheckTarget target)
      : io_(io), table_(table), target_(std::move(target)), timer_(io), deadline_(io), socket_(io),
        up_(target_.config.initial_up),
        // A random offset within one interval keeps checks from firing together.
        first_delay_(static_cast<int64_t>(random_unit() * static_cast<double>(target_.config.interval.count()))) {}

  // Reported synchronously by apply(), so a snapshot built right after sees it.
  void report_initial() {
    table_.report(target_.key, Source::check, up_ ? State::up : State::down,
                  std::string("initial state (") + (up_ ? "up" : "down") + "): waiting for the first check",
                  stability(std::chrono::steady_clock::now() + first_delay_));
  }

  void start() { schedule(first_delay_); }
  void stop() {
    stopped_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    deadline_.cancel();
    socket_.close(ignored);
  }
  const CheckTarget& target() const { return target_; }
  CheckStats stats() const {
    std::lock_guard lock(stats_mutex_);
    return stats_;
  }

 private:
  void schedule(std::chrono::milliseconds delay) {
    if (stopped_) return;
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec && !self->stopped_) self->run();
    });
  }

  std::chrono::milliseconds next_interval() const {
    const double j = target_.config.jitter;
    const double factor = 1.0 + j * (2.0 * random_unit() - 1.0);
    return std::chrono::milliseconds(static_cast<int64_t>(target_.config.interval.count() * factor));
  }

  void run() {
    started_ = std::chrono::steady_clock::now();
    finished_ = false;
    boost::system::error_code ignored;
    socket_.close(ignored);
    socket_ = tcp::socket(io_);
    deadline_.expires_after(target_.config.timeout);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->finish(false, "timeout after " + std::to_string(self->target_.config.timeout.count()) + "ms");
    });
    socket_.async_connect(target_.endpoint, [self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return self->finish(false, "connect: " + ec.message());
      if (self->target_.config.kind == CheckConfig::tcp) return self->finish(true, "connected");
      self->send_request();
    });
  }

  void send_request() {
    request_ = {};
    request_.method(http::verb::get);
    request_.target(target_.config.path);
    request_.version(11);
    const std::string host = target_.config.host.empty() ? target_.endpoint.address().to_string() : target_.config.host;
    request_.set(http::field::host, host);
    request_.set(http::field::user_agent, "meridian-check");
    request_.set(http::field::connection, "close");
    http::async_write(socket_, request_, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->finish(false, "send: " + ec.message());
      self->read_response();
    });
  }

  void read_response() {
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    buffer_.clear();
    http::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->finish(false, "read: " + ec.message());
      const auto& res = self->parser_->get();
      const unsigned status = res.result_int();
      const auto& expect = self->target_.config.expect;
      if (std::find(expect.begin(), expect.end(), status) == expect.end())
        return self->finish(false, "HTTP status " + std::to_string(status));
      if (!self->target_.config.body_contains.empty() && res.body().find(self->target_.config.body_contains) == std::string::npos)
        return self->finish(false, "body lacks \"" + self->target_.config.body_contains + "\"");
      self->finish(true, "HTTP status " + std::to_string(status));
    });
  }

  void finish(bool ok, const std::string& reason) {
    if (finished_) return;
    finished_ = true;
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
    {
      std::lock_guard lock(stats_mutex_);
      ++stats_.runs;
      if (!ok) ++stats_.failures;
      stats_.last_duration_seconds = seconds;
      stats_.has_result = true;
    }
    if (stopped_) return;
    if (ok) {
      ++successes_;
      failures_ = 0;
    } else {
      ++failures_;
      successes_ = 0;
    }
    const auto now = std::chrono::steady_clock::now();
    const bool held = now - last_change_ < target_.config.hold_down;
    bool next = up_;
    if (!up_ && ok && successes_ >= target_.config.rise && !held) next = true;
    if (up_ && !ok && failures_ >= target_.config.fall && !held) next = false;
    if (next != up_) {
      up_ = next;
      last_change_ = now;
      util::log(util::LogLevel::info, "health_change",
                {{"key", target_.key}, {"state", up_ ? "up" : "down"}, {"source", "check"}, {"reason", reason}});
    }
    // The reason is refreshed on every result so /status shows the latest error.
    const std::chrono::milliseconds delay = next_interval();
    table_.report(target_.key, Source::check, up_ ? State::up : State::down, reason, stability(now + delay));
    schedule(delay);
  }

  Stability stability(std::chrono::steady_clock::time_point next_check) const {
    CheckProgress p{up_, successes_, failures_, next_check, {}};
    if (target_.config.hold_down.count() > 0 && last_change_ != std::chrono::steady_clock::time_point{})
      p.hold_until = last_change_ + target_.config.hold_down;
    return check_stability(target_.config, p);
  }

  asio::io_context& io_;
  HealthTable& table_;
  CheckTarget target_;
  asio::steady_timer timer_;
  asio::steady_timer deadline_;
  tcp::socket socket_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  boost::beast::flat_buffer buffer_;
  bool up_;
  const std::chrono::milliseconds first_delay_;
  bool finished_ = true;
  std::atomic<bool> stopped_{false};
  unsigned successes_ = 0;
  unsigned failures_ = 0;
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point last_change_{};
  mutable std::mutex stats_mutex_;
  CheckStats stats_;
};

CheckRunner::CheckRunner(HealthTable& table)
    : table_(table), work_(std::make_unique<asio::executor_work_guard<asio::io_context::executor_type>>(io_.get_executor())),
      thread_([this] { io_.run(); }) {}

CheckRunner::~CheckRunner() { stop(); }

void CheckRunner::apply(std::vector<CheckTarget> targets) {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::shared_ptr<Monitor>> next;
  for (auto& t : targets) {
    const auto it = monitors_.find(t.key);
    if (it != monitors_.end() && same_settings(it->second->target(), t)) {
      next[t.key] = it->second;
      continue;
    }
    auto m = std::make_shared<Monitor>(io_, table_, std::move(t));
    m->report_initial();
    next[m->target().key] = m;
    asio::post(io_, [m] { m->start(); });
  }
  for (auto& [key, m] : monitors_) {
    if (next.count(key) && next[key] == m) continue;
    asio::post(io_, [m] { m->stop(); });
    if (!next.count(key)) table_.forget(key, Source::check);
  }
  monitors_ = std::move(next);
}

void CheckRunner::stop() {
  {
    std::lock_guard lock(mutex_);
    for (auto& [key, m] : monitors_) asio::post(io_, [m] { m->stop(); });
    monitors_.clear();
  }
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

bool CheckRunner::all_have_results() const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, m] : monitors_)
    if (!m->stats().has_result) return false;
  return true;
}

std::map<std::string, CheckStats> CheckRunner::stats() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, CheckStats> out;
  for (const auto& [key, m] : monitors_) out[key] = m->stats();
  return out;
}

}  // namespace meridian::health
