// knotd (Knot DNS) started on loopback for differential tests: the zones given
// as master files, answers compared with meridian's. Stopped on destruction.
#pragma once
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "integration/harness/dns_client.hpp"
#include "integration/harness/process.hpp"

namespace meridian::test {

struct KnotZone {
  KnotZone(std::string zone_origin, std::string file, std::string zone_options = "")
      : origin(std::move(zone_origin)), master_file(std::move(file)), options(std::move(zone_options)) {}
  std::string origin;       // "diff.test."
  std::string master_file;  // full path; empty for a secondary zone
  std::string options;      // more lines for the zone's entry, e.g. "    master: primary\n"
};

class KnotServer {
 public:
  KnotServer() = default;
  ~KnotServer();
  KnotServer(const KnotServer&) = delete;
  KnotServer& operator=(const KnotServer&) = delete;

  // Writes a configuration under dir/knot-<n>/ and waits until every zone answers
  // its SOA. False when knotd would not start or a zone did not load (see log()).
  // sections: more top-level configuration (key:, remote:, acl: for a secondary).
  // A secondary zone answers once it has been transferred.
  bool start(const std::string& knotd, const TempDir& dir, const std::vector<KnotZone>& zones,
             const std::string& sections = "");
  // The port to try first (e.g. one a primary already sends NOTIFY to); 0: any free one.
  void prefer_port(uint16_t port) { preferred_port_ = port; }
  Endpoint endpoint() const { return Endpoint{"127.0.0.1", port_}; }
  std::string log() const;

 private:
  void kill_now();

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  uint16_t preferred_port_ = 0;
  std::string log_;
};

// A section as sorted "owner TYPE rdata ttl=N" lines, and lines joined for a
// readable CHECK failure: what the differential tests compare.
std::vector<std::string> section_keys(const std::vector<Record>& section);
std::string join_lines(const std::vector<std::string>& lines);

}  // namespace meridian::test
