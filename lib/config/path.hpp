// Paths in meridian.json are relative to the folder that holds it.
#pragma once
#include <filesystem>
#include <string>

namespace meridian::config {

inline std::string resolve_path(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

}  // namespace meridian::config
