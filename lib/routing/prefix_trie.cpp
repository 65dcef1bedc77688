#include "routing/prefix_trie.hpp"

namespace meridian::routing {

PrefixTrie::PrefixTrie(uint32_t initial) : roots_{initial | kLeaf, initial | kLeaf} {}

void PrefixTrie::assign(int family, const uint8_t* addr, unsigned prefix_len, uint32_t value) {
  if (prefix_len > bits(family)) prefix_len = bits(family);
  // Slots are addressed by (node, side), never by pointer: push_back may move nodes_.
  constexpr uint32_t kRoot = 0xFFFFFFFFu;
  uint32_t node = kRoot;
  int side = 0;
  auto slot = [&]() -> uint32_t& { return node == kRoot ? roots_[family != 4] : nodes_[node].child[side]; };
  for (unsigned depth = 0; depth < prefix_len; ++depth) {
    if (slot() & kLeaf) {
      // Split the leaf: both halves keep its value until overridden below.
      const uint32_t leaf = slot();
      nodes_.push_back(Node{{leaf, leaf}});
      slot() = static_cast<uint32_t>(nodes_.size() - 1);
    } else if (shared_) {
      // The node may be reached by other prefixes too: change a copy.
      const Node copy = nodes_[slot()];
      nodes_.push_back(copy);
      slot() = static_cast<uint32_t>(nodes_.size() - 1);
    }
    node = slot();
    side = bit(addr, depth);
  }
  slot() = value | kLeaf;  // any subtree below is dropped (left unreferenced)
}

PrefixTrie::Result PrefixTrie::lookup(int family, const uint8_t* addr, unsigned prefix_len) const {
  uint32_t slot = roots_[family != 4];
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

namespace {
constexpr uint32_t kNotDone = 0xFFFFFFFFu;  // no slot: values stay far below 2^31 - 1
}

uint32_t PrefixTrie::build_remapped(uint32_t slot, const std::vector<uint32_t>& mapping, std::vector<uint32_t>& done,
                                    PrefixTrie& out) const {
  if (slot & kLeaf) {
    const uint32_t v = slot & ~kLeaf;
    return (v < mapping.size() ? mapping[v] : v) | kLeaf;
  }
  // A shared node (within a family or between them) is rebuilt once and stays shared.
  if (done[slot] != kNotDone) return done[slot];
  const uint32_t left = build_remapped(nodes_[slot].child[0], mapping, done, out);
  const uint32_t right = build_remapped(nodes_[slot].child[1], mapping, done, out);
  return done[slot] = out.join(left, right);  // equal leaves merge: shorter scope
}

PrefixTrie PrefixTrie::remap(const std::vector<uint32_t>& mapping) const {
  PrefixTrie out(0);
  out.shared_ = shared_;
  std::vector<uint32_t> done(nodes_.size(), kNotDone);
  out.nodes_.reserve(nodes_.size());  // an upper bound; the pages past the end are never touched
  // IPv4 first: where the IPv6 root leads to IPv4 nodes, it finds them done.
  for (int family : {4, 6}) out.roots_[family != 4] = build_remapped(roots_[family != 4], mapping, done, out);
  return out;
}

void PrefixTrie::compact() { *this = remap({}); }

}  // namespace meridian::routing
