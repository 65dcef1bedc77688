#include "forward/core/health_mirror.hpp"

#include <vector>

namespace meridian::forward {

bool HealthMirror::down_by_others(const health::Entry& e) {
  for (const auto& [source, obs] : e.by_source)
    if (source != health::Source::passive && obs.state == health::State::down) return true;
  return false;
}

uint8_t HealthMirror::compute(const std::string& key, bool observed_down, const health::OverrideMap& overrides) {
  const uint8_t observed = observed_down ? verdict::down : 0;
  if (overrides.empty()) return observed;
  if (const auto it = overrides.find(key); it != overrides.end() && it->second.mode != health::Override::automatic)
    return it->second.mode == health::Override::up ? verdict::forced_up : verdict::forced_down;
  // service/region/backend/HOST:PORT -> service/region
  const auto at = key.find("/backend/");
  if (at == std::string::npos) return observed;
  if (const auto it = overrides.find(key.substr(0, at)); it != overrides.end()) {
    if (it->second.mode == health::Override::down) return verdict::forced_down;
    if (it->second.mode == health::Override::up) return observed | verdict::region_up;
  }
  return observed;
}

void HealthMirror::attach() {
  std::weak_ptr<HealthMirror> weak = shared_from_this();
  table_.subscribe([weak](const std::string& key, const health::Status& status) {
    if (auto self = weak.lock()) self->on_change(key, status);
  });
  table_.subscribe_overrides([weak] {
    if (auto self = weak.lock()) self->on_overrides();
  });
  on_overrides();
}

void HealthMirror::on_change(const std::string& key, const health::Status& status) {
  std::lock_guard lock(mutex_);
  const auto it = flags_.find(key);
  if (it == flags_.end()) return;
  if (auto f = it->second.lock())
    f->store(compute(key, status.state == health::State::down && status.source != health::Source::passive, overrides_),
             std::memory_order_relaxed);
}

void HealthMirror::on_overrides() {
  {
    std::lock_guard lock(mutex_);
    overrides_ = table_.overrides();
  }
  refresh_all();
}

std::shared_ptr<HealthFlag> HealthMirror::flag(const std::string& key) {
  std::shared_ptr<HealthFlag> f;
  health::OverrideMap overrides;
  {
    std::lock_guard lock(mutex_);
    auto& slot = flags_[key];
    f = slot.lock();
    if (f) return f;
    f = std::make_shared<HealthFlag>(0);
    slot = f;
    overrides = overrides_;
  }
  const auto entries = table_.entries();
  const auto it = entries.find(key);
  f->store(compute(key, it != entries.end() && down_by_others(it->second), overrides), std::memory_order_relaxed);
  return f;
}

void HealthMirror::refresh_all() {
  std::vector<std::pair<std::string, std::shared_ptr<HealthFlag>>> live;
  health::OverrideMap overrides;
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
    overrides = overrides_;
  }
  if (live.empty()) return;
  const auto entries = table_.entries();
  for (auto& [key, f] : live) {
    const auto it = entries.find(key);
    f->store(compute(key, it != entries.end() && down_by_others(it->second), overrides), std::memory_order_relaxed);
  }
}

}  // namespace meridian::forward
