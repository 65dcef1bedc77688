// An immutable picture of health: operator overrides plus the latest results of
// checks and passive observations. Routing tables are built from one of these.
#pragma once
#include <map>
#include <optional>
#include <string>

#include "health/health_table.hpp"
#include "health/health_view.hpp"
#include "health/overrides.hpp"

namespace meridian::health {

// What the checks and the passive observer last said about one target.
struct Observations {
  std::optional<Status> check;
  std::optional<Status> passive;
  bool operator==(const Observations&) const = default;
};

class HealthSnapshot : public HealthView {
 public:
  HealthSnapshot() = default;
  // Each status counts as an observation of its source (passive, else check).
  HealthSnapshot(OverrideMap overrides, const std::map<std::string, Status>& observed);
  // The table's entries as they are now (key: HealthKey text).
  static HealthSnapshot of_table(OverrideMap overrides, const std::map<std::string, Entry>& entries,
                                 ClusterInputs cluster = {});

  bool region_forced(const std::string& service, const std::string& region, Status& out) const override;
  // Precedence: resolve_health (effective_state.hpp).
  Status endpoint(const std::string& service, const std::string& region, const std::string& address) const override;
  Status status(const HealthKey& key) const override;
  // The same for a key in its text form.
  Status status(const std::string& key) const;

  const OverrideMap& overrides() const { return overrides_; }
  const ClusterInputs& cluster() const { return cluster_; }
  // Equal snapshots give equal routing tables (a reload that changed no service reuses its table).
  bool operator==(const HealthSnapshot& other) const {
    return overrides_ == other.overrides_ && observed_ == other.observed_ && cluster_ == other.cluster_;
  }

 private:
  OverrideMap overrides_;
  std::map<std::string, Observations> observed_;  // key: HealthKey text
  ClusterInputs cluster_;
};

}  // namespace meridian::health
