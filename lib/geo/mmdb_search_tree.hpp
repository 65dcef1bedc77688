// The mmdb search tree while it is being built: a binary trie over 128
// address bits whose leaves hold value ids. An insert replaces whatever
// earlier inserts stored inside its network, so a later more specific insert
// overrides part of an earlier one and a later wider one replaces it all.
//
// IPv4 lives at ::/96. With aliasing (what MaxMind's writers call
// alias_ipv6_to_ipv4) the records for ::ffff:0:0/96 (IPv4-mapped),
// 2001::/32 (Teredo) and 2002::/16 (6to4) point at the ::/96 node, so
// lookups of those IPv6 forms find the IPv4 data. The paths to ::/96 and to
// the aliases are pinned: inserts never replace them, only what hangs below.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "geo/mmdb_network.hpp"

namespace meridian::geo {

struct TreeRecord {
  enum class Kind : uint8_t { empty, value, node, ipv4_alias };
  Kind kind = Kind::empty;
  uint32_t index = 0;  // value id or node number; 0 otherwise
  bool operator==(const TreeRecord&) const = default;
};

struct TreeNode {
  TreeRecord left;   // address bit 0
  TreeRecord right;  // address bit 1
};

// True when network lies inside (or is) ::ffff:0:0/96, 2001::/32 or
// 2002::/16: with aliasing on, such a network cannot hold its own data.
bool is_inside_ipv4_alias(const IpNetwork& network);

class SearchTree {
 public:
  enum class InsertStatus { ok, inside_ipv4_alias };

  explicit SearchTree(bool alias_ipv4);

  // Stores value_id for every address in network. A network inside (or
  // equal to) an alias range is refused: it would never be looked up.
  InsertStatus insert(const IpNetwork& network, uint32_t value_id);

  // The finished tree, ready to encode: nodes numbered depth-first from the
  // root (node 0), sibling leaves with the same value merged (so a lookup
  // reports the widest network holding that data), alias records turned
  // into links to the ::/96 node. No record has kind ipv4_alias.
  std::vector<TreeNode> layout() const;

 private:
  struct BuildNode {
    TreeRecord child[2];
    bool pinned = false;  // on the path to ::/96 or an alias: never replaced or merged
  };

  uint32_t new_node(TreeRecord fill, bool pinned);
  // Pins the nodes above network's record and returns where that record is.
  std::pair<uint32_t, unsigned> pin_path(const IpNetwork& network);
  void overwrite(uint32_t node, unsigned side, TreeRecord value);
  TreeRecord lay_out(uint32_t build_node, std::vector<TreeNode>& out, uint32_t& ipv4_out) const;

  std::vector<BuildNode> nodes_;  // nodes_[0] is the root
  uint32_t ipv4_node_ = 0;        // the node at ::/96
};

}  // namespace meridian::geo
