#include "health/checks/probes/dns_probe.hpp"

#include <array>
#include <functional>
#include <random>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "health/checks/probes/connection_attempt.hpp"
#include "health/checks/probes/dns_message.hpp"

namespace meridian::health {

namespace asio = boost::asio;
using udp = asio::ip::udp;

namespace {

uint16_t random_id() {
  thread_local std::mt19937 rng{std::random_device{}()};
  return static_cast<uint16_t>(std::uniform_int_distribution<unsigned>(0, 0xFFFF)(rng));
}

// The query with a fresh id (a late answer to an earlier attempt is then ignored).
std::vector<uint8_t> with_id(std::vector<uint8_t> query, uint16_t id) {
  query[0] = static_cast<uint8_t>(id >> 8);
  query[1] = static_cast<uint8_t>(id & 0xFF);
  return query;
}

// One UDP query: the socket is connected to the target, so only its datagrams arrive (and
// an ICMP port unreachable ends the attempt as "Connection refused"); stray datagrams
// (not a response to this id) are skipped until the deadline.
class UdpAttempt : public std::enable_shared_from_this<UdpAttempt> {
 public:
  UdpAttempt(asio::any_io_executor executor, const CheckConfig& config, std::vector<uint8_t> query, Probe::Done done)
      : socket_(executor), deadline_(executor), config_(config), id_(random_id()),
        query_(with_id(std::move(query), id_)), done_(std::move(done)) {}

  void begin(const asio::ip::tcp::endpoint& target, Probe::Clock::time_point deadline) {
    deadline_.expires_at(deadline);
    deadline_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->finish({false, "timeout after " + std::to_string(self->config_.timeout.count()) + "ms"});
    });
    boost::system::error_code ec;
    const udp::endpoint to(target.address(), target.port());
    socket_.open(to.protocol(), ec);
    if (!ec) socket_.connect(to, ec);
    if (ec) {  // reported from the executor: never inside start()
      asio::post(socket_.get_executor(), [self = shared_from_this(), why = "socket: " + ec.message()] {
        self->finish({false, why});
      });
      return;
    }
    socket_.async_send(asio::buffer(query_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->finish({false, "send: " + ec.message()});
      self->receive();
    });
  }

  // Set by the probe: asks the same question over TCP within the same deadline, reporting
  // to the Done it is given.
  std::function<void(Probe::Done)> retry_over_tcp;

  void abandon() {
    done_ = nullptr;
    deadline_.cancel();
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void receive() {
    if (!done_) return;
    socket_.async_receive(asio::buffer(buffer_), [self = shared_from_this()](const boost::system::error_code& ec, std::size_t n) {
      if (!self->done_) return;
      if (ec) return self->finish({false, "receive: " + ec.message()});
      bool matched = false;
      ProbeResult r = judge_dns_response(self->config_, self->buffer_.data(), n, self->id_, matched);
      if (!matched) return self->receive();
      // Truncated (TC) with addresses to look for: ask again over TCP, as a resolver
      // would; an rcode alone is already there in the truncated answer.
      if ((self->buffer_[2] & 0x02) && !self->config_.expect_answer.empty() && self->retry_over_tcp) {
        Probe::Done done = std::move(self->done_);
        auto retry = std::move(self->retry_over_tcp);
        self->abandon();
        return retry(std::move(done));
      }
      self->finish(std::move(r));
    });
  }

  void finish(ProbeResult result) {
    if (!done_) return;
    Probe::Done done = std::move(done_);
    abandon();
    done(std::move(result));
  }

  udp::socket socket_;
  asio::steady_timer deadline_;
  const CheckConfig config_;
  const uint16_t id_;
  const std::vector<uint8_t> query_;
  Probe::Done done_;
  std::array<uint8_t, 65535> buffer_{};
};

// One query over TCP (RFC 1035 4.2.2: each message after its two-byte length).
class TcpAttempt final : public ConnectionAttempt {
 public:
  // after_truncation: the UDP answer had TC (said in the reason).
  TcpAttempt(asio::any_io_executor executor, const CheckConfig& config, std::vector<uint8_t> query, Probe::Done done,
             bool after_truncation = false)
      : ConnectionAttempt(std::move(executor), config.timeout, std::move(done)), config_(config), id_(random_id()),
        after_truncation_(after_truncation) {
    query = with_id(std::move(query), id_);
    message_.push_back(static_cast<uint8_t>(query.size() >> 8));
    message_.push_back(static_cast<uint8_t>(query.size() & 0xFF));
    message_.insert(message_.end(), query.begin(), query.end());
  }

