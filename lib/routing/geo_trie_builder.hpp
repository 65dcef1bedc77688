// Compiles the address tries of every service of a configuration from one walk
// of the location database's search tree per family. Each service says how a
// database record maps to one of its classes (ClassPlan::of_record, asked once
// per distinct record); the walk goes bottom-up and joins equal sibling leaves
// as it returns, so uniform subtrees never become nodes and no compact pass is
// needed. Where the IPv6 tree leads to IPv4 (::/96 and MaxMind's aliases
// ::ffff:0:0/96, 2001::/32, 2002::/16), the IPv6 root leads to the IPv4 root's
// nodes in the same trie: IPv4 is held once. Overlays (ASN-database networks of
// asn: keys, then net: keys) follow, copying the paths they change.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "geo/geoip_database.hpp"
#include "routing/client_key.hpp"
#include "routing/prefix_trie.hpp"

namespace meridian::routing {

struct GeoSources {
  std::shared_ptr<const geo::GeoipDatabase> city;  // City or Country database
  std::shared_ptr<const geo::GeoipDatabase> asn;   // optional ASN database
};

// How one service maps client addresses to its classes (the tries' leaf values).
struct ClassPlan {
  // Addresses without a record in the city database; every address when
  // of_record is empty (the database is then not read for this service).
  uint32_t no_record = 0;
  // The class of a city database record; asked once per distinct record.
  std::function<uint32_t(const geo::GeoRecord&)> of_record;
  // Overlays over the database's answer, in priority order: the ASN database's
  // networks whose number has an asn: key, then net: keys (shorter first, so the
  // more specific win). keys[i] gets key_class[i]. Null: no overlays.
  const std::vector<ClientKey>* keys = nullptr;
  std::vector<uint32_t> key_class;
};

// One trie (both families) per plan, in order.
std::vector<PrefixTrie> build_class_tries(const std::vector<const ClassPlan*>& plans, const GeoSources& geo);

}  // namespace meridian::routing
