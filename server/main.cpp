// meridian: authoritative GeoDNS and DNS-failover server with a forwarding tier.
// Exit codes: 0 success, 1 invalid configuration or a failure at run time,
// 2 usage error (the command line itself is wrong).
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "allocator.hpp"
#include "commands.hpp"

namespace {

int run(int argc, char** argv) {
  CLI::App app{"meridian: authoritative GeoDNS and DNS-failover server with a bundled L4/L7 forwarding tier"};
  app.set_version_flag("--version", std::string("meridian ") + MERIDIAN_VERSION + " (allocator: " +
                                         meridian::cli::allocator_in_use() + ")");
  app.require_subcommand(1);

  std::string config_path = "meridian.json";
  auto* serve = app.add_subcommand("serve", "Serve DNS (and checks, proxies, admin) as meridian.json says");
  // A missing file is an invalid configuration (exit 1), reported by the loader.
  serve->add_option("-c,--config", config_path, "Server configuration file");
  std::string serve_log_level;
  serve->add_option("--log-level", serve_log_level, "debug, info, warn or error (instead of meridian.json's log.level)")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

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

  std::string explain_name, explain_type = "A", explain_client, explain_ecs;
  bool explain_json = false;
  auto* explain = app.add_subcommand("explain", "Show how a dynamic name is answered for one client");
  explain->add_option("-c,--config", config_path, "Server configuration file");
  explain->add_option("name", explain_name, "Name, e.g. www.example.com")->required();
  explain->add_option("type", explain_type, "A or AAAA")->check(CLI::IsMember({"A", "AAAA"}));
  explain->add_option("--client", explain_client, "The client (resolver) address")->required();
  explain->add_option("--ecs", explain_ecs, "EDNS Client Subnet the client sends, e.g. 198.51.100.0/24");
  explain->add_flag("--json", explain_json, "Print the explanation as JSON");

  auto* geodata = app.add_subcommand("geodata", "GeoIP data tools");
  geodata->require_subcommand(1);
  std::string geo_csv, geo_out;
  uint64_t geo_epoch = 0;
  auto* build = geodata->add_subcommand("build", "Build a MaxMind DB (.mmdb) from a CSV network map (geodata/README.md)");
  build->add_option("csv", geo_csv, "CSV file")->required();
  build->add_option("-o,--output", geo_out, "The .mmdb file to write")->required();
  build->add_option("--epoch", geo_epoch, "Build time written into the metadata (default: SOURCE_DATE_EPOCH or a fixed value)");

  auto* dnssec = app.add_subcommand("dnssec", "DNSSEC key tools (BIND-format K<zone>+<alg>+<tag>.key/.private files)");
  dnssec->require_subcommand(1);
  std::string dnssec_zone, dnssec_algorithm = "ECDSAP256SHA256", dnssec_role = "csk", dnssec_folder = ".";
  auto* keygen = dnssec->add_subcommand("keygen", "Make a key pair for ZONE; print the files' path without extension");
  auto* ds = dnssec->add_subcommand("ds", "Print the DS records (SHA-256) of ZONE's KSKs or CSKs, for the parent");
  for (auto* command : {keygen, ds}) {
    command->add_option("zone", dnssec_zone, "Zone, e.g. example.com.")->required();
    command->add_option("-a,--algorithm", dnssec_algorithm, "ECDSAP256SHA256 (13, default) or ED25519 (15)");
    command->add_option("-d,--dir", dnssec_folder, "The key folder (default: the current one)");
  }
  keygen->add_option("--role", dnssec_role, "csk (default), ksk or zsk")->check(CLI::IsMember({"csk", "ksk", "zsk"}));

  meridian::cli::AdminClientOptions admin_client;
  auto* reload = app.add_subcommand("reload", "Reload a running server's files now, through its admin endpoint; "
                                              "print the result (exit 1 when rejected or a zone file does not load)");
  auto* status = app.add_subcommand("status", "Show a running server's zones, services and last reload, "
                                              "from its admin endpoint");
  for (auto* command : {reload, status}) {
    command->add_option("-c,--config", config_path, "Server configuration file (for \"admin\": listen and token)");
    command->add_option("--admin", admin_client.admin, "The admin endpoint ADDRESS:PORT, instead of the config's");
    command->add_option("--token", admin_client.token, "The admin bearer token, instead of the config's")
        ->each([&admin_client](const std::string&) { admin_client.token_given = true; });
    command->add_flag("--json", admin_client.json, "Print the server's JSON answer");
  }

  auto* cluster = app.add_subcommand("cluster", "Health shared through etcd (meridian.json's \"cluster\")");
  cluster->require_subcommand(1);
  auto* cluster_status = cluster->add_subcommand(
      "status", "List the cluster's live nodes, their configuration hash, the agreed view and where it disagrees with this node");
  bool cluster_json = false;
  cluster_status->add_option("-c,--config", config_path, "Server configuration file (for \"cluster\")");
  cluster_status->add_flag("--json", cluster_json, "Print JSON");
  auto* cluster_override = cluster->add_subcommand(
      "override", "Set a health key up or down on every node of the cluster, or back to auto (the agreed view)");
  std::string override_key, override_state, override_reason;
  cluster_override->add_option("-c,--config", config_path, "Server configuration file (for \"cluster\")");
  cluster_override->add_option("key", override_key, "service/region, service/region/ADDRESS or service/region/backend/HOST:PORT")
      ->required();
  cluster_override->add_option("state", override_state, "up, down or auto")
      ->required()
      ->check(CLI::IsMember({"up", "down", "auto"}));
  cluster_override->add_option("--reason", override_reason, "Why (shown in /status and `cluster status`)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version end parsing with exit code 0; anything else is a usage error.
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (explain->parsed())
    return meridian::cli::explain(config_path, explain_name, explain_type, explain_client, explain_ecs, explain_json);
  if (keygen->parsed()) return meridian::cli::dnssec_keygen(dnssec_zone, dnssec_algorithm, dnssec_role, dnssec_folder);
  if (ds->parsed()) return meridian::cli::dnssec_ds(dnssec_zone, dnssec_algorithm, dnssec_folder);
  if (build->parsed()) return meridian::cli::geodata_build(geo_csv, geo_out, geo_epoch);

  if (cluster_status->parsed()) return meridian::cli::cluster_status(config_path, cluster_json);
  if (cluster_override->parsed())
    return meridian::cli::cluster_override(config_path, override_key, override_state, override_reason);
  if (serve->parsed()) return meridian::cli::serve(config_path, serve_log_level);
  admin_client.config_path = config_path;
  if (reload->parsed()) return meridian::cli::reload(admin_client);
  if (status->parsed()) return meridian::cli::status(admin_client);
  if (check->parsed()) return meridian::cli::check(config_path);
  if (import->parsed()) return meridian::cli::zone_import(import_file, import_origin, import_output);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "meridian: " << e.what() << "\n";
    return 1;
  }
}
