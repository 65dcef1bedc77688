#include "geo/mmdb_value.hpp"

#include <algorithm>

namespace meridian::geo {

DataValue DataValue::string(std::string text) {
  DataValue v(Type::utf8_string);
  v.text_ = std::move(text);
  return v;
}

DataValue DataValue::float64(double number) {
  DataValue v(Type::float64);
  v.float_ = number;
  return v;
}

DataValue DataValue::uint16(uint16_t number) {
  DataValue v(Type::uint16);
  v.uint_ = number;
  return v;
}

DataValue DataValue::uint32(uint32_t number) {
  DataValue v(Type::uint32);
  v.uint_ = number;
  return v;
}

DataValue DataValue::uint64(uint64_t number) {
  DataValue v(Type::uint64);
  v.uint_ = number;
  return v;
}

DataValue DataValue::boolean(bool flag) {
  DataValue v(Type::boolean);
  v.uint_ = flag ? 1 : 0;
  return v;
}

DataValue DataValue::array(std::vector<DataValue> items) {
  DataValue v(Type::array);
  v.items_ = std::move(items);
  return v;
}

DataValue DataValue::map(std::vector<std::pair<std::string, DataValue>> entries) {
  // Stable sort, then keep the last of equal keys: "last entry wins".
  std::stable_sort(entries.begin(), entries.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  DataValue v(Type::map);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (i + 1 < entries.size() && entries[i + 1].first == entries[i].first) continue;
    v.keys_.push_back(std::move(entries[i].first));
    v.items_.push_back(std::move(entries[i].second));
  }
  return v;
}

const DataValue* DataValue::find(const std::string& key) const {
  if (type_ != Type::map) return nullptr;
  const auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
  if (it == keys_.end() || *it != key) return nullptr;
  return &items_[static_cast<std::size_t>(it - keys_.begin())];
}

}  // namespace meridian::geo
