#include "routing/prefix_trie.hpp"

namespace meridian::routing {

PrefixTrie::PrefixTrie(unsigned bits, uint32_t initial) : bits_(bits), root_(initial | kLeaf) {}

void PrefixTrie::assign(const uint8_t* addr, unsigned prefix_len, uint32_t value) {
  if (prefix_len > bits_) prefix_len = bits_;
  // Slots are addressed by (node, side), never by pointer: push_back may move nodes_.
  constexpr uint32_t kRoot = 0xFFFFFFFFu;
  uint32_t node = kRoot;
  int side = 0;
  auto slot = [&]() -> uint32_t& { return node == kRoot ? root_ : nodes_[node].child[side]; };
  for (unsigned depth = 0; depth < prefix_len; ++depth) {
    if (slot() & kLeaf) {
      // Split the leaf: both halves keep its value until overridden below.
      const uint32_t leaf = slot();
      nodes_.push_back(Node{{leaf, leaf}});
      slot() = static_cast<uint32_t>(nodes_.size() - 1);
    }
    node = slot();
    side = bit(addr, depth);
  }
  slot() = value | kLeaf;  // any subtree below is dropped (left unreferenced)
}

PrefixTrie::Result PrefixTrie::lookup(const uint8_t* addr) const {
  uint32_t slot = root_;
  unsigned depth = 0;
  while (!(slot & kLeaf)) {
    slot = nodes_[slot].child[bit(addr, depth)];
    ++depth;
  }
  return {slot & ~kLeaf, static_cast<uint8_t>(depth)};
}

PrefixTrie::Result PrefixTrie::lookup(const uint8_t* addr, unsigned prefix_len) const {
  uint32_t slot = root_;
  unsigned depth = 0;
  while (!(slot & kLeaf) && depth < prefix_len) {
    slot = nodes_[slot].child[bit(addr, depth)];
    ++depth;
  }
  if (!(slot & kLeaf)) {
    // The prefix stops inside a subtree: report the leftmost leaf value.
    while (!(slot & kLeaf)) {
      slot = nodes_[slot].child[0];
      ++depth;
    }
  }
  return {slot & ~kLeaf, static_cast<uint8_t>(depth)};
}

uint32_t PrefixTrie::build_remapped(uint32_t slot, const std::vector<uint32_t>& mapping, PrefixTrie& out) const {
  if (slot & kLeaf) {
    const uint32_t v = slot & ~kLeaf;
    return (v < mapping.size() ? mapping[v] : v) | kLeaf;
  }
  const uint32_t left = build_remapped(nodes_[slot].child[0], mapping, out);
  const uint32_t right = build_remapped(nodes_[slot].child[1], mapping, out);
  if (left == right && (left & kLeaf)) return left;  // equal leaves merge: shorter scope
  out.nodes_.push_back(Node{{left, right}});
  return static_cast<uint32_t>(out.nodes_.size() - 1);
}

PrefixTrie PrefixTrie::remap(const std::vector<uint32_t>& mapping) const {
  PrefixTrie out(bits_, 0);
  out.nodes_.reserve(nodes_.size());
  out.root_ = build_remapped(root_, mapping, out);
  return out;
}

void PrefixTrie::compact() {
  PrefixTrie out(bits_, 0);
  out.nodes_.reserve(nodes_.size());
  out.root_ = build_remapped(root_, {}, out);
  *this = std::move(out);
}

}  // namespace meridian::routing
