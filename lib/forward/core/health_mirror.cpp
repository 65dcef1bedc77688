#include "forward/core/health_mirror.hpp"

#include <vector>

namespace meridian::forward {

bool HealthMirror::down_by_others(const health::Entry& e) {
  for (const auto& [source, obs] : e.by_source)
    if (source != health::Source::passive && obs.state == health::State::down) return true;
  return false;
}

void HealthMirror::attach() {
  std::weak_ptr<HealthMirror> weak = shared_from_this();
  table_.subscribe([weak](const std::string& key, const health::Status& status) {
    if (auto self = weak.lock()) self->on_change(key, status);
  });
}

void HealthMirror::on_change(const std::string& key, const health::Status& status) {
  std::lock_guard lock(mutex_);
  const auto it = flags_.find(key);
  if (it == flags_.end()) return;
  if (auto f = it->second.lock())
    f->store(status.state == health::State::down && status.source != health::Source::passive,
             std::memory_order_relaxed);
}

std::shared_ptr<std::atomic<bool>> HealthMirror::flag(const std::string& key) {
  std::shared_ptr<std::atomic<bool>> f;
  {
    std::lock_guard lock(mutex_);
    auto& slot = flags_[key];
    f = slot.lock();
    if (f) return f;
    f = std::make_shared<std::atomic<bool>>(false);
    slot = f;
  }
  const auto entries = table_.entries();
  const auto it = entries.find(key);
  if (it != entries.end()) f->store(down_by_others(it->second), std::memory_order_relaxed);
  return f;
}

void HealthMirror::refresh_all() {
  std::vector<std::pair<std::string, std::shared_ptr<std::atomic<bool>>>> live;
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
  }
  if (live.empty()) return;
  const auto entries = table_.entries();
  for (auto& [key, f] : live) {
    const auto it = entries.find(key);
    f->store(it != entries.end() && down_by_others(it->second), std::memory_order_relaxed);
  }
}

}  // namespace meridian::forward
