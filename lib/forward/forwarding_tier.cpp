#include "forward/forwarding_tier.hpp"

#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "forward/core/health_mirror.hpp"
#include "forward/core/listener.hpp"
#include "forward/l4/tcp_listener.hpp"
#include "forward/l7/http_listener.hpp"
#include "health/health_key.hpp"
#include "util/host_port.hpp"
#include "util/coarse_clock.hpp"
#include "util/log.hpp"

namespace meridian::forward {

namespace asio = boost::asio;

bool validate_region(const nlohmann::json& region, const ErrorSink& error) {
  RegionForward ignored;
  return parse_region(region, ignored, error);
}

std::string backend_key(const std::string& service, const std::string& region, const std::string& address) {
  return health::HealthKey::backend(service, region, address).to_string();
}

namespace {

struct Want {
  std::string service, region;
  RegionForward f;
};

std::string listener_key(const char* kind, const Want& w, const std::string& listen) {
  return std::string(kind) + "|" + w.service + "/" + w.region + "|" + listen;
}

}  // namespace

struct ForwardingTier::Impl {
  explicit Impl(health::HealthTable& h) : health(h), mirror(std::make_shared<HealthMirror>(h)), core(io, h) {
    mirror->attach();
  }

  health::HealthTable& health;
  std::shared_ptr<HealthMirror> mirror;
  asio::io_context io{1};  // one thread runs it: what its handlers post skips the scheduler lock
  TierCore core;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  std::thread::id io_thread;
  std::mutex control;  // one apply/stop at a time
  bool running = false;
  bool started_once = false;

  std::map<std::string, std::shared_ptr<Backend>> backends;
  std::map<std::string, std::shared_ptr<l7::HttpListener>> l7s;
  std::map<std::string, std::shared_ptr<l4::TcpListener>> l4s;
  std::optional<asio::steady_timer> refresh;
  Ms drain_timeout{5000};

  void start_thread() {
    if (running) return;
    if (started_once) io.restart();
    started_once = true;
    core.draining = false;
    work.emplace(io.get_executor());
    std::promise<void> ready;
    auto f = ready.get_future();
    thread = std::thread([this, &ready] {
      io_thread = std::this_thread::get_id();
      ready.set_value();
      for (;;) {
        try {
          io.run();
          break;
        } catch (const std::exception& e) {
          util::log(util::LogLevel::error, "forward_io_error", {{"error", e.what()}});
        }
      }
    });
    f.wait();
    running = true;
    run([this] {
      refresh.emplace(io);
      arm_refresh();
    });
  }

