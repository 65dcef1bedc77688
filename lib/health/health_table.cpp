#include "health/health_table.hpp"

#include <algorithm>

namespace meridian::health {

Status HealthTable::combine(const Entry& e) {
  // Down when any source says down; the first such source (check before passive) names the reason.
  // Any source may change it: the earliest change of any bounds the whole.
  Stability stability;
  for (const auto& [source, obs] : e.by_source) stability = Stability::earliest(stability, obs.stability);
  for (const auto& [source, obs] : e.by_source) {
    if (obs.state == State::down) return {State::down, source, obs.reason, stability};
  }
  if (e.by_source.empty()) return {};
  const auto& [source, obs] = *e.by_source.begin();
  return {State::up, source, obs.reason, stability};
}

bool HealthTable::report(const std::string& key, Source source, State state, const std::string& reason,
                         const Stability& stability) {
  Status changed_to;
  std::vector<Subscriber> subscribers;
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
    subscribers = subscribers_;
  }
  for (const auto& s : subscribers) s(key, changed_to);
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

void HealthTable::subscribe(Subscriber s) {
  std::lock_guard lock(mutex_);
  subscribers_.push_back(std::move(s));
}

void HealthTable::set_overrides(OverrideMap overrides) {
  std::vector<std::function<void()>> subscribers;
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
    subscribers = override_subscribers_;
  }
  for (const auto& s : subscribers) s();
}

OverrideMap HealthTable::overrides() const {
  std::lock_guard lock(mutex_);
  return overrides_;
}

void HealthTable::subscribe_overrides(std::function<void()> s) {
  std::lock_guard lock(mutex_);
  override_subscribers_.push_back(std::move(s));
}

}  // namespace meridian::health
