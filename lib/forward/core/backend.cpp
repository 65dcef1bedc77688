#include "forward/core/backend.hpp"

#include <algorithm>

#include "util/log.hpp"

namespace meridian::forward {

std::unique_ptr<tcp::socket> Backend::take_idle(Time now, Ms max_idle, std::unique_ptr<TlsStream>* tls) {
  while (!idle.empty()) {
    Idle i = std::move(idle.back());
    idle.pop_back();
    if (now - i.since <= max_idle && i.stream->is_open()) {
      if (tls) *tls = std::move(i.tls);
      return std::move(i.stream);
    }
  }
  return nullptr;
}

void Backend::put_idle(std::unique_ptr<tcp::socket> s, Time now, std::size_t pool_size, Ms max_idle,
                       std::unique_ptr<TlsStream> tls) {
  // take_idle uses the newest, so after a burst the oldest would stay open (their backend
  // long gone to CLOSE_WAIT) until the pool drained to them: closed here instead.
  while (!idle.empty() && now - idle.front().since > max_idle) idle.pop_front();
  if (idle.size() >= pool_size) return;
  idle.push_back({std::move(s), now, std::move(tls)});
}

void Backend::drop_idle() {
  for (auto& i : idle) {
    boost::system::error_code ec;
    i.stream->close(ec);
  }
  idle.clear();
  h2_pool.reset();  // its destructor retires the sessions
}

void Backend::clear_passive(health::HealthTable& health, Time now, bool uneject, const std::string& why) {
  reported_down = false;
  outlier.failing = false;
  outlier.consecutive = 0;
  if (uneject && outlier.ejected(now)) outlier.ejected_until = now;
  health.report(key, health::Source::passive, health::State::up, why);
  util::log(util::LogLevel::info, "forward_backend_recovered", {{"backend", key}, {"reason", why}});
}

void Region::on_success(Backend& b, Time now) {
  ++b.counters.successes;
  b.circuit.on_success(now);
  if (detector.on_success(b.outlier, now) || b.reported_down) {
    if (b.reported_down) {
      b.reported_down = false;
      health_.report(b.key, health::Source::passive, health::State::up, "answering again");
      util::log(util::LogLevel::info, "forward_backend_recovered", {{"backend", b.key}, {"reason", "answering again"}});
    }
  }
}

void Region::on_failure(Backend& b, Time now, const std::string& why) {
  ++b.counters.failures;
  b.last_error = why;
  b.circuit.on_failure(now);
  const OutlierVerdict v = detector.on_failure(b.outlier, ejected(now), backends.size(), now);
  if (v.ejected)
    util::log(util::LogLevel::warn, "forward_backend_ejected",
              {{"backend", b.key},
               {"for_ms", std::to_string(std::chrono::duration_cast<Ms>(b.outlier.ejected_until - now).count())},
               {"reason", why}});
  if (b.outlier.failing && !b.reported_down) {
    b.reported_down = true;
    const std::string reason = std::to_string(settings.outlier.consecutive_failures) + " consecutive failures: " + why;
    health_.report(b.key, health::Source::passive, health::State::down, reason);
    util::log(util::LogLevel::warn, "forward_backend_down", {{"backend", b.key}, {"reason", reason}});
  }
}

std::size_t Region::ejected(Time now) const {
  return static_cast<std::size_t>(
      std::count_if(backends.begin(), backends.end(), [&](const auto& b) { return b->outlier.ejected(now); }));
}

Group::Group(std::string name, std::vector<std::shared_ptr<Backend>> members, const BalanceSettings& balance)
    : name_(std::move(name)), members_(std::move(members)) {
  std::vector<std::string> ids;
  std::vector<uint32_t> weights;
  for (const auto& m : members_) {
    ids.push_back(m->address);
    weights.push_back(m->weight);
  }
  balancer_ = make_balancer(balance, ids, weights);
  scratch_.resize(members_.size());
}

Backend* Group::pick(Time now, uint64_t key, std::span<Backend* const> avoid) {
  bool any_fresh = false, any = false, region_up = false;
  for (std::size_t i = 0; i < members_.size(); ++i) {
    const Backend& b = *members_[i];
    Candidate& c = scratch_[i];
    c.weight = b.weight;
    c.load = b.active;
    c.eligible = b.eligible(now);
    any = any || c.eligible;
    region_up = region_up || (b.verdict() & verdict::region_up);
    if (!c.eligible && b.active >= b.max_connections) ++members_[i]->counters.bulkhead_full;
    if (c.eligible && std::find(avoid.begin(), avoid.end(), &b) == avoid.end()) any_fresh = true;
  }
  if (!any && region_up) {
    // The operator forced the region up: like DNS, which then answers with all of its
    // endpoints, fail open over the backends that are not forced down.
    for (std::size_t i = 0; i < members_.size(); ++i) {
      Candidate& c = scratch_[i];
      c.eligible = members_[i]->eligible_fail_open(now);
      if (c.eligible && std::find(avoid.begin(), avoid.end(), members_[i].get()) == avoid.end()) any_fresh = true;
    }
  }
  if (any_fresh && !avoid.empty())
    for (std::size_t i = 0; i < members_.size(); ++i)
      if (std::find(avoid.begin(), avoid.end(), members_[i].get()) != avoid.end()) scratch_[i].eligible = false;
  const int i = balancer_->pick(scratch_, key);
  return i < 0 ? nullptr : members_[static_cast<std::size_t>(i)].get();
}

}  // namespace meridian::forward
