#include "net/tcp_server.hpp"

#include <array>
#include <optional>

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include "net/answer.hpp"
#include "query/responder.hpp"
#include "transfer/transfer.hpp"
#include "transfer/transfer_counters.hpp"
#include "util/log.hpp"

namespace meridian::net {

namespace asio = boost::asio;
using asio::ip::tcp;

class TcpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  // client_slot: the client network whose slot this connection holds, if any.
  Connection(TcpServer& server, tcp::socket socket, std::optional<ClientNetwork> client_slot)
      : server_(server), socket_(std::move(socket)), timer_(socket_.get_executor()),
        reader_(server.snapshots_), counters_(server.counters_), client_slot_(client_slot) {}

  ~Connection() {
    {
      std::lock_guard lock(server_.registry_mutex_);
      server_.registry_.erase(this);
    }
    if (client_slot_) server_.release_client_slot(*client_slot_);
    server_.connections_.fetch_sub(1);
  }

  // On shutdown: a connection waiting for its next query closes now; one in the
  // middle of a query finishes it and closes at its next read.
  void close_if_idle() {
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->close();
    });
  }

  void start() {
    {
      std::lock_guard lock(server_.registry_mutex_);
      server_.registry_[this] = weak_from_this();
    }
    boost::system::error_code ec;
    const auto peer = socket_.remote_endpoint(ec);
    if (!ec) client_ = util::IpAddress::from_asio(peer.address());
    read_length();
  }

 private:
  void arm(std::chrono::milliseconds timeout) {
    timer_.expires_after(timeout);
    timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->close();  // timer fired: idle or stalled client
    });
  }

  void close() {
    boost::system::error_code ignored;
    timer_.cancel();  // the pending wait holds a reference; let the connection go now
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  void read_length() {
    if (server_.stopping_.load()) return close();
    idle_ = true;
    arm(server_.limits_.idle_timeout);
    asio::async_read(socket_, asio::buffer(length_, 2),
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       if (ec) return self->close();
                       self->idle_ = false;
                       self->read_message();
                     });
  }

  void read_message() {
    const std::size_t len = static_cast<std::size_t>(length_[0]) << 8 | length_[1];
    if (len == 0) return close();
    arm(server_.limits_.message_timeout);
    query_.resize(len);
    asio::async_read(socket_, asio::buffer(query_),
                     [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                       if (ec) return self->close();
                       self->respond();
                     });
  }

  void respond() {
    timer_.cancel();
    if (transfer::is_transfer_request(query_.data(), query_.size())) [[unlikely]]
      return start_transfer();
    response_.resize(2 + dns::kMaxMessage);
    query::AnswerInfo info;
    const std::size_t n = answer_dns_query(reader_.current(), query_.data(), query_.size(), client_,
                                           query::Transport::tcp, query::AnswerClock(), response_.data() + 2,
                                           dns::kMaxMessage, info);
    counters_.record(query::Transport::tcp, info);
    if (n == 0) return read_length();  // nothing to say (e.g. a response sent to us)
    response_[0] = static_cast<uint8_t>(n >> 8);
    response_[1] = static_cast<uint8_t>(n);
    arm(server_.limits_.message_timeout);
    asio::async_write(socket_, asio::buffer(response_.data(), n + 2),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        if (ec) return self->close();
                        self->read_length();
                      });
  }

  // AXFR/IXFR: built on the transfer thread from the snapshot current now, then
  // written here whole; the connection reads its next query after that.
  void start_transfer() {
    if (server_.transfers_.fetch_add(1) >= server_.limits_.max_transfers) {
      server_.transfers_.fetch_sub(1);
      server_.refused_transfers_.fetch_add(1, std::memory_order_relaxed);
      transfer::counters().count_transfer(transfer::transfer_qtype(query_.data(), query_.size()),
                                          transfer::TransferOutcome::busy);
      util::log(util::LogLevel::warn, "transfer_refused", {{"client", client_.to_string()}, {"reason", "max_transfers"}});
      return write_refused();
    }
    asio::post(server_.transfer_pool_, [self = shared_from_this(), snapshot = server_.snapshots_.get()] {
      transfer::TransferReply reply;
      if (snapshot) reply = transfer::answer_transfer(*snapshot, self->query_.data(), self->query_.size(), self->client_);
      util::log(reply.rcode == 0 ? util::LogLevel::info : util::LogLevel::warn, "transfer",
                {{"zone", reply.zone}, {"client", self->client_.to_string()}, {"outcome", reply.outcome},
                 {"messages", std::to_string(reply.messages.size())}, {"records", std::to_string(reply.records)}});
      asio::post(self->socket_.get_executor(),
                 [self, messages = std::move(reply.messages)]() mutable { self->write_transfer(std::move(messages)); });
    });
  }

  void write_transfer(std::vector<std::vector<uint8_t>> messages) {
    transfer_out_ = std::move(messages);
    transfer_lengths_.resize(transfer_out_.size());
    std::vector<asio::const_buffer> buffers;
    buffers.reserve(transfer_out_.size() * 2);
    for (std::size_t i = 0; i < transfer_out_.size(); ++i) {
      const std::size_t n = transfer_out_[i].size();
      transfer_lengths_[i] = {static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
      buffers.emplace_back(transfer_lengths_[i].data(), 2);
      buffers.emplace_back(transfer_out_[i].data(), n);
    }
    arm(server_.limits_.transfer_timeout);
    asio::async_write(socket_, buffers, [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
      self->server_.transfers_.fetch_sub(1);
      self->transfer_out_.clear();
      self->transfer_out_.shrink_to_fit();
      if (ec) return self->close();
      self->read_length();
    });
  }

  // Too many transfers at once: REFUSED, with the question.
  void write_refused() {
    response_.resize(2 + dns::kMaxMessage);
    const std::size_t n = query::reply_without_answer(reader_.current(), query_.data(), query_.size(),
                                                      dns::rcode::REFUSED, response_.data() + 2, dns::kMaxMessage);
    if (n == 0) return read_length();
    response_[0] = static_cast<uint8_t>(n >> 8);
    response_[1] = static_cast<uint8_t>(n);
    arm(server_.limits_.message_timeout);
    asio::async_write(socket_, asio::buffer(response_.data(), n + 2),
                      [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                        if (ec) return self->close();
                        self->read_length();
                      });
  }

  TcpServer& server_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  SnapshotReader reader_;
  DnsCounters& counters_;
  query::ClientAddress client_;
  uint8_t length_[2] = {0, 0};
  bool idle_ = true;  // waiting for the next query's length
  std::vector<uint8_t> query_;
  std::vector<uint8_t> response_;
  std::optional<ClientNetwork> client_slot_;
  std::vector<std::vector<uint8_t>> transfer_out_;
  std::vector<std::array<uint8_t, 2>> transfer_lengths_;
};

