#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "zone/master_import.hpp"

namespace meridian::cli {

int zone_import(const std::string& file, const std::string& origin, const std::string& output) {
  config::Diagnostics diagnostics;
  const auto zone = zone::import_master_file(file, origin, diagnostics);
  if (!diagnostics.empty()) {
    diagnostics.print(std::cerr);
    return 1;
  }
  diagnostics.print(std::cerr);  // warnings only: the zone is written
  const std::string text = zone.dump(2) + "\n";
  if (output.empty()) {
    std::cout << text;
    return 0;
  }
  std::ofstream out(output);
  if (!(out << text)) {
    std::cerr << output << ": cannot write\n";
    return 1;
  }
  return 0;
}

}  // namespace meridian::cli
