#include <fstream>
#include <iostream>

#include "commands.hpp"
#include "zone/master_import.hpp"

namespace meridian::cli {

int zone_import(const std::string& file, const std::string& origin, const std::string& output) {
  config::Diagnostics diagnostics;
  const zone::ImportedZone zone = zone::read_master_file(file, origin, diagnostics);
  if (!diagnostics.empty()) {
    diagnostics.print(std::cerr);
    return 1;
  }
  diagnostics.print(std::cerr);  // warnings only: the zone is written
  if (output.empty()) {
    zone.write_json(std::cout);
    std::cout << '\n' << std::flush;
    return 0;
  }
  std::ofstream out(output);
  zone.write_json(out);
  if (!(out << '\n') || !out.flush()) {
    std::cerr << output << ": cannot write\n";
    return 1;
  }
  return 0;
}

}  // namespace meridian::cli
