// Every routing policy, in the order the documentation and messages list them.
// A new policy is a file in this folder plus its name in the two lists below.
#include "routing/policies/policy.hpp"

namespace meridian::routing::policies {

// Defined one per file in this folder.
extern const Policy geo_policy, latency_policy, weighted_policy, closest_policy, failover_policy;

namespace {

constexpr const Policy* kPolicies[] = {
    &geo_policy,
    &latency_policy,
    &weighted_policy,
    &closest_policy,
    &failover_policy,
};

}  // namespace

std::span<const Policy* const> all_policies() { return kPolicies; }

const Policy* find_policy(std::string_view name) {
  for (const Policy* p : kPolicies)
    if (p->name == name) return p;
  return nullptr;
}

std::string policy_names() {
  std::string out;
  for (const Policy* p : kPolicies) out += (out.empty() ? "" : ", ") + std::string(p->name);
  return out;
}

}  // namespace meridian::routing::policies

namespace meridian::routing {

const char* policy_name(const policies::Policy* policy) { return policy ? policy->name.data() : "none"; }

}  // namespace meridian::routing
