#include "forward/core/health_mirror.hpp"

#include <vector>

#include "health/effective_state.hpp"

namespace meridian::forward {

uint8_t HealthMirror::verdict_of(const std::string& key, const health::Status* check, const Inputs& inputs) {
  health::HealthInputs in{.target_override = health::find_override(inputs.overrides, key),
                          .check = check,
                          .cluster_override = health::find_override(inputs.cluster.overrides, key)};
  if (const auto agreed = inputs.cluster.agreed.find(key); agreed != inputs.cluster.agreed.end())
    in.agreed = &agreed->second;
  if (const auto parsed = health::HealthKey::parse(key); parsed && parsed->kind() == health::HealthKey::Kind::backend) {
    const std::string region = parsed->region_key().to_string();
    in.region_override = health::find_override(inputs.overrides, region);
    in.cluster_region_override = health::find_override(inputs.cluster.overrides, region);
  }
  const health::EffectiveState e = health::resolve_health(in);
  if (e.forced()) return e.status.state == health::State::up ? verdict::forced_up : verdict::forced_down;
  if (e.region_override == health::Override::down) return verdict::forced_down;
  const uint8_t observed = e.status.state == health::State::down ? verdict::down : 0;
  return e.region_override == health::Override::up ? observed | verdict::region_up : observed;
}

uint8_t HealthMirror::verdict_of(const std::string& key, const health::Entry* entry, const Inputs& inputs) {
  const auto check = entry ? entry->observation(health::Source::check) : std::nullopt;
  return verdict_of(key, check ? &*check : nullptr, inputs);
}

uint8_t HealthMirror::compute(const std::string& key, bool observed_down, const health::OverrideMap& overrides,
                              const health::ClusterInputs& cluster) {
  const health::Status check{observed_down ? health::State::down : health::State::up, health::Source::check, "", {}};
  return verdict_of(key, &check, Inputs{overrides, cluster});
}

void HealthMirror::attach() {
  table_.add_listener(weak_from_this());
  {
    std::lock_guard lock(mutex_);
    inputs_ = {table_.overrides(), table_.cluster()};
  }
  refresh_all();
}

void HealthMirror::on_status_changed(const std::string& key, const health::Status& status) {
  std::lock_guard lock(mutex_);
  const auto it = flags_.find(key);
  if (it == flags_.end()) return;
  // The table's effective state names the check when the check decided it; when it
  // names our passive report, the check (if any) does not say down.
  const health::Status* check = status.source == health::Source::check ? &status : nullptr;
  if (auto f = it->second.lock()) f->store(verdict_of(key, check, inputs_), std::memory_order_relaxed);
}

void HealthMirror::on_overrides_changed() {
  {
    std::lock_guard lock(mutex_);
    inputs_.overrides = table_.overrides();
  }
  refresh_all();
}

void HealthMirror::on_cluster_changed() {
  {
    std::lock_guard lock(mutex_);
    inputs_.cluster = table_.cluster();
  }
  refresh_all();
}

std::shared_ptr<HealthFlag> HealthMirror::flag(const std::string& key) {
  std::shared_ptr<HealthFlag> f;
  Inputs inputs;
  {
    std::lock_guard lock(mutex_);
    auto& slot = flags_[key];
    f = slot.lock();
    if (f) return f;
    f = std::make_shared<HealthFlag>(0);
    slot = f;
    inputs = inputs_;
  }
  const auto entries = table_.entries();
  const auto it = entries.find(key);
  f->store(verdict_of(key, it != entries.end() ? &it->second : nullptr, inputs), std::memory_order_relaxed);
  return f;
}

void HealthMirror::refresh_all() {
  std::vector<std::pair<std::string, std::shared_ptr<HealthFlag>>> live;
  Inputs inputs;
  {
    std::lock_guard lock(mutex_);
    for (auto it = flags_.begin(); it != flags_.end();) {
      if (auto f = it->second.lock()) {
        live.emplace_back(it->first, std::move(f));
        ++it;
      } else {
        it = flags_.erase(it);
      }
    }
    inputs = inputs_;
  }
  if (live.empty()) return;
  const auto entries = table_.entries();
  for (auto& [key, f] : live) {
    const auto it = entries.find(key);
    f->store(verdict_of(key, it != entries.end() ? &it->second : nullptr, inputs), std::memory_order_relaxed);
  }
}

}  // namespace meridian::forward
