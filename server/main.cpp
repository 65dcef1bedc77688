// meridian: authoritative GeoDNS and DNS-failover server with a forwarding tier.
#include <CLI/CLI.hpp>

#include <iostream>

#include "commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"meridian: authoritative GeoDNS and DNS-failover server with a bundled L4/L7 forwarding tier"};
  app.set_version_flag("--version", std::string("meridian ") + MERIDIAN_VERSION);
  app.require_subcommand(1);

  std::string config_path = "meridian.json";
  auto* serve = app.add_subcommand("serve", "Serve DNS (and checks, proxies, admin) as meridian.json says");
  serve->add_option("-c,--config", config_path, "Server configuration file")->check(CLI::ExistingFile);

  auto* check = app.add_subcommand("check", "Load and validate the configuration and every file it names; "
                                            "print each problem as file:line:column: message");
  check->add_option("-c,--config", config_path, "Server configuration file");

  auto* zone = app.add_subcommand("zone", "Zone file tools");
  zone->require_subcommand(1);
  std::string import_file, import_origin, import_output;
  auto* import = zone->add_subcommand("import", "Convert an RFC 1035 master file to meridian's JSON zone format");
  import->add_option("file", import_file, "Master file")->required();
  import->add_option("--origin", import_origin, "Zone origin, e.g. example.com.")->required();
  import->add_option("-o,--output", import_output, "Write here instead of standard output");

  CLI11_PARSE(app, argc, argv);

  if (serve->parsed()) return meridian::cli::serve(config_path);
  if (check->parsed()) return meridian::cli::check(config_path);
  if (import->parsed()) return meridian::cli::zone_import(import_file, import_origin, import_output);
  return 2;
}
