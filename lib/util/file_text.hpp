// A whole file read into one string of its exact size (an ostringstream would
// grow by doubling and then copy: three times a large zone file at the peak).
#pragma once
#include <optional>
#include <string>

namespace meridian::util {

// nullopt when the file cannot be opened or read.
std::optional<std::string> read_file_text(const std::string& path);

}  // namespace meridian::util
