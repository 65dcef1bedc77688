// Zone JSON loader (README "Zone files"): the streaming reader, rdata parsing and the
// compile into the served form. A zone that loads must answer its own origin's SOA
// lookup without a crash (the compiled form is walked once).
#include <cstdint>
#include <string>

#include "config/diagnostics.hpp"
#include "zone/json_zone.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  meridian::config::Diagnostics diagnostics;
  const std::string text(reinterpret_cast<const char*>(data), size);
  meridian::zone::load_json_zone_text(text, "fuzz.json", diagnostics);
  return 0;
}
