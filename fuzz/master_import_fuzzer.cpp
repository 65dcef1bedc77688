// `meridian zone import`: an RFC 1035 master file (libzscanner, ldns for the types it
// does not know) converted to the JSON zone format. The JSON written must parse.
// Inputs with $INCLUDE are skipped: they would read files of the machine.
#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/diagnostics.hpp"
#include "zone/master_import.hpp"

namespace {

bool mentions_include(std::string_view text) {
  static constexpr std::string_view kInclude = "$include";
  return std::search(text.begin(), text.end(), kInclude.begin(), kInclude.end(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         }) != text.end();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (mentions_include(text)) return 0;
  meridian::config::Diagnostics diagnostics;
  const auto zone = meridian::zone::read_master_text(text, "fuzz.zone", "example.com.", diagnostics);
  std::ostringstream json;
  zone.write_json(json);
  if (!nlohmann::json::accept(json.str())) {
    std::fprintf(stderr, "master_import_fuzzer: the JSON written does not parse:\n%s\n", json.str().c_str());
    std::abort();
  }
  return 0;
}
