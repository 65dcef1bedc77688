#include "forward/forwarding_tier.hpp"

#include <array>
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
#include "tls/client_tls.hpp"
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

// "service/region", as logs, /status and health files name a region.
std::string region_id(const ForwardedRegion& r) { return health::HealthKey::region(r.service, r.region).to_string(); }

// What the tier needs to know about one kind of listener a region may ask for. The
// apply, stop, status and metrics loops all go over kListenerKinds, so a new kind
// (TLS) is one more entry there, not another copy of those loops.
struct ListenerKind {
  const char* name;  // ListenerIdentity::kind, and the prefix of listening()
  // The address the region asks this kind to listen on; nullptr when it asks for none.
  const std::string* (*listen)(const RegionForward& settings);
  // A listener (not started yet) on an acceptor already bound to that address.
  std::shared_ptr<Listener> (*create)(TierCore& core, ListenerIdentity id, tcp::acceptor acceptor,
                                      const RegionForward& settings, std::shared_ptr<Region> region);
  // Swaps a running listener of this kind to new settings; its connections stay open.
  void (*update)(Listener& listener, const RegionForward& settings, std::shared_ptr<Region> region);
};

// The ListenerKind of ListenerClass, which runs on a Config built by Config::build
// from the region's `settings` member (an optional L4Settings, L7Settings, ...).
template <class ListenerClass, class Config, auto settings>
constexpr ListenerKind listener_kind(const char* name) {
  return {name,
          [](const RegionForward& f) -> const std::string* { return (f.*settings) ? &(f.*settings)->listen : nullptr; },
          [](TierCore& core, ListenerIdentity id, tcp::acceptor acceptor, const RegionForward& f,
             std::shared_ptr<Region> region) -> std::shared_ptr<Listener> {
            return std::make_shared<ListenerClass>(core, std::move(id), std::move(acceptor),
                                                   Config::build(*(f.*settings), std::move(region)));
          },
          // Only called with a listener this kind created (ListenerSlot::kind), so the cast holds.
          [](Listener& listener, const RegionForward& f, std::shared_ptr<Region> region) {
            static_cast<ListenerClass&>(listener).update(Config::build(*(f.*settings), std::move(region)));
          }};
}

// In this order listeners are bound, started, closed and listed in status() and metrics().
constexpr std::array kListenerKinds{
    listener_kind<l7::HttpListener, l7::L7Config, &RegionForward::l7>("l7"),
    listener_kind<l4::TcpListener, l4::L4Config, &RegionForward::l4>("l4"),
};

// Calls f(kind, listen) for every listener the region asks for, kind being an index
// in kListenerKinds.
template <class F>
void for_each_listen(const RegionForward& settings, F&& f) {
  for (std::size_t kind = 0; kind < kListenerKinds.size(); ++kind)
    if (const std::string* listen = kListenerKinds[kind].listen(settings)) f(kind, *listen);
}

// A listener of the tier. A region keeps its listener (and the connections on it)
// across a reload while kind and address stay the same; any other change is a new slot.
struct ListenerSlot {
  std::size_t kind;  // index in kListenerKinds
  std::string region_listen;  // "service/region|listen"
  auto operator<=>(const ListenerSlot&) const = default;
};

