#include "geo/mmdb_metadata.hpp"

#include "geo/mmdb_data_section.hpp"
#include "geo/mmdb_value.hpp"

namespace meridian::geo {

std::string encode_metadata(const MmdbMetadata& metadata) {
  std::vector<DataValue> languages;
  for (const std::string& language : metadata.languages) languages.push_back(DataValue::string(language));
  std::vector<std::pair<std::string, DataValue>> description;
  for (const auto& [language, text] : metadata.description) {
    description.emplace_back(language, DataValue::string(text));
  }
  const DataValue map = DataValue::map({
      {"binary_format_major_version", DataValue::uint16(2)},
      {"binary_format_minor_version", DataValue::uint16(0)},
      {"build_epoch", DataValue::uint64(metadata.build_epoch)},
      {"database_type", DataValue::string(metadata.database_type)},
      {"description", DataValue::map(std::move(description))},
      {"ip_version", DataValue::uint16(metadata.ip_version)},
      {"languages", DataValue::array(std::move(languages))},
      {"node_count", DataValue::uint32(metadata.node_count)},
      {"record_size", DataValue::uint16(metadata.record_size)},
  });
  return std::string(kMetadataStartMarker) + encode_value(map);
}

}  // namespace meridian::geo
