// An immutable picture of health: operator overrides plus the latest results of
// checks and passive observations. Routing tables are built from one of these.
#pragma once
#include <map>
#include <string>

#include "health/health_view.hpp"
#include "health/overrides.hpp"

namespace meridian::health {

class HealthSnapshot : public HealthView {
 public:
  HealthSnapshot() = default;
  HealthSnapshot(OverrideMap overrides, std::map<std::string, Status> observed)
      : overrides_(std::move(overrides)), observed_(std::move(observed)) {}

  bool region_forced(const std::string& service, const std::string& region, Status& out) const override;
  // Precedence: an override wins; otherwise the observed state (checks, passive);
  // otherwise up (no check configured).
  Status endpoint(const std::string& service, const std::string& region, const std::string& address) const override;
  Status status(const std::string& key) const override;

  const OverrideMap& overrides() const { return overrides_; }
  const std::map<std::string, Status>& observed() const { return observed_; }

 private:
  OverrideMap overrides_;
  std::map<std::string, Status> observed_;  // key: service/region/address
};

}  // namespace meridian::health
