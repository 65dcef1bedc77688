#include "routing/geo_trie_builder.hpp"

#include <algorithm>
#include <unordered_map>

namespace meridian::routing {

namespace {

// Data-section offset -> the row of every lane's leaf slot for that record.
// Open addressing: the walk asks once per database network (millions), so a
// node-based map would dominate it.
class RecordRows {
 public:
  explicit RecordRows(std::size_t width) : width_(width), table_(1u << 12) {}

  // The row of `offset`, or nullptr when the record was not seen yet.
  const uint32_t* find(uint32_t offset) const {
    for (std::size_t i = home(offset);; i = (i + 1) & (table_.size() - 1)) {
      if (table_[i].row == kFree) return nullptr;
      if (table_[i].offset == offset) return &slots_[table_[i].row * width_];
    }
  }
  // A new row for `offset` (not present), to be filled by the caller.
  uint32_t* add(uint32_t offset) {
    if ((rows_ + 1) * 2 > table_.size()) grow();
    place(offset, rows_);
    slots_.resize((rows_ + 1) * width_);
    return &slots_[rows_++ * width_];
  }
  std::size_t size() const { return rows_; }

 private:
  static constexpr uint32_t kFree = 0xFFFFFFFFu;
  struct Entry {
    uint32_t offset = 0;
    uint32_t row = kFree;
  };
  std::size_t home(uint32_t offset) const {
    // Fibonacci hashing: offsets are spread but not random.
    return static_cast<std::size_t>((offset * 0x9E3779B97F4A7C15ull) >> 32) & (table_.size() - 1);
  }
  void place(uint32_t offset, uint32_t row) {
    std::size_t i = home(offset);
    while (table_[i].row != kFree) i = (i + 1) & (table_.size() - 1);
    table_[i] = Entry{offset, row};
  }
  void grow() {
    std::vector<Entry> old(table_.size() * 2);
    old.swap(table_);
    for (const Entry& e : old)
      if (e.row != kFree) place(e.offset, e.row);
  }

  std::size_t width_;
  std::vector<Entry> table_;
  std::vector<uint32_t> slots_;
  uint32_t rows_ = 0;
};

// A plan that reads the city database, with the trie it is building.
struct Lane {
  const ClassPlan* plan;
  PrefixTrie* trie;
};

// One walk of one family's search tree, writing every lane's trie at once.
class TreeWalk {
 public:
  TreeWalk(const geo::GeoipDatabase& db, std::vector<Lane>& lanes, RecordRows& rows)
      : db_(db), lanes_(lanes), rows_(rows), width_(lanes.size()) {}

  // Sets the family's root of every lane's trie from the database's. For IPv6,
  // the IPv4 roots must be set already: IPv6 leads there where the database does.
  void build(int family) {
    family_ = family;
    bits_ = PrefixTrie::bits(family);
    if (family == 6) {
      const geo::SearchRecord v4 = db_.family_root(4);
      alias_node_ = v4.kind == geo::SearchRecord::node && db_.has_ipv6() ? static_cast<int64_t>(v4.value) : -1;
    }
    no_record_.resize(width_);
    for (std::size_t s = 0; s < width_; ++s) no_record_[s] = PrefixTrie::leaf_slot(lanes_[s].plan->no_record);
    scratch_.assign((bits_ + 1) * 2 * width_, 0);
    std::vector<uint32_t> root(width_);
    slots_of(db_.family_root(family), 0, root.data());
    for (std::size_t s = 0; s < width_; ++s) lanes_[s].trie->set_root(family, root[s]);
  }

 private:
  // Writes each lane's slot for the prefix `record` covers (at `depth`) to out.
  void slots_of(const geo::SearchRecord& record, unsigned depth, uint32_t* out) {
    switch (record.kind) {
      case geo::SearchRecord::data: {
        const uint32_t* row = rows_.find(record.value);
        if (!row) row = classify(record.value);
        std::copy(row, row + width_, out);
        return;
      }
      case geo::SearchRecord::node:
        if (depth < bits_) {
          if (family_ == 6 && static_cast<int64_t>(record.value) == alias_node_) return alias(out);
          geo::SearchNode n;
          if (db_.read_node(record.value, n)) {
            uint32_t* left = &scratch_[depth * 2 * width_];
            uint32_t* right = left + width_;
            slots_of(n.child[0], depth + 1, left);
            slots_of(n.child[1], depth + 1, right);
            for (std::size_t s = 0; s < width_; ++s) out[s] = lanes_[s].trie->join(left[s], right[s]);
            return;
          }
        }
        break;  // past the family's bits or unreadable: no data, as lookups see it
      case geo::SearchRecord::empty: break;
    }
    std::copy(no_record_.begin(), no_record_.end(), out);
  }