TcpServer::TcpServer(const SnapshotHolder& snapshots, DnsStats& stats, TcpLimits limits)
    : snapshots_(snapshots), counters_(stats.slot(/*shared=*/true)), limits_(limits) {}

TcpServer::~TcpServer() { stop(std::chrono::milliseconds(0)); }

util::HostPort TcpServer::bind(const util::HostPort& where) {
  auto acceptor = std::make_unique<tcp::acceptor>(io_);
  const tcp::endpoint ep(where.address, where.port);
  acceptor->open(ep.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  if (ep.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true));
  acceptor->bind(ep);
  acceptor->listen(asio::socket_base::max_listen_connections);
  util::HostPort actual = where;
  actual.port = acceptor->local_endpoint().port();
  acceptors_.push_back(std::move(acceptor));
  return actual;
}

void TcpServer::start(unsigned threads) {
  for (auto& a : acceptors_) accept(*a);
  for (unsigned i = 0; i < (threads ? threads : 1); ++i) threads_.emplace_back([this] { io_.run(); });
}

void TcpServer::accept(tcp::acceptor& acceptor) {
  acceptor.async_accept(asio::make_strand(io_), [this, &acceptor](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || stopping_.load()) return;
    if (!ec) {
      std::optional<ClientNetwork> slot;
      bool refuse = connections_.load() >= limits_.max_connections;
      if (refuse) refused_max_connections_.fetch_add(1, std::memory_order_relaxed);
      if (!refuse && limits_.max_per_client > 0) {
        boost::system::error_code peer_ec;
        const auto peer = socket.remote_endpoint(peer_ec);
        if (!peer_ec) {
          slot = client_network(peer.address());
          if (!take_client_slot(*slot)) {
            refuse = true;
            slot.reset();
            refused_per_client_.fetch_add(1, std::memory_order_relaxed);
          }
        }
      }
      if (refuse) {
        boost::system::error_code ignored;
        socket.close(ignored);  // over a cap: refuse rather than queue
      } else {
        connections_.fetch_add(1);
        std::make_shared<Connection>(*this, std::move(socket), slot)->start();
      }
    }
    accept(acceptor);
  });
}

TcpServer::ClientNetwork TcpServer::client_network(const asio::ip::address& address) {
  if (address.is_v6()) {
    const auto v6 = address.to_v6();
    if (v6.is_v4_mapped()) return client_network(asio::ip::make_address_v4(asio::ip::v4_mapped, v6));
    const auto bytes = v6.to_bytes();
    uint64_t prefix = 0;
    for (std::size_t i = 0; i < 8; ++i) prefix = prefix << 8 | bytes[i];
    return {prefix, true};
  }
  return {address.to_v4().to_uint(), false};
}

bool TcpServer::take_client_slot(const ClientNetwork& network) {
  std::lock_guard lock(per_client_mutex_);
  uint32_t& count = per_client_[network];
  if (count >= limits_.max_per_client) {
    if (count == 0) per_client_.erase(network);
    return false;
  }
  ++count;
  return true;
}

void TcpServer::release_client_slot(const ClientNetwork& network) {
  std::lock_guard lock(per_client_mutex_);
  const auto it = per_client_.find(network);
  if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
}

void TcpServer::stop(std::chrono::milliseconds grace) {
  if (stopping_.exchange(true)) {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
    threads_.clear();
    return;
  }
  asio::post(io_, [this] {
    for (auto& a : acceptors_) {
      boost::system::error_code ignored;
      a->close(ignored);
    }
  });
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(registry_mutex_);
    for (auto& [raw, weak] : registry_)
      if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  // Outside the lock: dropping the last reference runs ~Connection, which takes it.
  for (auto& c : live) c->close_if_idle();
  live.clear();
  // Connections finish the answer they are writing, then close at their next read.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (connections_.load() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  transfer_pool_.stop();
  transfer_pool_.join();
  io_.stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
  threads_.clear();
}

}  // namespace meridian::net
