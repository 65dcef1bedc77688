// "weighted": every client gets all regions in one tier, chosen among by weight.
#include "routing/policies/policy.hpp"

namespace meridian::routing::policies {

namespace {

void read(const ReadContext&, const nlohmann::json&, const Pointer&, Service&, std::vector<ClientKey>&) {}

void compile(Service& s, const std::vector<ClientKey>&, const GeoSources&, uint32_t) {
  s.classes.clear();
  Preference p;
  p.tiers.push_back(Tier{all_region_indexes(s)});
  intern_class(s.classes, std::move(p));
  s.v4 = PrefixTrie(32, 0);
  s.v6 = PrefixTrie(128, 0);
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
