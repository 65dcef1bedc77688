// An etcd v3 client over the JSON gateway on Boost.Beast, for coroutines on one
// io_context (the health checks' thread: never the DNS query path). Every call
// goes to the current member with a connect deadline and a call deadline; a member
// that fails (no connection, a timeout, "no leader", "unavailable") is left for
// the next one, in turn, until each was tried once. etcd's own answers that are
// about the request (a lease not found, a compacted revision) are thrown as
// EtcdError without trying another member.
#pragma once
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange without it
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "cluster/etcd_codec.hpp"
#include "config/cluster_settings.hpp"

namespace meridian::cluster {

struct EtcdTimeouts {
  std::chrono::milliseconds connect{1000};
  std::chrono::milliseconds call{2000};
};

// An open watch: messages in order; closing it ends a pending next().
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // The next message; throws when the stream ends or nothing came for silent_after.
  virtual boost::asio::awaitable<WatchMessage> next(std::chrono::milliseconds silent_after) = 0;
  virtual void close() = 0;
};

class EtcdClient {
 public:
  EtcdClient(boost::asio::any_io_executor executor, std::vector<config::EtcdMember> members, EtcdTimeouts timeouts = {});

  // POST path (e.g. "/v3/kv/range") with body; the reply's JSON. Throws EtcdError
  // for etcd's refusals, std::runtime_error once every member failed.
  boost::asio::awaitable<nlohmann::json> call(const std::string& path, const nlohmann::json& body);
  // A watch from create_request's revision, on the first member that takes it.
  boost::asio::awaitable<std::unique_ptr<WatchStream>> watch(const nlohmann::json& create_request);

  // The member the next call goes to, "host:port".
  std::string current_member() const;
  // Moves on to the next member (after a failure seen elsewhere, e.g. a silent watch).
  void rotate();

 private:
  boost::asio::awaitable<nlohmann::json> call_member(const config::EtcdMember& member, const std::string& path,
                                                     const std::string& body);
  boost::asio::any_io_executor executor_;
  std::vector<config::EtcdMember> members_;
  EtcdTimeouts timeouts_;
  std::size_t current_ = 0;
};

}  // namespace meridian::cluster
