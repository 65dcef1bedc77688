// A routing policy: how a service's "policy" turns its own JSON keys into client
// classes (address tries -> ordered region preferences), and what explain adds
// for it. Every policy is one file in this folder and one line in
// policy_table.cpp (see README.md). All of this runs at load or for explain:
// the query path only walks the tries the policy compiled.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/diagnostics.hpp"
#include "config/json_source.hpp"
#include "routing/classifier.hpp"
#include "routing/client_key.hpp"
#include "routing/service.hpp"

namespace meridian::routing::policies {

using Pointer = nlohmann::json::json_pointer;

// What a policy's reader may use from the services loader.
struct ReadContext {
  const config::JsonSource& source;   // meridian.json
  const std::string& base_dir;        // relative paths resolve against it
  const std::string& default_latency; // the top-level "latency" table, resolved; empty when none
  config::Diagnostics& diagnostics;

  void error(const Pointer& at, const std::string& message) const;
};

struct Policy {
  std::string_view name;  // the value of a service's "policy"
  // Service keys only this policy reads (accepted in every service, as before).
  std::span<const std::string_view> keys;
  // Needs a location database whatever its keys (else only for location keys).
  bool needs_location_database = false;

  // Reads the policy's keys of service `def` (at `at`) into `service` and the
  // client keys its classes are compiled from; problems go to context.error.
  void (*read)(const ReadContext& context, const nlohmann::json& def, const Pointer& at, Service& service,
               std::vector<ClientKey>& keys) = nullptr;
  // Fills service.classes and says how addresses map to them: `plan` (see
  // routing/geo_trie_builder.hpp; the tries of all services are then built in
  // one walk of the database). service.classes holds class `all_regions` (every
  // region in configuration order) on entry, and `plan` is default-constructed.
  void (*compile)(Service& service, const std::vector<ClientKey>& keys, uint32_t all_regions,
                  ClassPlan& plan) = nullptr;
  // Optional: what explain reports about the client's match, and per candidate region.
  void (*explain_match)(const Service& service, const std::vector<ClientKey>& keys, const KeyMatch& match,
                        nlohmann::ordered_json& report) = nullptr;
  void (*explain_candidate)(const Service& service, const KeyMatch& match, uint16_t region,
                            nlohmann::ordered_json& candidate) = nullptr;
};

// The table (policy_table.cpp): every policy, in documentation order.
std::span<const Policy* const> all_policies();
// nullptr for an unknown name.
const Policy* find_policy(std::string_view name);
// "geo, latency, ..." for messages.
std::string policy_names();

// Helpers shared by the policies (policy_support.cpp).
// A non-empty array of distinct region names of `service`, as indexes.
std::vector<uint16_t> read_region_list(const ReadContext& context, const Service& service, const nlohmann::json& list,
                                       const Pointer& at);
// Parses one client key (a geo map or latency table key) written in `source`.
bool read_client_key(const ReadContext& context, const config::JsonSource& source, const std::string& text,
                     const Pointer& at, std::vector<ClientKey>& keys);
// A latency table (the latency policy's file, parsed) into service.latency_rows and keys.
void read_latency_table(const ReadContext& context, const config::JsonSource& table, Service& service,
                        std::vector<ClientKey>& keys);
// The index of `preference` in classes, appended when new (equal preferences share a class).
uint32_t intern_class(std::vector<Preference>& classes, Preference preference);
// intern_class for many calls (one per distinct database location): indexed.
class ClassInterner {
 public:
  explicit ClassInterner(std::vector<Preference>& classes);
  uint32_t operator()(Preference preference);

 private:
  std::vector<Preference>& classes_;
  std::map<std::vector<uint16_t>, uint32_t> index_;  // tiers' regions, tiers ended by 0xFFFF
};
// One region per tier, in the given order.
Preference ordered_preference(const std::vector<uint16_t>& regions);
std::vector<uint16_t> all_region_indexes(const Service& service);
// The database record -> class of keyed policies (match_record); empty when no
// key reads the record (net: and default keys only).
std::function<uint32_t(const geo::GeoRecord&)> record_classifier(const std::vector<ClientKey>& keys,
                                                                 const std::vector<uint32_t>& key_class,
                                                                 uint32_t no_record);
// Classes by client key (geo map, latency table): key i gets preference_of(i);
// addresses no key matches get the default key's class, else all_regions.
template <typename PreferenceOf>
void compile_by_keys(Service& s, const std::vector<ClientKey>& keys, uint32_t all_regions, ClassPlan& plan,
                     PreferenceOf preference_of) {
  plan.keys = &keys;
  plan.key_class.clear();
  for (std::size_t i = 0; i < keys.size(); ++i) plan.key_class.push_back(intern_class(s.classes, preference_of(i)));
  const int fallback = fallback_key(keys);
  plan.no_record = fallback >= 0 ? plan.key_class[static_cast<std::size_t>(fallback)] : all_regions;
  plan.of_record = record_classifier(keys, plan.key_class, plan.no_record);
}
// explain_match of the keyed policies: the key that decided, if any.
void explain_matched_key(const Service& service, const std::vector<ClientKey>& keys, const KeyMatch& match,
                         nlohmann::ordered_json& report);

}  // namespace meridian::routing::policies
