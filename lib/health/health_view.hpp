// What routing needs to know about health: the effective state of every region
// and endpoint, with the reason, as one immutable value built off the query path.
#pragma once
#include <cstdint>
#include <string>

#include "health/health_key.hpp"
#include "health/stability.hpp"

namespace meridian::health {

enum class State : uint8_t { up, down };
enum class Source : uint8_t { initial, check, override_file, passive };

inline const char* state_name(State s) { return s == State::up ? "up" : "down"; }
inline const char* source_name(Source s) {
  switch (s) {
    case Source::initial: return "initial";
    case Source::check: return "check";
    case Source::override_file: return "override";
    case Source::passive: return "passive";
  }
  return "initial";
}

struct Status {
  State state = State::up;
  Source source = Source::initial;
  std::string reason;
  Stability stability;  // when it can next change (checks only; forever otherwise)
  bool operator==(const Status&) const = default;
};

// Answers for keys "service/region" (region level) and "service/region/address".
class HealthView {
 public:
  virtual ~HealthView() = default;
  // nullopt-like: forced == false when no override applies to the region.
  virtual bool region_forced(const std::string& service, const std::string& region, Status& out) const = 0;
  virtual Status endpoint(const std::string& service, const std::string& region, const std::string& address) const = 0;
  // Any endpoint or backend, same precedence.
  virtual Status status(const HealthKey& key) const = 0;
};

}  // namespace meridian::health
