// Binary tries over address bits mapping every IPv4 and every IPv6 address to a
// small integer (a client class or a routing decision). Lookups return the value
// and the depth of the leaf that decided it: that depth is the ECS scope prefix,
// and merging sibling leaves with equal values keeps it as short as correctness
// allows.
//
// Both families live in one node array, each from its own root, so the IPv6 trie
// can lead to the IPv4 trie's nodes where the database puts IPv4 inside IPv6
// (MaxMind's ::/96 and its aliases) without holding a copy of them. The result
// is a DAG: assign copies the path it changes instead of writing through shared
// nodes, and compact/remap keep the sharing.
#pragma once
#include <cstdint>
#include <vector>

namespace meridian::routing {

class PrefixTrie {
 public:
  struct Result {
    uint32_t value;
    uint8_t depth;  // prefix length that decided the value
  };

  // Every address of both families starts mapped to initial.
  explicit PrefixTrie(uint32_t initial = 0);

  // family: 4 (32 bits, 4 address bytes) or 6 (128 bits, 16 bytes).
  static unsigned bits(int family) { return family == 4 ? 32 : 128; }
  // Maps addr/prefix_len (big-endian address bytes) to value, replacing whatever
  // more specific mappings existed below it. On a trie with shared subtrees it
  // copies the nodes on its path (compact() drops the replaced ones).
  void assign(int family, const uint8_t* addr, unsigned prefix_len, uint32_t value);
  // Inline: the query path's only trie call (one per geo answer).
  Result lookup(int family, const uint8_t* addr) const {
    uint32_t slot = roots_[family != 4];
    unsigned depth = 0;
    while (!(slot & kLeaf)) {
      slot = nodes_[slot].child[bit(addr, depth)];
      ++depth;
    }
    return {slot & ~kLeaf, static_cast<uint8_t>(depth)};
  }
  // Walks addr's first prefix_len bits only; for explain output.
  Result lookup(int family, const uint8_t* addr, unsigned prefix_len) const;

  // A new trie with every value v replaced by mapping[v] and equal siblings merged.
  PrefixTrie remap(const std::vector<uint32_t>& mapping) const;
  // Merges equal siblings in place.
  void compact();

  // Bottom-up construction (routing/geo_trie_builder.cpp). A slot is a leaf
  // value or a node of this trie; nodes are only ever added.
  static uint32_t leaf_slot(uint32_t value) { return value | kLeaf; }
  static bool is_leaf_slot(uint32_t slot) { return slot & kLeaf; }
  // The slot covering a left and a right half: the leaf itself when both halves
  // are the same leaf (the shorter scope), else a new node.
  uint32_t join(uint32_t left, uint32_t right) {
    if (left == right && (left & kLeaf)) return left;
    nodes_.push_back(Node{{left, right}});
    return static_cast<uint32_t>(nodes_.size() - 1);
  }
  // Using a node slot in more than one place (another root's node included)
  // needs mark_shared().
  void set_root(int family, uint32_t slot) { roots_[family != 4] = slot; }
  uint32_t root(int family) const { return roots_[family != 4]; }
  // Some subtree is referenced from more than one slot.
  void mark_shared() { shared_ = true; }
  bool shared() const { return shared_; }

  // Nodes of both families (a shared node counts once).
  std::size_t node_count() const { return nodes_.size(); }
  static constexpr std::size_t kNodeBytes = 8;
  // Calls f(addr bytes, prefix_len, value) for every leaf of the family, in address order.
  template <typename F> void for_each_leaf(int family, F&& f) const {
    uint8_t addr[16] = {};
    walk(roots_[family != 4], 0, addr, f);
  }

 private:
  // A child slot either points at another node or holds a leaf value.
  static constexpr uint32_t kLeaf = 0x80000000u;
  struct Node {
    uint32_t child[2];
  };
  static_assert(sizeof(Node) == kNodeBytes);

  static bool bit(const uint8_t* addr, unsigned i) { return (addr[i >> 3] >> (7 - (i & 7))) & 1; }
  uint32_t build_remapped(uint32_t slot, const std::vector<uint32_t>& mapping, std::vector<uint32_t>& done,
                          PrefixTrie& out) const;

  template <typename F> void walk(uint32_t slot_value, unsigned depth, uint8_t* addr, F& f) const;

  uint32_t roots_[2];  // IPv4, IPv6: slot values (leaf or node index)
  std::vector<Node> nodes_;
  bool shared_ = false;
};

template <typename F> void PrefixTrie::walk(uint32_t slot, unsigned depth, uint8_t* addr, F& f) const {
  if (slot & kLeaf) {
    f(static_cast<const uint8_t*>(addr), depth, slot & ~kLeaf);
    return;
  }
  for (int b = 0; b < 2; ++b) {
    if (b) addr[depth >> 3] |= static_cast<uint8_t>(0x80 >> (depth & 7));
    walk(nodes_[slot].child[b], depth + 1, addr, f);
    if (b) addr[depth >> 3] &= static_cast<uint8_t>(~(0x80 >> (depth & 7)));
  }
}

}  // namespace meridian::routing
