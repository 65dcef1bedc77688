// A value of the MaxMind DB data format (the types a GeoIP2-style record
// needs). Maps keep their keys sorted, so equal content means equal bytes.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace meridian::geo {

class DataValue {
 public:
  // Type numbers from the MaxMind DB spec; 8 and above are "extended" types.
  enum class Type : uint8_t {
    utf8_string = 2,
    float64 = 3,
    uint16 = 5,
    uint32 = 6,
    map = 7,
    uint64 = 9,
    array = 11,
    boolean = 14,
  };

  static DataValue string(std::string text);
  static DataValue float64(double number);
  static DataValue uint16(uint16_t number);
  static DataValue uint32(uint32_t number);
  static DataValue uint64(uint64_t number);
  static DataValue boolean(bool flag);
  static DataValue array(std::vector<DataValue> items);
  // Keys end up sorted; when a key repeats, the last entry wins.
  static DataValue map(std::vector<std::pair<std::string, DataValue>> entries);

  Type type() const { return type_; }
  const std::string& text() const { return text_; }    // utf8_string
  double number() const { return float_; }              // float64
  uint64_t unsigned_number() const { return uint_; }    // uint16/32/64, boolean
  const std::vector<DataValue>& items() const { return items_; }  // array items, map values
  const std::vector<std::string>& keys() const { return keys_; }  // map keys, parallel to items()

  // Map lookup; nullptr when absent or when this is not a map.
  const DataValue* find(const std::string& key) const;

 private:
  explicit DataValue(Type type) : type_(type) {}

  Type type_;
  uint64_t uint_ = 0;
  double float_ = 0;
  std::string text_;
  std::vector<std::string> keys_;
  std::vector<DataValue> items_;
};

}  // namespace meridian::geo
