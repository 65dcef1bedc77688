#include "forward/l7/h2/client_pool.hpp"

#include <algorithm>

namespace meridian::forward::l7::h2 {

ClientPool::~ClientPool() {
  for (auto& s : sessions_) s->retire();
}

std::size_t ClientPool::sessions() const {
  return static_cast<std::size_t>(std::count_if(sessions_.begin(), sessions_.end(), [](const auto& s) {
    return s->state() != ClientSession::State::dead;
  }));
}

std::shared_ptr<ClientSession> ClientPool::acquire(const std::shared_ptr<const tls::ClientTls>& tls,
                                                   uint32_t max_sessions, Ms connect_timeout, Ms idle_timeout) {
  // Sessions that no longer take streams leave the pool (those draining finish on their own).
  std::erase_if(sessions_, [&](const std::shared_ptr<ClientSession>& s) {
    if (s->tls() != tls) s->retire();  // made under TLS settings a reload replaced
    return !s->accepts();
  });
  for (const auto& s : sessions_)
    if (s->settings_received()) capacity_hint_ = s->capacity(capacity_hint_);
  for (auto& s : sessions_)
    if (s->load() < s->capacity(capacity_hint_)) {
      s->reserve();
      return s;
    }
  if (sessions_.size() < std::max<uint32_t>(1, max_sessions)) {
    auto s = std::make_shared<ClientSession>(core_, endpoint_, tls, connect_timeout, idle_timeout);
    sessions_.push_back(s);
    ++opened_;
    s->reserve();
    if (core_.draining) s->retire();  // a graceful stop: it serves this stream, then closes
    s->start();
    return s;
  }
  auto least = std::min_element(sessions_.begin(), sessions_.end(),
                                [](const auto& a, const auto& b) { return a->load() < b->load(); });
  (*least)->reserve();
  return *least;
}

}  // namespace meridian::forward::l7::h2
