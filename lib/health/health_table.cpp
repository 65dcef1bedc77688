#include "health/health_table.hpp"

#include <algorithm>

#include "health/effective_state.hpp"

namespace meridian::health {

namespace {

// Calls a function on status changes: what subscribe() registers.
class FunctionListener : public HealthListener {
 public:
  explicit FunctionListener(HealthTable::Subscriber f) : f_(std::move(f)) {}
  void on_status_changed(const std::string& key, const Status& status) override { f_(key, status); }

 private:
  HealthTable::Subscriber f_;
};

}  // namespace

std::optional<Status> Entry::observation(Source source) const {
  const auto it = by_source.find(source);
  if (it == by_source.end()) return std::nullopt;
  return Status{it->second.state, source, it->second.reason, it->second.stability};
}

Status HealthTable::combine(const Entry& e) {
  // The table holds observations only; the overrides are applied by its readers.
  const auto check = e.observation(Source::check);
  const auto passive = e.observation(Source::passive);
  return resolve_health({.check = check ? &*check : nullptr, .passive = passive ? &*passive : nullptr}).status;
}

std::vector<std::shared_ptr<HealthListener>> HealthTable::live_listeners_locked() {
  std::vector<std::shared_ptr<HealthListener>> live;
  std::erase_if(listeners_, [&](const std::weak_ptr<HealthListener>& w) {
    auto l = w.lock();
    if (!l) return true;  // its owner is gone
    live.push_back(std::move(l));
    return false;
  });
  return live;
}

bool HealthTable::report(const std::string& key, Source source, State state, const std::string& reason,
                         const Stability& stability) {
  Status changed_to;
  std::vector<std::shared_ptr<HealthListener>> listeners;
  bool state_changed = false;
  {
    std::lock_guard lock(mutex_);
    Entry& e = entries_[key];
    Observation& o = e.by_source[source];
    if (o.state != state || o.since == std::chrono::system_clock::time_point{}) o.since = std::chrono::system_clock::now();
    o.state = state;
    o.reason = reason;
    o.stability = stability;
    const Status next = combine(e);
    state_changed = next.state != e.effective.state || e.since == std::chrono::system_clock::time_point{};
    // `until` moves with every check; only a new floor (a check closer to or
    // further from a flip) is worth a new snapshot.
    const bool floor_changed = next.stability.at_least != e.effective.stability.at_least;
    e.effective = next;
    if (!state_changed && !floor_changed) return false;
    if (state_changed) e.since = std::chrono::system_clock::now();
    ++generation_;
    changed_to = next;
    listeners = live_listeners_locked();
  }
  for (const auto& l : listeners) l->on_status_changed(key, changed_to);
  return state_changed;
}

void HealthTable::forget(const std::string& key, Source source) {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  it->second.by_source.erase(source);
  if (it->second.by_source.empty()) entries_.erase(it);
  else it->second.effective = combine(it->second);
  ++generation_;
}

void HealthTable::retain(const std::function<bool(const std::string&)>& keep) {
  std::lock_guard lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (keep(it->first)) ++it;
    else it = entries_.erase(it);
  }
  ++generation_;
}

std::map<std::string, Status> HealthTable::effective() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, Status> out;
  for (const auto& [k, e] : entries_) out[k] = e.effective;
  return out;
}

std::map<std::string, Entry> HealthTable::entries() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

bool HealthTable::is_up(const std::string& key) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find(key);
  return it == entries_.end() || it->second.effective.state == State::up;
}

uint64_t HealthTable::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

void HealthTable::add_listener(std::weak_ptr<HealthListener> listener) {
  std::lock_guard lock(mutex_);
  listeners_.push_back(std::move(listener));
}

void HealthTable::subscribe(Subscriber s) {
  auto listener = std::make_shared<FunctionListener>(std::move(s));
  std::lock_guard lock(mutex_);
  listeners_.push_back(listener);
  owned_.push_back(std::move(listener));
}

void HealthTable::set_overrides(OverrideMap overrides) {
  std::vector<std::shared_ptr<HealthListener>> listeners;
  {
    std::lock_guard lock(mutex_);
    const auto same = [](const OverrideMap::value_type& a, const OverrideMap::value_type& b) {
      return a.first == b.first && a.second.mode == b.second.mode && a.second.reason == b.second.reason;
    };
    if (overrides.size() == overrides_.size() &&
        std::equal(overrides.begin(), overrides.end(), overrides_.begin(), same))
      return;
    overrides_ = std::move(overrides);
    ++generation_;
    listeners = live_listeners_locked();
  }
  for (const auto& l : listeners) l->on_overrides_changed();
}

void HealthTable::set_cluster(ClusterInputs cluster) {
  std::vector<std::shared_ptr<HealthListener>> listeners;
  {
    std::lock_guard lock(mutex_);
    if (cluster == cluster_) return;
    cluster_ = std::move(cluster);
    ++generation_;
    listeners = live_listeners_locked();
  }
  for (const auto& l : listeners) l->on_cluster_changed();
}

ClusterInputs HealthTable::cluster() const {
  std::lock_guard lock(mutex_);
  return cluster_;
}

OverrideMap HealthTable::overrides() const {
  std::lock_guard lock(mutex_);
  return overrides_;
}

}  // namespace meridian::health
