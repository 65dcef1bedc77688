#include <iostream>

#include "commands.hpp"
#include "geo/geodata_build.hpp"

namespace meridian::cli {

int geodata_build(const std::string& csv, const std::string& output, uint64_t epoch) {
  if (epoch == 0) {
    std::string error;
    const auto fallback = geo::default_build_epoch(&error);
    if (!fallback) {
      std::cerr << "geodata build: " << error << "\n";
      return 2;
    }
    epoch = *fallback;
  }
  return geo::run_geodata_build(csv, output, epoch, std::cerr);
}

}  // namespace meridian::cli
