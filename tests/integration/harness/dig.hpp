// Runs dig (BIND 9) or kdig (Knot) against a server and parses their text output
// into status, flags, EDNS details and the record sections.
#pragma once
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "integration/harness/dns_client.hpp"
#include "integration/harness/process.hpp"

namespace meridian::test {

struct DigRecord {
  std::string owner;
  uint32_t ttl = 0;
  std::string klass;  // "IN", "CH"
  std::string type;   // "A", "TXT", ...
  std::string rdata;  // rest of the line, trimmed

  std::string owner_lower() const;
  std::string key() const;  // "owner TYPE rdata", owner lower-cased
};

struct DigResult {
  bool ok = false;          // the tool ran and printed a header
  int exit_code = -1;
  std::string output;       // stdout, for failure messages
  std::string status;       // "NOERROR", "NXDOMAIN", ...
  std::set<std::string> flags;  // "qr", "aa", "tc", ...
  bool has_opt = false;
  std::optional<int> edns_version;
  std::optional<int> udp_size;
  std::set<std::string> edns_flags;  // "do"
  std::optional<std::string> nsid;   // the NSID line, as printed
  std::string question;              // the question line, without the leading ';'
  std::vector<DigRecord> answer, authority, additional;

  bool flag(const std::string& f) const { return flags.count(f) > 0; }
  static std::vector<std::string> keys(const std::vector<DigRecord>& section, const std::string& type = "");
};

// dig @host -p port <args> (+time/+tries set generously). The last arguments
// usually are "name type" or "-c CH name TXT".
DigResult dig(const Endpoint& server, const std::vector<std::string>& args);
DigResult kdig(const Endpoint& server, const std::vector<std::string>& args);

// Parses either tool's output (exposed for the tests of the parser itself).
DigResult parse_dig_output(const std::string& text);

}  // namespace meridian::test
