// "weighted": every client gets all regions in one tier, chosen among by weight.
#include "routing/policies/policy.hpp"

namespace meridian::routing::policies {

namespace {

void read(const ReadContext&, const nlohmann::json&, const Pointer&, Service&, std::vector<ClientKey>&) {}

void compile(Service& s, const std::vector<ClientKey>&, uint32_t, ClassPlan& plan) {
  s.classes.clear();
  Preference p;
  p.tiers.push_back(Tier{all_region_indexes(s)});
  plan.no_record = intern_class(s.classes, std::move(p));  // every client, one tier
}

}  // namespace

extern const Policy weighted_policy;  // listed in policy_table.cpp
const Policy weighted_policy{
    .name = "weighted",
    .keys = {},
    .read = read,
    .compile = compile,
};

}  // namespace meridian::routing::policies
