// The meridian subcommands; main.cpp only parses the command line and calls these.
#pragma once
#include <cstdint>
#include <string>

namespace meridian::cli {

// log_level: "" for meridian.json's log.level.
int serve(const std::string& config_path, const std::string& log_level);
int check(const std::string& config_path);
int zone_import(const std::string& file, const std::string& origin, const std::string& output);
int explain(const std::string& config_path, const std::string& name, const std::string& type,
            const std::string& client, const std::string& ecs, bool as_json);
// `dnssec keygen`: role "csk" (default), "ksk" or "zsk"; prints the files' path without extension.
int dnssec_keygen(const std::string& zone, const std::string& algorithm, const std::string& role,
                  const std::string& folder);
// `dnssec ds`: the DS records of the zone's KSKs/CSKs in folder.
int dnssec_ds(const std::string& zone, const std::string& algorithm, const std::string& folder);
int geodata_build(const std::string& csv, const std::string& output, uint64_t epoch);

// `reload` and `status`: the admin endpoint of a running server.
struct AdminClientOptions {
  std::string config_path;   // read for "admin": {"listen", "token"}
  std::string admin;         // --admin ADDRESS:PORT (instead of the config's)
  std::string token;         // --token
  bool token_given = false;  // --token was given (even empty: none)
  bool json = false;         // print the JSON answer
};
int reload(const AdminClientOptions& options);
// `cluster override` and `cluster status`: etcd, as meridian.json's "cluster" names it.
int cluster_override(const std::string& config_path, const std::string& key, const std::string& state,
                     const std::string& reason);
int cluster_status(const std::string& config_path, bool as_json);
int status(const AdminClientOptions& options);

}  // namespace meridian::cli
