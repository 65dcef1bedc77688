#include "health/effective_state.hpp"

namespace meridian::health {

namespace {

bool forcing(const Override* o) { return o != nullptr && o->mode != Override::automatic; }

Status from_override(const Override& o) {
  // An override holds until the file changes.
  return {o.mode == Override::up ? State::up : State::down, Source::override_file, o.reason, Stability::forever()};
}

// Down when any observation says down (the first, in the order given, names it);
// any of them may change, so the earliest change bounds the whole.
Status from_observations(std::initializer_list<const Status*> observations) {
  Stability stability;
  const Status* first = nullptr;
  const Status* first_down = nullptr;
  for (const Status* o : observations) {
    if (o == nullptr) continue;
    stability = Stability::earliest(stability, o->stability);
    if (first == nullptr) first = o;
    if (first_down == nullptr && o->state == State::down) first_down = o;
  }
  if (first_down != nullptr) return {State::down, first_down->source, first_down->reason, stability};
  if (first == nullptr) return {};
  return {State::up, first->source, first->reason, stability};
}

}  // namespace

EffectiveState resolve_health(const HealthInputs& in) {
  EffectiveState out;
  if (forcing(in.region_override)) out.region_override = in.region_override->mode;
  if (forcing(in.target_override)) out.status = from_override(*in.target_override);
  else out.status = from_observations({in.check, in.passive});
  return out;
}

const Override* find_override(const OverrideMap& overrides, const std::string& key) {
  const auto it = overrides.find(key);
  return it == overrides.end() ? nullptr : &it->second;
}

}  // namespace meridian::health
