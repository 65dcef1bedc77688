#include "health/effective_state.hpp"

namespace meridian::health {

namespace {

bool forcing(const Override* o) { return o != nullptr && o->mode != Override::automatic; }

Status from_override(const Override& o, Source source) {
  // An override holds until the file (or etcd) changes.
  return {o.mode == Override::up ? State::up : State::down, source, o.reason, Stability::forever()};
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
  if (forcing(in.region_override)) {
    out.region_override = in.region_override->mode;
    out.region_override_reason = in.region_override->reason;
  } else if (forcing(in.cluster_region_override)) {
    out.region_override = in.cluster_region_override->mode;
    out.region_override_reason = in.cluster_region_override->reason;
  }
  if (forcing(in.target_override)) {
    out.status = from_override(*in.target_override, Source::override_file);
  } else if (forcing(in.cluster_override)) {
    out.status = from_override(*in.cluster_override, Source::cluster_override);
  } else {
    const Status own = from_observations({in.check, in.passive});
    if (in.agreed != nullptr) {
      out.status = *in.agreed;
      out.status.source = Source::cluster;
      // The agreed state can change when any node's checks flip; they run the
      // same checks at the same interval, so this node's timing bounds it.
      out.status.stability = own.stability;
    } else {
      out.status = own;
    }
  }
  return out;
}

const Override* find_override(const OverrideMap& overrides, const std::string& key) {
  const auto it = overrides.find(key);
  return it == overrides.end() ? nullptr : &it->second;
}

}  // namespace meridian::health
