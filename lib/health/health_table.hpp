// The one mutable health table: observations from active checks and from the
// forwarding tier (passive), per key. Keys:
//   service/region/ADDRESS              an endpoint DNS hands out
//   service/region/backend/HOST:PORT    a backend behind the region's forwarders
// An entry is down when any source currently says down (precedence: operator
// overrides are applied on top, in HealthSnapshot). Subscribers hear about
// every change of an entry's effective state, and of how many checks it is from
// a flip (the stability floor: answer TTLs follow it), off the query path.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "health/health_view.hpp"
#include "health/overrides.hpp"

namespace meridian::health {

struct Observation {
  State state = State::up;
  std::string reason;
  std::chrono::system_clock::time_point since{};
  Stability stability;
};

struct Entry {
  Status effective;                         // what routing uses
  std::chrono::system_clock::time_point since{};
  std::map<Source, Observation> by_source;  // latest word from each source
};

class HealthTable {
 public:
  using Subscriber = std::function<void(const std::string& key, const Status& status)>;

  // Records what a source observed; returns true when the effective state changed.
  bool report(const std::string& key, Source source, State state, const std::string& reason,
              const Stability& stability = Stability::forever());
  // Drops what a source said about a key (e.g. its check was removed).
  void forget(const std::string& key, Source source);
  // Keeps only keys for which keep(key) is true (after a reload removed things).
  void retain(const std::function<bool(const std::string&)>& keep);

  std::map<std::string, Status> effective() const;
  std::map<std::string, Entry> entries() const;
  bool is_up(const std::string& key) const;  // unknown keys are up
  uint64_t generation() const;

  // Called after every change, without the table's lock held.
  void subscribe(Subscriber s);

  // The operator overrides (health/*.json) in force. They are not folded into the
  // entries: DNS applies them on its snapshot (HealthSnapshot), the forwarding tier
  // reads them from here, both with the same precedence. Setting a map that differs
  // from the current one calls the override subscribers (without the lock held).
  void set_overrides(OverrideMap overrides);
  OverrideMap overrides() const;
  void subscribe_overrides(std::function<void()> s);

 private:
  static Status combine(const Entry& e);
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::vector<Subscriber> subscribers_;
  OverrideMap overrides_;
  std::vector<std::function<void()>> override_subscribers_;
  uint64_t generation_ = 0;
};

}  // namespace meridian::health