  const uint32_t* classify(uint32_t offset) {
    const geo::GeoRecord record = db_.record_at(offset);
    uint32_t* row = rows_.add(offset);
    for (std::size_t s = 0; s < width_; ++s) row[s] = PrefixTrie::leaf_slot(lanes_[s].plan->of_record(record));
    return row;
  }

  // The IPv4 subtree (reached at ::/96 and through MaxMind's aliases): the IPv4
  // root's nodes of the same trie, shared rather than copied.
  void alias(uint32_t* out) {
    for (std::size_t s = 0; s < width_; ++s) {
      out[s] = lanes_[s].trie->root(4);
      if (!PrefixTrie::is_leaf_slot(out[s])) lanes_[s].trie->mark_shared();
    }
  }

  const geo::GeoipDatabase& db_;
  std::vector<Lane>& lanes_;
  RecordRows& rows_;
  std::size_t width_;
  int family_ = 4;
  unsigned bits_ = 32;
  int64_t alias_node_ = -1;
  std::vector<uint32_t> no_record_;
  std::vector<uint32_t> scratch_;  // per depth: the left and right halves' slots of every lane
};

// The overlays of one family: ASN networks, then net: keys shorter first.
// changed[p]: set when plan p's trie was written.
void apply_overlays(const std::vector<const ClassPlan*>& plans, const GeoSources& geo, int family,
                    std::vector<PrefixTrie>& tries, std::vector<bool>& changed) {
  // asn: keys, per plan: number -> class (a later key of the same number wins, as before).
  std::vector<std::unordered_map<uint32_t, uint32_t>> by_asn(plans.size());
  bool any_asn = false;
  for (std::size_t p = 0; p < plans.size(); ++p) {
    if (!plans[p]->keys) continue;
    const auto& keys = *plans[p]->keys;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      if (keys[i].kind != ClientKey::by_asn) continue;
      by_asn[p][keys[i].asn_number] = plans[p]->key_class[i];
      any_asn = true;
    }
  }
  if (geo.asn && any_asn) {
    geo.asn->walk(family, [&](const uint8_t* addr, unsigned len, const geo::GeoRecord& r) {
      for (std::size_t p = 0; p < plans.size(); ++p) {
        const auto it = by_asn[p].find(r.asn);
        if (it == by_asn[p].end()) continue;
        tries[p].assign(family, addr, len, it->second);
        changed[p] = true;
      }
    });
  }
  for (std::size_t p = 0; p < plans.size(); ++p) {
    if (!plans[p]->keys) continue;
    const auto& keys = *plans[p]->keys;
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < keys.size(); ++i)
      if (keys[i].kind == ClientKey::by_net && keys[i].family == family) order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return keys[a].prefix_len < keys[b].prefix_len; });
    for (std::size_t i : order) tries[p].assign(family, keys[i].address, keys[i].prefix_len, plans[p]->key_class[i]);
    if (!order.empty()) changed[p] = true;
  }
}

}  // namespace

std::vector<PrefixTrie> build_class_tries(const std::vector<const ClassPlan*>& plans, const GeoSources& geo) {
  std::vector<PrefixTrie> out;
  for (const ClassPlan* plan : plans) out.emplace_back(plan->no_record);
  std::vector<Lane> lanes;
  if (geo.city) {
    for (std::size_t p = 0; p < plans.size(); ++p)
      if (plans[p]->of_record) lanes.push_back(Lane{plans[p], &out[p]});
  }
  if (!lanes.empty()) {
    RecordRows rows(lanes.size());
    TreeWalk walk(*geo.city, lanes, rows);
    walk.build(4);
    // The IPv6 walk does not go below ::/96 again (it leads to the IPv4 nodes).
    geo.city->release_pages();
    // Before the IPv4 overlays: the IPv6 root's IPv4 forms hold the database's IPv4 answers.
    walk.build(6);
    geo.city->release_pages();  // the tries hold what routing needs; explain faults in what it reads
  }
  std::vector<bool> changed(plans.size(), false);
  for (int family : {4, 6}) apply_overlays(plans, geo, family, out, changed);
  // Merge what the overlays made equal and drop the nodes they replaced.
  for (std::size_t p = 0; p < plans.size(); ++p)
    if (changed[p]) out[p].compact();
  if (geo.asn) geo.asn->release_pages();
  return out;
}

}  // namespace meridian::routing
