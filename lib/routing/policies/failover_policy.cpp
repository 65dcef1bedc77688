// "failover": every client gets the regions in one order ("order", or
// configuration order); the first healthy one answers.
#include "config/json_object_reader.hpp"
#include "routing/policies/policy.hpp"

namespace meridian::routing::policies {

namespace {

constexpr std::string_view kKeys[] = {"order"};

void read(const ReadContext& context, const nlohmann::json& def, const Pointer& at, Service& s,
          std::vector<ClientKey>&) {
  config::DiagnosticsSink sink(context.source, context.diagnostics);
  config::JsonObjectReader service(def, at, sink);
  const nlohmann::json* written = service.find("order");
  if (!written) return;
  const std::size_t before = context.diagnostics.size();
  const auto order = read_region_list(context, s, *written, service.pointer("order"));
  if (order.size() != s.regions.size() && context.diagnostics.size() == before)
    context.error(at / "order", "\"order\" must list every region of the service");
  // Reorder regions so configuration order is the failover order.
  std::vector<Region> sorted;
  for (uint16_t r : order) sorted.push_back(s.regions[r]);
  if (sorted.size() == s.regions.size()) s.regions = std::move(sorted);
}

void compile(Service&, const std::vector<ClientKey>&, uint32_t all_regions, ClassPlan& plan) {
  plan.no_record = all_regions;  // every client, one order
}

}  // namespace

extern const Policy failover_policy;  // listed in policy_table.cpp
const Policy failover_policy{
    .name = "failover",
    .keys = kKeys,
    .read = read,
    .compile = compile,
};

}  // namespace meridian::routing::policies
