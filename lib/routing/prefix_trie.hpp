// A binary trie over address bits mapping every address of one family to a small
// integer (a client class or a routing decision). Lookups return the value and
// the depth of the leaf that decided it: that depth is the ECS scope prefix, and
// merging sibling leaves with equal values keeps it as short as correctness allows.
//
// Builders may make it a DAG (one subtree under several prefixes, as MaxMind's
// IPv4 aliases are): assign then copies the path it changes instead of writing
// through shared nodes, and compact/remap keep the sharing.
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

  // bits: 32 for IPv4, 128 for IPv6; every address starts mapped to initial.
  PrefixTrie(unsigned bits, uint32_t initial);

  unsigned bits() const { return bits_; }
  // Maps addr/prefix_len (big-endian address bytes) to value, replacing whatever
  // more specific mappings existed below it. On a trie with shared subtrees it
  // copies the nodes on its path (compact() drops the replaced ones).
  void assign(const uint8_t* addr, unsigned prefix_len, uint32_t value);
  Result lookup(const uint8_t* addr) const;
  // Walks addr's first prefix_len bits only; for explain output.
  Result lookup(const uint8_t* addr, unsigned prefix_len) const;

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
  // Adds `other`'s nodes (all reachable, as a builder leaves them) and returns
  // the slot of its root here. Using that slot more than once needs mark_shared().
  uint32_t import(const PrefixTrie& other);
  void set_root(uint32_t slot) { root_ = slot; }
  uint32_t root() const { return root_; }
  // Some subtree is referenced from more than one slot.
  void mark_shared() { shared_ = true; }
  bool shared() const { return shared_; }

  std::size_t node_count() const { return nodes_.size(); }
  // Calls f(addr bytes, prefix_len, value) for every leaf, in address order.
  template <typename F> void for_each_leaf(F&& f) const {
    uint8_t addr[16] = {};
    walk(0, 0, addr, f);
  }

 private:
  // A child slot either points at another node or holds a leaf value.
  static constexpr uint32_t kLeaf = 0x80000000u;
  struct Node {
    uint32_t child[2];
  };

  static bool bit(const uint8_t* addr, unsigned i) { return (addr[i >> 3] >> (7 - (i & 7))) & 1; }
  uint32_t build_remapped(uint32_t slot, const std::vector<uint32_t>& mapping, std::vector<uint32_t>& done,
                          PrefixTrie& out) const;

  template <typename F> void walk(uint32_t slot_value, unsigned depth, uint8_t* addr, F& f) const;

  unsigned bits_;
  uint32_t root_;  // a slot value: leaf or node index
  std::vector<Node> nodes_;
  bool shared_ = false;
};

template <typename F> void PrefixTrie::walk(uint32_t slot, unsigned depth, uint8_t* addr, F& f) const {
  if (depth == 0) slot = root_;
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
