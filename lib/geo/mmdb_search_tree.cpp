#include "geo/mmdb_search_tree.hpp"

#include <array>

namespace meridian::geo {
namespace {

using Kind = TreeRecord::Kind;

IpNetwork ipv6_network(std::array<uint8_t, 16> bytes, unsigned prefix_length) {
  IpNetwork net;
  net.bytes = bytes;
  net.prefix_length = prefix_length;
  return net;
}

// The IPv6 ranges that embed an IPv4 address right after their prefix.
const std::array<IpNetwork, 3> kIpv4AliasNetworks = {
    ipv6_network({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96),  // ::ffff:0:0/96
    ipv6_network({0x20, 0x01}, 32),                               // 2001::/32
    ipv6_network({0x20, 0x02}, 16),                               // 2002::/16
};

bool is_leaf(TreeRecord r) { return r.kind == Kind::empty || r.kind == Kind::value; }

}  // namespace

bool is_inside_ipv4_alias(const IpNetwork& network) {
  for (const IpNetwork& alias : kIpv4AliasNetworks) {
    if (network.prefix_length < alias.prefix_length) continue;
    bool inside = true;
    for (unsigned i = 0; i < alias.prefix_length && inside; ++i) inside = network.bit(i) == alias.bit(i);
    if (inside) return true;
  }
  return false;
}

SearchTree::SearchTree(bool alias_ipv4) {
  new_node({}, true);  // the root
  const auto [parent, side] = pin_path(ipv6_network({}, 96));
  ipv4_node_ = new_node({}, true);
  nodes_[parent].child[side] = {Kind::node, ipv4_node_};
  if (!alias_ipv4) return;
  for (const IpNetwork& alias : kIpv4AliasNetworks) {
    const auto [node, alias_side] = pin_path(alias);
    nodes_[node].child[alias_side] = {Kind::ipv4_alias, 0};
  }
}

uint32_t SearchTree::new_node(TreeRecord fill, bool pinned) {
  nodes_.push_back({{fill, fill}, pinned});
  return static_cast<uint32_t>(nodes_.size() - 1);
}

std::pair<uint32_t, unsigned> SearchTree::pin_path(const IpNetwork& network) {
  uint32_t node = 0;
  for (unsigned depth = 0; depth + 1 < network.prefix_length; ++depth) {
    const unsigned side = network.bit(depth);
    const TreeRecord next = nodes_[node].child[side];
    if (next.kind == Kind::node) {
      nodes_[next.index].pinned = true;
      node = next.index;
    } else {
      const uint32_t created = new_node(next, true);
      nodes_[node].child[side] = {Kind::node, created};
      node = created;
    }
  }
  return {node, network.bit(network.prefix_length - 1)};
}

SearchTree::InsertStatus SearchTree::insert(const IpNetwork& network, uint32_t value_id) {
  const TreeRecord value{Kind::value, value_id};
  if (network.prefix_length == 0) {
    overwrite(0, 0, value);
    overwrite(0, 1, value);
    return InsertStatus::ok;
  }
  uint32_t node = 0;
  for (unsigned depth = 0;; ++depth) {
    const unsigned side = network.bit(depth);
    const TreeRecord next = nodes_[node].child[side];
    if (next.kind == Kind::ipv4_alias) return InsertStatus::inside_ipv4_alias;
    if (depth + 1 == network.prefix_length) {
      overwrite(node, side, value);
      return InsertStatus::ok;
    }
    if (next.kind == Kind::node) {
      node = next.index;
    } else {  // a leaf covering more than the network: split it, both halves keep its value
      const uint32_t created = new_node(next, false);
      nodes_[node].child[side] = {Kind::node, created};
      node = created;
    }
  }
}

void SearchTree::overwrite(uint32_t node, unsigned side, TreeRecord value) {
  const TreeRecord current = nodes_[node].child[side];
  if (current.kind == Kind::ipv4_alias) return;
  if (current.kind == Kind::node && nodes_[current.index].pinned) {
    overwrite(current.index, 0, value);
    overwrite(current.index, 1, value);
    return;
  }
  // An unpinned subtree is simply dropped (its nodes stay unused in nodes_).
  nodes_[node].child[side] = value;
}

std::vector<TreeNode> SearchTree::layout() const {
  std::vector<TreeNode> out;
  uint32_t ipv4_out = 0;
  lay_out(0, out, ipv4_out);
  for (TreeNode& node : out) {
    for (TreeRecord* r : {&node.left, &node.right}) {
      if (r->kind == Kind::ipv4_alias) *r = {Kind::node, ipv4_out};
    }
  }
  return out;
}

TreeRecord SearchTree::lay_out(uint32_t build_node, std::vector<TreeNode>& out,
                               uint32_t& ipv4_out) const {
  // Number this node before its children (pre-order), then take the number
  // back if it merges away; merging children allocated nothing, so it is last.
  const uint32_t number = static_cast<uint32_t>(out.size());
  out.emplace_back();
  TreeRecord children[2];
  for (unsigned side = 0; side < 2; ++side) {
    const TreeRecord r = nodes_[build_node].child[side];
    children[side] = r.kind == Kind::node ? lay_out(r.index, out, ipv4_out) : r;
  }
  const BuildNode& source = nodes_[build_node];
  if (!source.pinned && is_leaf(children[0]) && children[0] == children[1]) {
    out.pop_back();
    return children[0];
  }
  out[number] = {children[0], children[1]};
  if (build_node == ipv4_node_) ipv4_out = number;
  return {Kind::node, number};
}

}  // namespace meridian::geo