  void arm_refresh() {
    refresh->expires_after(std::chrono::seconds(1));
    refresh->async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      bool any = false;
      for (const auto& [k, b] : backends) any = any || b->reported_down;
      if (any) {
        mirror->refresh_all();
        review_passive();
      }
      arm_refresh();
    });
  }

  // A passive "down" is only cleared by a success through the proxy, but DNS stops
  // sending clients to a region whose backends are all down, so without this the
  // region could never come back. The report ends when the backend's active check
  // turns up after it (which also ends the ejection, like Envoy's
  // successful_active_health_check_uneject_host), or when the backend is not ejected
  // and has not failed for its region's base_ejection (traffic decides again).
  void review_passive() {
    const auto entries = health.entries();
    const auto now = util::coarse_now();
    for (auto& [key, b] : backends) {
      if (!b->reported_down) continue;
      if (const auto it = entries.find(key); it != entries.end()) {
        const auto& by = it->second.by_source;
        const auto check = by.find(health::Source::check), passive = by.find(health::Source::passive);
        if (check != by.end() && passive != by.end() && check->second.state == health::State::up &&
            check->second.since > passive->second.since) {
          b->clear_passive(health, now, true, "active check up again");
          continue;
        }
      }
      if (!b->outlier.ejected(now) && now - b->outlier.last_failure >= b->passive_hold)
        b->clear_passive(health, now, false,
                         "no failure for " + std::to_string(b->passive_hold.count()) + "ms: traffic decides again");
    }
  }

  // Runs f on the io thread (or here when the io thread is not running) and returns its result.
  template <class F>
  auto run(F f) -> decltype(f()) {
    if (!running || std::this_thread::get_id() == io_thread) return f();
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto result = task.get_future();
    asio::post(io, [&task] { task(); });
    return result.get();
  }

  void apply_on_io(std::vector<Want>& wants) {
    // 1. bind every new listener first: a failure changes nothing
    std::map<std::string, tcp::acceptor> fresh;
    std::set<std::string> wanted;
    for (const Want& w : wants) {
      if (w.f.l7) {
        const std::string k = listener_key("l7", w, w.f.l7->listen);
        wanted.insert(k);
        if (!l7s.count(k)) fresh.emplace(k, Listener::bind(io, w.f.l7->listen));
      }
      if (w.f.l4) {
        const std::string k = listener_key("l4", w, w.f.l4->listen);
        wanted.insert(k);
        if (!l4s.count(k)) fresh.emplace(k, Listener::bind(io, w.f.l4->listen));
      }
    }
    // 2. backends and regions
    std::map<std::string, std::shared_ptr<Backend>> next;
    Ms drain{0};
    for (Want& w : wants) {
      drain = std::max(drain, w.f.drain_timeout);
      auto region = std::make_shared<Region>(w.service, w.region, w.f, health);
      for (const BackendSpec& spec : w.f.backends) {
        const std::string key = backend_key(w.service, w.region, spec.address);
        std::shared_ptr<Backend> b;
        if (const auto it = backends.find(key); it != backends.end()) {
          b = it->second;
        } else {
          b = std::make_shared<Backend>();
          b->key = key;
          b->address = spec.address;
          b->endpoint = tcp::endpoint(asio::ip::make_address(spec.host), spec.port);
          b->health = mirror->flag(key);
        }
        b->group = spec.group;
        b->weight = spec.weight;
        b->max_connections = spec.max_connections ? spec.max_connections : w.f.bulkhead.max_connections;
        b->passive_hold = w.f.outlier.base_ejection;
        b->circuit.configure(w.f.circuit);
        region->backends.push_back(b);
        next[key] = b;
      }
      const ListenerIdentity base{"", "", w.service, w.region};
      if (w.f.l7) {
        const std::string k = listener_key("l7", w, w.f.l7->listen);
        auto cfg = l7::L7Config::build(*w.f.l7, region);
        if (const auto it = l7s.find(k); it != l7s.end()) {
          it->second->update(cfg);
        } else {
          ListenerIdentity id = base;
          id.kind = "l7";
          id.listen = w.f.l7->listen;
          auto l = std::make_shared<l7::HttpListener>(core, id, std::move(fresh.at(k)), cfg);
          l->start();
          l7s.emplace(k, l);
          util::log(util::LogLevel::info, "forward_listening", {{"kind", "l7"}, {"address", l->bound()},
                                                                {"service", w.service}, {"region", w.region}});
        }
      }
      if (w.f.l4) {
        const std::string k = listener_key("l4", w, w.f.l4->listen);
        auto cfg = l4::L4Config::build(*w.f.l4, region);
        if (const auto it = l4s.find(k); it != l4s.end()) {
          it->second->update(cfg);
        } else {
          ListenerIdentity id = base;
          id.kind = "l4";
          id.listen = w.f.l4->listen;
          auto l = std::make_shared<l4::TcpListener>(core, id, std::move(fresh.at(k)), cfg);
          l->start();
          l4s.emplace(k, l);
          util::log(util::LogLevel::info, "forward_listening", {{"kind", "l4"}, {"address", l->bound()},
                                                                {"service", w.service}, {"region", w.region}});
        }
      }
    }
    // 3. what is gone
    for (auto it = l7s.begin(); it != l7s.end();) {
      if (wanted.count(it->first)) {
        ++it;
      } else {
        it->second->close();
        it = l7s.erase(it);
      }
    }
    for (auto it = l4s.begin(); it != l4s.end();) {
      if (wanted.count(it->first)) {
        ++it;
      } else {
        it->second->close();
        it = l4s.erase(it);
      }
    }
    for (auto& [key, b] : backends) {
      if (next.count(key)) continue;
      b->drop_idle();
      if (b->reported_down) health.forget(key, health::Source::passive);
    }
    backends = std::move(next);
    drain_timeout = drain.count() ? drain : Ms(5000);
  }

  void stop() {
    if (!running) return;
    const Ms drain = run([this] {
      core.draining = true;
      for (auto& [k, l] : l7s) l->close();
      for (auto& [k, l] : l4s) l->close();
      core.close_all(false);
      return drain_timeout;
    });
    const auto deadline = std::chrono::steady_clock::now() + drain;
    while (std::chrono::steady_clock::now() < deadline && run([this] { return core.sessions(); }) > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    run([this] {
      core.close_all(true);
      for (auto& [k, b] : backends) b->drop_idle();
      if (refresh) refresh->cancel();
    });
    const auto grace = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    while (std::chrono::steady_clock::now() < grace && run([this] { return core.sessions(); }) > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    run([this] {
      l7s.clear();
      l4s.clear();
      refresh.reset();
    });
    work.reset();
    io.stop();
    thread.join();
    running = false;
  }

  void backend_metrics(MetricSink& m) const {
    const auto now = util::coarse_now();
    for (const auto& [key, b] : backends) {
      const std::string l = "backend=\"" + label_escape(key) + "\"";
      const bool up = b->healthy(now) && b->circuit.state() != CircuitState::open;
      m.add("meridian_forward_backend_up", "gauge",
            "1 when the backend takes traffic (healthy, not ejected, circuit not open).", l, up ? 1 : 0);
      m.add("meridian_forward_backend_active", "gauge", "L4 connections and L7 requests in flight to the backend.", l,
            b->active);
      m.add("meridian_forward_backend_idle_connections", "gauge", "Pooled keep-alive connections to the backend.", l,
            double(b->idle.size()));
      m.add("meridian_forward_backend_requests_total", "counter", "L7 requests and L4 connections sent to the backend.",
            l, double(b->counters.requests));
      m.add("meridian_forward_backend_failures_total", "counter",
            "Connect failures, timeouts and 5xx answers from the backend.", l, double(b->counters.failures));
      m.add("meridian_forward_backend_connect_failures_total", "counter", "Failed connects to the backend.", l,
            double(b->counters.connect_failures));
      m.add("meridian_forward_backend_timeouts_total", "counter", "Backend responses that timed out.", l,
            double(b->counters.timeouts));
      m.add("meridian_forward_backend_bulkhead_full_total", "counter",
            "Picks that skipped the backend because it was at max_connections.", l, double(b->counters.bulkhead_full));
      m.add("meridian_forward_backend_ejected", "gauge", "1 while outlier detection ejects the backend.", l,
            b->outlier.ejected(now) ? 1 : 0);
      m.add("meridian_forward_backend_ejections_total", "counter", "Outlier ejections of the backend.", l,
            double(b->outlier.ejected_total));
      for (const auto s : {CircuitState::closed, CircuitState::open, CircuitState::half_open})
        m.add("meridian_forward_backend_circuit_state", "gauge", "Circuit breaker state (1 for the current one).",
              l + ",state=\"" + circuit_state_name(s) + "\"", b->circuit.state() == s ? 1 : 0);
      m.add("meridian_forward_backend_circuit_opened_total", "counter", "Times the backend's circuit opened.", l,
            double(b->circuit.opened()));
      m.add("meridian_forward_backend_circuit_transitions_total", "counter", "Circuit breaker state changes.", l,
            double(b->circuit.transitions()));
    }
  }

  nlohmann::json backend_status(const Backend& b) const {
    const auto now = util::coarse_now();
    const bool ejected = b.outlier.ejected(now);
    const uint8_t v = b.verdict();
    const bool check_down = (v & verdict::down) != 0;
    std::string state = "up";
    const char* override_state = (v & verdict::forced_down) ? "down"
                                 : (v & verdict::forced_up) ? "up"
                                 : (v & verdict::region_up) ? "region_up"
                                                            : "";
    if (v & verdict::forced_down) state = "forced_down";
    else if (v & verdict::forced_up) state = "forced_up";
    else if (check_down) state = "down";
    else if (ejected) state = "ejected";
    else if (b.circuit.state() == CircuitState::open) state = "circuit_open";
    return {{"key", b.key},
            {"address", b.address},
            {"group", b.group},
            {"weight", b.weight},
            {"state", state},
            {"down_by_check", check_down},
            {"override", override_state},
            {"failing", b.outlier.failing},
            {"reported_down", b.reported_down},
            {"ejected", ejected},
            {"ejected_for_ms", ejected ? std::chrono::duration_cast<Ms>(b.outlier.ejected_until - now).count() : 0},
            {"ejections", b.outlier.ejected_total},
            {"circuit", circuit_state_name(b.circuit.state())},
            {"circuit_opened", b.circuit.opened()},
            {"active", b.active},
            {"max_connections", b.max_connections},
            {"idle_connections", b.idle.size()},
            {"requests", b.counters.requests},
            {"failures", b.counters.failures},
            {"connect_failures", b.counters.connect_failures},
            {"timeouts", b.counters.timeouts},
            {"last_error", b.last_error}};
  }
};

ForwardingTier::ForwardingTier(health::HealthTable& health) : impl_(std::make_unique<Impl>(health)) {}

ForwardingTier::~ForwardingTier() { stop(); }

void ForwardingTier::apply(const ForwardingPlan& plan) {
  std::vector<Want> wants;
  for (const ForwardedRegion& r : plan) wants.push_back({r.service, r.region, r.settings});
  std::map<std::string, std::string> used;
  for (const Want& w : wants) {
    for (const std::string* listen : {w.f.l4 ? &w.f.l4->listen : nullptr, w.f.l7 ? &w.f.l7->listen : nullptr}) {
      if (!listen) continue;
      const auto hp = util::parse_host_port(*listen);
      if (hp && hp->port == 0) continue;
      const auto [it, fresh] = used.emplace(*listen, w.service + "/" + w.region);
      if (!fresh)
        throw std::runtime_error("cannot listen on " + *listen + ": used by both " + it->second + " and " + w.service +
                                 "/" + w.region);
    }
  }
  std::lock_guard lock(impl_->control);
  impl_->start_thread();
  impl_->run([&] { impl_->apply_on_io(wants); });
}

void ForwardingTier::stop() {
  std::lock_guard lock(impl_->control);
  impl_->stop();
}

std::string ForwardingTier::metrics() const {
  return impl_->run([this] {
    MetricSink m;
    for (const auto& [k, l] : impl_->l7s) l->metrics(m);
    for (const auto& [k, l] : impl_->l4s) l->metrics(m);
    impl_->backend_metrics(m);
    return m.render();
  });
}

nlohmann::json ForwardingTier::status() const {
  return impl_->run([this] {
    nlohmann::json j = {{"listeners", nlohmann::json::array()}, {"backends", nlohmann::json::array()}};
    for (const auto& [k, l] : impl_->l7s) j["listeners"].push_back(l->status());
    for (const auto& [k, l] : impl_->l4s) j["listeners"].push_back(l->status());
    for (const auto& [k, b] : impl_->backends) j["backends"].push_back(impl_->backend_status(*b));
    return j;
  });
}

std::vector<std::string> ForwardingTier::listening() const {
  return impl_->run([this] {
    std::vector<std::string> out;
    for (const auto& [k, l] : impl_->l7s) out.push_back("l7 " + l->bound());
    for (const auto& [k, l] : impl_->l4s) out.push_back("l4 " + l->bound());
    return out;
  });
}

}  // namespace meridian::forward
