// Notices edits to files: a fingerprint is each file's path and stamp (util/file_stamp.hpp)
// (folders expand to their *.json files). Comparing two tells whether to reload.
#pragma once
#include <string>
#include <vector>

namespace meridian::runtime {

std::string fingerprint(const std::vector<std::string>& paths);

}  // namespace meridian::runtime
