#include "cluster/cluster_node.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <mutex>
#include <random>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "cluster/cluster_keys.hpp"
#include "health/health_key.hpp"
#include "util/log.hpp"

namespace meridian::cluster {

namespace asio = boost::asio;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using util::log;
using util::LogLevel;

namespace {

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int64_t unix_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// Full jitter on an exponential backoff: a restarted etcd is not met by every node at once.
milliseconds backoff(int failures) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t cap = std::min<int64_t>(5000, 250LL << std::min(failures, 5));
  return milliseconds(std::uniform_int_distribution<int64_t>(cap / 2, cap)(rng));
}

}  // namespace

std::string config_hash(const nlohmann::json& root) {
  nlohmann::json parts = nlohmann::json::object();
  if (root.is_object() && root.contains("services")) parts["services"] = root["services"];
  const std::string text = parts.dump();  // nlohmann sorts object keys: the same content, the same text
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < 8 && i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

class ClusterNode::Impl : public health::HealthListener, public std::enable_shared_from_this<Impl> {
 public:
  Impl(config::ClusterSettings settings, std::string hash, std::set<std::string> known, health::HealthTable& table,
       asio::any_io_executor executor, ClusterTiming timing)
      : settings_(std::move(settings)), keys_(settings_.name), table_(table), executor_(executor),
        timing_(timing), client_(executor, members(settings_), timing.etcd), wake_timer_(executor),
        known_(std::move(known)), config_hash_(std::move(hash)), started_(unix_now()) {
    const auto third = settings_.lease_ttl / 3;
    heartbeat_ = std::clamp<milliseconds>(std::chrono::duration_cast<milliseconds>(third), milliseconds(1000), milliseconds(5000));
    silent_after_ = 2 * heartbeat_ + milliseconds(2000);
    status_.cluster = settings_.name;
    status_.node = settings_.node;
    status_.config_hash = config_hash_;
  }

  void start() {
    running_ = true;
    table_.add_listener(weak_from_this());
    auto self = shared_from_this();
    asio::co_spawn(executor_, [self] { return self->run(); }, asio::detached);
    asio::co_spawn(executor_, [self] { return self->freshness_loop(); }, asio::detached);
    asio::post(executor_, [self] { self->refresh_own(); });
  }

  void stop() {
    if (!running_) return;
    std::future<void> done = done_.get_future();
    auto self = shared_from_this();
    asio::post(executor_, [self] {
      self->stopping_ = true;
      self->close_watch();
      self->wake();
    });
    // The revoke takes one call at most (its deadline); a stopped io_context never answers.
    if (done.wait_for(timing_.etcd.connect + timing_.etcd.call + milliseconds(1000)) != std::future_status::ready)
      log(LogLevel::warn, "cluster_stop", {{"result", "the lease was not revoked in time; it expires on its own"}});
  }

  void reconfigure(std::set<std::string> known, std::string hash) {
    auto self = shared_from_this();
    asio::post(executor_, [self, known = std::move(known), hash = std::move(hash)]() mutable {
      self->known_ = std::move(known);
      self->config_hash_ = std::move(hash);
      self->view_dirty_ = true;
      self->record_dirty_ = true;
      self->refresh_own();
    });
  }

  ClusterStatus status() const {
    std::lock_guard lock(status_mutex_);
    ClusterStatus s = status_;
    s.view_age_seconds = status_view_at_ == Clock::time_point{}
                             ? -1
                             : std::chrono::duration<double>(Clock::now() - status_view_at_).count();
    return s;
  }

  // HealthListener: from whatever thread changed the table.
  void on_status_changed(const std::string&, const health::Status&) override {
    auto self = shared_from_this();
    asio::post(executor_, [self] { self->refresh_own(); });
  }

 private:
  static std::vector<config::EtcdMember> members(const config::ClusterSettings& s) {
    std::vector<config::EtcdMember> out;
    for (const auto& url : s.etcd)
      if (auto m = config::parse_etcd_url(url)) out.push_back(*m);
    return out;
  }

  struct Watch {
    std::unique_ptr<WatchStream> stream;
    bool ended = false;
    bool closed = false;
    std::string why;
  };

  void wake() {
    woken_ = true;
    wake_timer_.cancel();
  }

  asio::awaitable<void> sleep_until(Clock::time_point at) {
    if (woken_) {
      woken_ = false;
      co_return;
    }
    wake_timer_.expires_at(at);
    boost::system::error_code ec;
    co_await wake_timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    woken_ = false;
  }

  // This node's observations from the table: only endpoints and backends it knows.
  void refresh_own() {
    std::map<std::string, NodeObservation> next;
    for (const auto& [key, e] : table_.entries()) {
      if (!known_.count(key)) continue;
      NodeObservation o{e.effective.state == health::State::up, unix_of(e.since), e.effective.reason};
      // Only a flip is news; a new reason or timing of the same state is not.
      if (const auto it = own_.find(key); it != own_.end() && it->second.up == o.up) o = it->second;
      next[key] = o;
    }
    own_ = std::move(next);
    view_dirty_ = true;  // the disagreement shown changes
    wake();
  }

  asio::awaitable<void> put(const std::string& key, const std::string& value, int64_t lease) {
    parse_range_reply(co_await client_.call("/v3/kv/put", put_request(key, value, lease)));
  }

  asio::awaitable<void> write_record() {
    NodeRecord r{config_hash_, MERIDIAN_VERSION, started_, unix_now()};
    co_await put(keys_.node(settings_.node), node_record_json(settings_.node, r), lease_);
    record_dirty_ = false;
  }

  // Puts what changed since the last write under this lease, deletes what went.
  asio::awaitable<void> write_own() {
    const auto own = own_;  // refresh_own may replace it while a call waits
    for (const auto& [key, o] : own) {
      const auto it = written_.find(key);
      if (it != written_.end() && it->second.up == o.up) continue;
      co_await put(keys_.observation(key, settings_.node), observation_json(o), lease_);
      written_[key] = o;
      log(LogLevel::info, "cluster_observation", {{"key", key}, {"state", o.up ? "up" : "down"}});
    }
    for (auto it = written_.begin(); it != written_.end();) {
      if (own.count(it->first)) {
        ++it;
        continue;
      }
      parse_range_reply(co_await client_.call("/v3/kv/deleterange", delete_request(keys_.observation(it->first, settings_.node))));
      it = written_.erase(it);
    }
  }

  asio::awaitable<int64_t> full_read() {
    const RangeReply reply = parse_range_reply(co_await client_.call("/v3/kv/range", range_request(keys_.root())));
    kvs_.clear();
    for (const auto& kv : reply.kvs) kvs_[kv.key] = kv.value;
    view_at_ = Clock::now();
    view_dirty_ = true;
    if (full_reads_++ > 0) {  // every read after the first: a watch lost or resumed, a new session, the minute's
      std::lock_guard lock(status_mutex_);
      ++status_.resyncs;
    }
    co_return reply.revision;
  }

  asio::awaitable<void> open_watch(int64_t revision) {
    close_watch();
    auto w = std::make_shared<Watch>();
    w->stream = co_await client_.watch(watch_create_request(keys_.root(), revision + 1));
    watch_ = w;
    last_message_ = Clock::now();
    auto self = shared_from_this();
    asio::co_spawn(executor_, [self, w] { return self->read_watch(w); }, asio::detached);
  }

  void close_watch() {
    if (!watch_) return;
    watch_->closed = true;
    watch_->stream->close();
    watch_.reset();
  }

  asio::awaitable<void> read_watch(std::shared_ptr<Watch> w) {
    try {
      for (;;) {
        const WatchMessage m = co_await w->stream->next(silent_after_);
        if (w->closed) co_return;
        last_message_ = Clock::now();
        if (m.must_resync()) {
          w->ended = true;
          w->why = m.compact_revision ? "compacted at revision " + std::to_string(m.compact_revision)
                                      : "cancelled: " + m.cancel_reason;
          wake();
          co_return;
        }
        for (const auto& e : m.events) {
          if (e.deleted) kvs_.erase(e.kv.key);
          else kvs_[e.kv.key] = e.kv.value;
        }
        view_at_ = last_message_;
        if (!m.events.empty()) {
          view_dirty_ = true;
          wake();
        }
      }
    } catch (const std::exception& e) {
      if (w->closed) co_return;
      w->ended = true;
      w->why = e.what();
      wake();
    }
  }

  // One connected stretch: returns when stopping, throws on any failure.
  asio::awaitable<void> session() {
    if (lease_ != 0) {
      // A lease that outlived a short outage keeps this node's votes in place.
      try {
        if (parse_keepalive(co_await client_.call("/v3/lease/keepalive", lease_id_request(lease_))) <= 0) lease_ = 0;
      } catch (const EtcdError&) {
        lease_ = 0;
      }
    }
    if (lease_ == 0) {
      const int64_t ttl = std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(settings_.lease_ttl).count());
      lease_ = parse_lease_grant(co_await client_.call("/v3/lease/grant", lease_grant_request(ttl)));
      written_.clear();
      log(LogLevel::info, "cluster_lease", {{"lease", std::to_string(lease_)}, {"ttl_s", std::to_string(ttl)},
                                            {"member", client_.current_member()}});
    }
    co_await write_record();
    co_await write_own();
    int64_t revision = co_await full_read();
    co_await open_watch(revision);
    connected(true, "");
    session_connected_ = true;
    auto next_heartbeat = Clock::now() + heartbeat_;
    auto next_reread = Clock::now() + timing_.full_reread;
    while (!stopping_) {
      update_view();
      // (No std::min({...}) in a coroutine: g++ 12 fails on its initializer_list.)
      const auto wake_at = std::min(std::min(next_heartbeat, next_reread), Clock::now() + milliseconds(500));
      co_await sleep_until(wake_at);
      if (stopping_) break;
      co_await write_own();
      const auto now = Clock::now();
      if (now >= next_heartbeat || record_dirty_) {
        if (parse_keepalive(co_await client_.call("/v3/lease/keepalive", lease_id_request(lease_))) <= 0) {
          lease_ = 0;
          throw std::runtime_error("the lease expired");
        }
        co_await write_record();
        next_heartbeat = now + heartbeat_;
      }
      std::string why;
      if (watch_ && watch_->ended) why = watch_->why;
      else if (now - last_message_ > silent_after_) why = "the watch was silent";
      else if (now >= next_reread) why = "the minute's re-read";
      if (!why.empty()) {
        if (why != "the minute's re-read") {
          log(LogLevel::info, "cluster_resync", {{"why", why}});
          if (why == "the watch was silent") client_.rotate();
        }
        close_watch();
        revision = co_await full_read();
        co_await open_watch(revision);
        next_reread = Clock::now() + timing_.full_reread;
      }
    }
  }

  asio::awaitable<void> run() {
    int failures = 0;
    while (!stopping_) {
      try {
        co_await session();
      } catch (const std::exception& e) {
        close_watch();
        connected(false, e.what());
      }
      if (stopping_) break;
      // A session that got connected starts the backoff over: the last outage is long past.
      failures = session_connected_ ? 1 : failures + 1;
      session_connected_ = false;
      // Only stop() cuts the backoff short (a health change must not).
      const auto retry_at = Clock::now() + backoff(failures);
      asio::steady_timer timer(executor_);
      while (!stopping_ && Clock::now() < retry_at) {
        timer.expires_at(std::min(retry_at, Clock::now() + milliseconds(100)));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
      }
      woken_ = false;
    }
    close_watch();
    if (lease_ != 0) {
      try {
        co_await client_.call("/v3/lease/revoke", lease_id_request(lease_));
        log(LogLevel::info, "cluster_lease_revoked", {{"lease", std::to_string(lease_)}});
      } catch (const std::exception& e) {
        log(LogLevel::warn, "cluster_lease_revoke_failed", {{"error", e.what()}});
      }
    }
    done_.set_value();
  }

  // Staleness does not wait for etcd: it is looked at twice a second.
  asio::awaitable<void> freshness_loop() {
    asio::steady_timer timer(executor_);
    while (!stopping_) {
      update_view();
      timer.expires_after(milliseconds(500));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }
  }

  void connected(bool ok, const std::string& error) {
    {
      std::lock_guard lock(status_mutex_);
      if (status_.connected == ok && (ok || status_.last_error == error)) return;
      status_.connected = ok;
      if (!ok) status_.last_error = error;
      status_.member = client_.current_member();
    }
    if (ok) log(LogLevel::info, "cluster_connected", {{"member", client_.current_member()}});
    else log(LogLevel::warn, "cluster_unreachable", {{"error", error}});
  }

  void update_view() {
    {
      std::lock_guard lock(status_mutex_);
      status_view_at_ = view_at_;  // status() runs on the admin thread
    }
    const bool fresh = view_at_ != Clock::time_point{} && Clock::now() - view_at_ < settings_.stale_after;
    if (!view_dirty_ && fresh == published_fresh_) return;
    view_dirty_ = false;
    if (fresh != published_fresh_)
      log(fresh ? LogLevel::info : LogLevel::warn, "cluster_view",
          {{"state", fresh ? "fresh" : "stale"},
           {"answers_from", fresh ? "the agreed view" : "this node's own checks"}});
    published_fresh_ = fresh;
    ClusterData data = read_cluster_data(keys_, kvs_);
    for (auto it = data.overrides.begin(); it != data.overrides.end();)
      it = known_.count(it->first) ? std::next(it) : data.overrides.erase(it);
    const auto known = [this](const std::string& key) { return known_.count(key) > 0; };
    auto agreed = agree(data, settings_.agree, settings_.min_observers, known);
    table_.set_cluster(cluster_inputs(data, agreed, fresh));
    std::lock_guard lock(status_mutex_);
    status_.fresh = fresh;
    status_.lease = lease_;
    status_.config_hash = config_hash_;
    status_.member = client_.current_member();
    status_.nodes = std::move(data.nodes);
    status_.agreed = std::move(agreed);
    status_.overrides = std::move(data.overrides);
    status_.own.clear();
    for (const auto& [key, o] : own_) status_.own[key] = o.up;
  }

  const config::ClusterSettings settings_;
  const ClusterKeys keys_;
  health::HealthTable& table_;
  asio::any_io_executor executor_;
  const ClusterTiming timing_;
  EtcdClient client_;
  asio::steady_timer wake_timer_;
  milliseconds heartbeat_{3000};
  milliseconds silent_after_{8000};

  // Touched on the executor only.
  std::set<std::string> known_;
  std::string config_hash_;
  const int64_t started_;
  bool stopping_ = false;
  bool woken_ = false;
  bool session_connected_ = false;  // the current session reached connected(true)
  bool view_dirty_ = true;
  bool record_dirty_ = false;
  bool published_fresh_ = false;
  int64_t lease_ = 0;
  uint64_t full_reads_ = 0;
  std::map<std::string, NodeObservation> own_;      // what this node sees now
  std::map<std::string, NodeObservation> written_;  // what etcd holds of it under lease_
  std::map<std::string, std::string> kvs_;           // the cluster's keys as last read and watched
  std::shared_ptr<Watch> watch_;
  Clock::time_point view_at_{};       // kvs_ was known current then
  Clock::time_point last_message_{};  // the watch's last message

  bool running_ = false;  // start() was called (from the owner's thread)
  std::promise<void> done_;
  mutable std::mutex status_mutex_;
  ClusterStatus status_;
  Clock::time_point status_view_at_{};  // view_at_ as of the last update_view
};

ClusterNode::ClusterNode(config::ClusterSettings settings, std::string hash, std::set<std::string> known,
                         health::HealthTable& table, asio::any_io_executor executor, ClusterTiming timing)
    : impl_(std::make_shared<Impl>(std::move(settings), std::move(hash), std::move(known), table, executor, timing)) {}

ClusterNode::~ClusterNode() { stop(); }

void ClusterNode::start() { impl_->start(); }

void ClusterNode::stop() {
  if (!impl_) return;
  impl_->stop();
  impl_.reset();
}

void ClusterNode::reconfigure(std::set<std::string> known, std::string hash) {
  if (impl_) impl_->reconfigure(std::move(known), std::move(hash));
}

ClusterStatus ClusterNode::status() const { return impl_ ? impl_->status() : ClusterStatus{}; }

}  // namespace meridian::cluster