 private:
  void on_connected() override {
    asio::async_write(socket_, asio::buffer(message_), [self = self<TcpAttempt>()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->finish(false, "send: " + ec.message());
      self->read_length();
    });
  }

  void read_length() {
    asio::async_read(socket_, asio::buffer(length_), [self = self<TcpAttempt>()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->finish(false, "read: " + ec.message());
      self->response_.resize(static_cast<std::size_t>(self->length_[0] << 8 | self->length_[1]));
      self->read_response();
    });
  }

  void read_response() {
    asio::async_read(socket_, asio::buffer(response_), [self = self<TcpAttempt>()](const boost::system::error_code& ec, std::size_t) {
      if (ec) return self->finish(false, "read: " + ec.message());
      bool matched = false;
      ProbeResult r = judge_dns_response(self->config_, self->response_.data(), self->response_.size(), self->id_, matched);
      if (!matched) return self->finish(false, "the response is not one to the query");
      if (self->after_truncation_) r.reason += " (over TCP: truncated over UDP)";
      self->finish(r.ok, std::move(r.reason));
    });
  }

  const CheckConfig config_;
  const uint16_t id_;
  const bool after_truncation_;
  std::vector<uint8_t> message_;
  std::array<uint8_t, 2> length_{};
  std::vector<uint8_t> response_;
};

class DnsProbe final : public Probe {
 public:
  DnsProbe(asio::any_io_executor executor, const CheckConfig& config)
      : executor_(std::move(executor)), config_(config), query_(dns_check_query(config_, query_problem_)) {}

  void start(const asio::ip::tcp::endpoint& target, Clock::time_point deadline, Done done) override {
    if (query_.empty()) {  // read_checks refuses such names; said once per attempt all the same
      asio::post(executor_, [done = std::move(done), why = query_problem_] { done({false, why}); });
      return;
    }
    if (config_.dns_tcp) {
      auto attempt = std::make_shared<TcpAttempt>(executor_, config_, query_, std::move(done));
      abandon_ = [weak = std::weak_ptr<TcpAttempt>(attempt)] {
        if (auto a = weak.lock()) a->abandon();
      };
      attempt->begin(target, deadline);
    } else {
      auto over_tcp = std::make_shared<std::weak_ptr<TcpAttempt>>();  // the TCP retry, once made
      auto attempt = std::make_shared<UdpAttempt>(executor_, config_, query_, std::move(done));
      attempt->retry_over_tcp = [executor = executor_, config = config_, query = query_, target, deadline,
                                 over_tcp](Probe::Done d) {
        auto tcp = std::make_shared<TcpAttempt>(executor, config, query, std::move(d), true);
        *over_tcp = tcp;
        tcp->begin(target, deadline);
      };
      abandon_ = [weak = std::weak_ptr<UdpAttempt>(attempt), over_tcp] {
        if (auto a = weak.lock()) a->abandon();
        if (auto t = over_tcp->lock()) t->abandon();
      };
      attempt->begin(target, deadline);
    }
  }

  void cancel() override {
    if (abandon_) abandon_();
  }

 private:
  asio::any_io_executor executor_;
  const CheckConfig config_;
  std::string query_problem_;
  const std::vector<uint8_t> query_;
  std::function<void()> abandon_;
};

}  // namespace

std::unique_ptr<Probe> make_dns_probe(asio::any_io_executor executor, const CheckConfig& config) {
  return std::make_unique<DnsProbe>(std::move(executor), config);
}

}  // namespace meridian::health