ListenerSlot listener_slot(std::size_t kind, const ForwardedRegion& r, const std::string& listen) {
  return {kind, region_id(r) + "|" + listen};
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
  std::map<ListenerSlot, std::shared_ptr<Listener>> listeners;
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

  // Applies the plan on the io thread; a listen address that cannot be bound throws
  // before anything changed.
  void apply_on_io(const ForwardingPlan& plan) {
    auto bound = bind_new_listeners(plan);
    std::map<std::string, std::shared_ptr<Backend>> next_backends;
    std::set<ListenerSlot> wanted;
    Ms drain{0};
    for (const ForwardedRegion& r : plan) {
      drain = std::max(drain, r.settings.drain_timeout);
      const auto region = build_region(r, next_backends);
      for_each_listen(r.settings, [&](std::size_t kind, const std::string& listen) {
        const ListenerSlot slot = listener_slot(kind, r, listen);
        start_or_update_listener(slot, r, listen, region, bound);
        wanted.insert(slot);
      });
    }
    close_listeners_except(wanted);
    retire_backends_except(next_backends);
    backends = std::move(next_backends);
    drain_timeout = drain.count() ? drain : Ms(5000);
  }

  // Binds the plan's listen addresses that have no listener yet, so that a failure
  // (address in use, not local) throws before anything else changed.
  std::map<ListenerSlot, tcp::acceptor> bind_new_listeners(const ForwardingPlan& plan) {
    std::map<ListenerSlot, tcp::acceptor> bound;
    for (const ForwardedRegion& r : plan)
      for_each_listen(r.settings, [&](std::size_t kind, const std::string& listen) {
        ListenerSlot slot = listener_slot(kind, r, listen);
        if (!listeners.count(slot)) bound.emplace(std::move(slot), Listener::bind(io, listen));
      });
    return bound;
  }

  // TLS toward the backend as the plan says. Pooled connections were made under the old
  // settings: they close when the settings (or the CA file) changed, else the backend keeps
  // the old context and its cached session.
  static void set_backend_tls(Backend& b, const RegionForward& f) {
    const auto it = f.backend_tls.find(b.address);
    std::shared_ptr<const tls::ClientTls> tls = it == f.backend_tls.end() ? nullptr : it->second;
    if (b.tls && tls && b.tls->same_as(*tls)) return;
    if (b.tls || tls) b.drop_idle();
    b.tls = std::move(tls);
  }

  // The region's backends for the new plan, added to `next`. A backend that already
  // exists is reused with its state (circuit, ejection, pool) and takes the new settings.
  std::shared_ptr<Region> build_region(const ForwardedRegion& r, std::map<std::string, std::shared_ptr<Backend>>& next) {
    const RegionForward& f = r.settings;
    auto region = std::make_shared<Region>(r.service, r.region, f, health);
    for (const BackendSpec& spec : f.backends) {
      const std::string key = backend_key(r.service, r.region, spec.address);
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
      set_backend_tls(*b, f);
      const auto h2 = f.backend_h2.find(spec.address);
      const bool speaks_h2 = h2 != f.backend_h2.end();
      if (speaks_h2 != b->h2) b->drop_idle();  // connections made for the other protocol
      b->h2 = speaks_h2;
      b->h2_max_sessions = speaks_h2 ? h2->second.max_sessions : 4;
      b->group = spec.group;
      b->weight = spec.weight;
      b->max_connections = spec.max_connections ? spec.max_connections : f.bulkhead.max_connections;
      b->passive_hold = f.outlier.base_ejection;
      b->circuit.configure(f.circuit);
      region->backends.push_back(b);
      next[key] = b;
    }
    return region;
  }

  // A listener kept from before takes the region's new settings in place; a new one
  // starts on the acceptor bind_new_listeners() bound for it.
  void start_or_update_listener(const ListenerSlot& slot, const ForwardedRegion& r, const std::string& listen,
                                const std::shared_ptr<Region>& region, std::map<ListenerSlot, tcp::acceptor>& bound) {
    const ListenerKind& kind = kListenerKinds[slot.kind];
    if (const auto it = listeners.find(slot); it != listeners.end()) {
      kind.update(*it->second, r.settings, region);
      return;
    }
    auto listener = kind.create(core, ListenerIdentity{kind.name, listen, r.service, r.region},
                                std::move(bound.at(slot)), r.settings, region);
    listener->start();
    listeners.emplace(slot, listener);
    util::log(util::LogLevel::info, "forward_listening", {{"kind", kind.name}, {"address", listener->bound()},
                                                          {"service", r.service}, {"region", r.region}});
  }

  // Closes the listeners the plan no longer has; connections on them finish on their own.
  void close_listeners_except(const std::set<ListenerSlot>& wanted) {
    for (auto it = listeners.begin(); it != listeners.end();) {
      if (wanted.count(it->first)) {
        ++it;
      } else {
        it->second->close();
        it = listeners.erase(it);
      }
    }
  }

  // Backends the plan no longer has: their pooled connections close, and a passive
  // "down" we reported for them is withdrawn so it does not outlive them.
  void retire_backends_except(const std::map<std::string, std::shared_ptr<Backend>>& next) {
    for (auto& [key, b] : backends) {
      if (next.count(key)) continue;
      b->drop_idle();
      if (b->reported_down) health.forget(key, health::Source::passive);
    }
  }

  void stop() {
    if (!running) return;
    const Ms drain = run([this] {
      core.draining = true;
      for (auto& [slot, l] : listeners) l->close();
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
      listeners.clear();
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
      const auto parsed = health::HealthKey::parse(key);
      const std::string l = parsed ? "service=\"" + label_escape(parsed->service()) + "\",region=\"" +
                                         label_escape(parsed->region_name()) + "\",backend=\"" +
                                         label_escape(parsed->address()) + "\""
                                   : "backend=\"" + label_escape(key) + "\"";
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
      if (b->tls) {
        m.add("meridian_forward_backend_tls_handshakes_total", "counter",
              "Completed TLS handshakes toward the backend (its \"tls\").", l, double(b->counters.tls_handshakes));
        m.add("meridian_forward_backend_tls_resumed_total", "counter",
              "Of those, resumed sessions (no certificate exchange).", l, double(b->counters.tls_resumed));
        m.add("meridian_forward_backend_tls_handshake_failures_total", "counter",
              "TLS handshakes toward the backend that failed or timed out (also connect failures).", l,
              double(b->counters.tls_handshake_failures));
      }
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
            {"tls", b.tls ? nlohmann::json{{"handshakes", b.counters.tls_handshakes},
                                 {"resumed", b.counters.tls_resumed},
                                 {"handshake_failures", b.counters.tls_handshake_failures}}
                          : nlohmann::json(nullptr)},
            {"last_error", b.last_error}};
  }
};

ForwardingTier::ForwardingTier(health::HealthTable& health) : impl_(std::make_unique<Impl>(health)) {}

ForwardingTier::~ForwardingTier() { stop(); }

void ForwardingTier::apply(const ForwardingPlan& plan) {
  // One address serves one listener: name both regions that want it, before anything
  // is bound. Port 0 asks for any free port, so it never collides.
  std::map<std::string, std::string> used;  // listen -> region using it
  for (const ForwardedRegion& r : plan)
    for_each_listen(r.settings, [&](std::size_t, const std::string& listen) {
      const auto hp = util::parse_host_port(listen);
      if (hp && hp->port == 0) return;
      const auto [it, fresh] = used.emplace(listen, region_id(r));
      if (!fresh)
        throw std::runtime_error("cannot listen on " + listen + ": used by both " + it->second + " and " + region_id(r));
    });
  std::lock_guard lock(impl_->control);
  impl_->start_thread();
  impl_->run([&] { impl_->apply_on_io(plan); });
}

void ForwardingTier::stop() {
  std::lock_guard lock(impl_->control);
  impl_->stop();
}

std::string ForwardingTier::metrics() const {
  return impl_->run([this] {
    MetricSink m;
    for (const auto& [slot, l] : impl_->listeners) l->metrics(m);
    impl_->backend_metrics(m);
    return m.render();
  });
}

nlohmann::json ForwardingTier::status() const {
  return impl_->run([this] {
    nlohmann::json j = {{"listeners", nlohmann::json::array()}, {"backends", nlohmann::json::array()}};
    for (const auto& [slot, l] : impl_->listeners) j["listeners"].push_back(l->status());
    for (const auto& [k, b] : impl_->backends) j["backends"].push_back(impl_->backend_status(*b));
    return j;
  });
}

std::vector<std::string> ForwardingTier::listening() const {
  return impl_->run([this] {
    std::vector<std::string> out;
    for (const auto& [slot, l] : impl_->listeners) out.push_back(l->identity().kind + " " + l->bound());
    return out;
  });
}

}  // namespace meridian::forward
