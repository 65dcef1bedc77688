#include "health/checks/rise_fall.hpp"

namespace meridian::health {

RiseFall::RiseFall(const CheckConfig& config)
    : rise_(config.rise), fall_(config.fall), hold_down_(config.hold_down), up_(config.initial_up) {}

bool RiseFall::record(bool ok, Clock::time_point now) {
  if (ok) {
    ++successes_;
    failures_ = 0;
  } else {
    ++failures_;
    successes_ = 0;
  }
  const bool held = last_change_ && now - *last_change_ < hold_down_;
  const bool flip = !held && (up_ ? !ok && failures_ >= fall_ : ok && successes_ >= rise_);
  if (flip) {
    up_ = !up_;
    last_change_ = now;
  }
  return flip;
}

CheckProgress RiseFall::progress(Clock::time_point next_check) const {
  CheckProgress p{up_, successes_, failures_, next_check, {}};
  if (hold_down_.count() > 0 && last_change_) p.hold_until = *last_change_ + hold_down_;
  return p;
}

}  // namespace meridian::health
