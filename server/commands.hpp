// The meridian subcommands; main.cpp only parses the command line and calls these.
#pragma once
#include <cstdint>
#include <string>

namespace meridian::cli {

int serve(const std::string& config_path);
int check(const std::string& config_path);
int zone_import(const std::string& file, const std::string& origin, const std::string& output);

}  // namespace meridian::cli
