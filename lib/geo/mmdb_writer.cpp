#include "geo/mmdb_writer.hpp"

#include <stdexcept>

#include "geo/mmdb_data_section.hpp"
#include "geo/mmdb_metadata.hpp"

namespace meridian::geo {
namespace {

// Zero bytes between the search tree and the data section.
constexpr std::size_t kDataSectionSeparator = 16;

void append_big_endian(std::string& out, uint32_t number, unsigned byte_count) {
  for (unsigned i = byte_count; i-- > 0;) out += static_cast<char>((number >> (8 * i)) & 0xff);
}

// One node = two records. With 28 bits, the middle byte holds the top four
// bits of the left record (high nibble) and of the right record (low nibble).
void append_node(std::string& out, uint32_t left, uint32_t right, unsigned record_size) {
  if (record_size == 28) {
    append_big_endian(out, left & 0xffffff, 3);
    out += static_cast<char>(((left >> 24) << 4) | (right >> 24));
    append_big_endian(out, right & 0xffffff, 3);
  } else {
    append_big_endian(out, left, record_size / 8);
    append_big_endian(out, right, record_size / 8);
  }
}

}  // namespace

MmdbWriter::MmdbWriter(MmdbOptions options) : options_(std::move(options)), tree_(options_.alias_ipv4) {}

MmdbWriter::InsertStatus MmdbWriter::insert(const IpNetwork& network, const DataValue& value) {
  const auto [it, added] = value_ids_.emplace(encode_value(value), static_cast<uint32_t>(values_.size()));
  if (added) values_.push_back(value);
  return tree_.insert(network, it->second);
}

std::optional<std::string> MmdbWriter::serialize(std::string* error) const {
  auto fail = [&](std::string message) -> std::optional<std::string> {
    if (error) *error = std::move(message);
    return std::nullopt;
  };
  const unsigned record_size = options_.record_size;
  if (record_size != 24 && record_size != 28 && record_size != 32) {
    return fail("record size must be 24, 28 or 32, not " + std::to_string(record_size));
  }
  if (options_.build_epoch == 0) return fail("the build epoch must be set (libmaxminddb rejects 0)");
  const std::vector<TreeNode> nodes = tree_.layout();

  // Data in the order the tree first refers to it, so the bytes follow the tree.
  DataSectionWriter data;
  std::vector<uint32_t> data_offsets(values_.size());
  std::vector<bool> written(values_.size(), false);
  try {
    for (const TreeNode& node : nodes) {
      for (const TreeRecord& r : {node.left, node.right}) {
        if (r.kind != TreeRecord::Kind::value || written[r.index]) continue;
        data_offsets[r.index] = data.add(values_[r.index]);
        written[r.index] = true;
      }
    }
  } catch (const std::length_error& e) {
    return fail(e.what());
  }

  // Record values: node number, node_count for "no data", or
  // node_count + 16 + offset for data. The largest must fit record_size bits.
  const uint64_t node_count = nodes.size();
  const uint64_t largest = node_count + kDataSectionSeparator + data.bytes().size();
  if (largest >= (uint64_t{1} << record_size)) {
    return fail("the database needs " + std::to_string(largest) + " record values, more than " +
                std::to_string(record_size) + "-bit records hold; use a larger record size");
  }
  auto record_value = [&](const TreeRecord& r) -> uint32_t {
    switch (r.kind) {
      case TreeRecord::Kind::node: return r.index;
      case TreeRecord::Kind::value:
        return static_cast<uint32_t>(node_count + kDataSectionSeparator + data_offsets[r.index]);
      default: return static_cast<uint32_t>(node_count);
    }
  };

  std::string file;
  file.reserve(nodes.size() * record_size / 4 + kDataSectionSeparator + data.bytes().size() + 512);
  for (const TreeNode& node : nodes) {
    append_node(file, record_value(node.left), record_value(node.right), record_size);
  }
  file.append(kDataSectionSeparator, '\0');
  file += data.bytes();

  MmdbMetadata metadata;
  metadata.node_count = static_cast<uint32_t>(node_count);
  metadata.record_size = static_cast<uint16_t>(record_size);
  metadata.ip_version = 6;
  metadata.database_type = options_.database_type;
  metadata.languages = options_.languages;
  metadata.description = options_.description;
  metadata.build_epoch = options_.build_epoch;
  file += encode_metadata(metadata);
  return file;
}

}  // namespace meridian::geo
