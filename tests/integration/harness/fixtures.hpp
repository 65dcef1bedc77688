// A meridian server with the test zones (tests/data/dns/*.json plus generated
// ones) in its own temp dir, started on loopback port 0.
#pragma once
#include <map>
#include <memory>
#include <string>

#include "integration/harness/dns_client.hpp"
#include "integration/harness/process.hpp"

namespace meridian::test {

struct ServerOptions {
  std::string extra_dns;            // JSON members added to "dns", e.g. R"("nsid": "x")"
  bool example_zones = true;        // example.com + example.net from tests/data/dns
  bool big_zone = true;             // big.test (see big_zone_json)
  std::map<std::string, std::string> zone_files;  // more zones: file name -> JSON text
};

class TestServer {
 public:
  explicit TestServer(const ServerOptions& options = {});
  ~TestServer();

  bool started() const { return started_; }
  std::string error() const { return process_.error(); }
  const Endpoint& ep() const { return process_.v4(); }  // IPv4 listener
  const Endpoint* ep6() const { return process_.v6(); }
  ServerProcess& process() { return process_; }
  TempDir& dir() { return dir_; }
  // SIGTERM and wait: the exit code (0 expected).
  int stop();
  // No sanitizer report or crash message in the log so far.
  bool log_clean() const;

 private:
  TempDir dir_;
  ServerProcess process_;
  bool started_ = false;
};

// The zone big.test.: responses near and over the UDP limits.
//   txt30.big.test  30 TXT records of one 100-byte string each (~3.4 KB)
//   fit512 / over512: one TXT record sized so the plain-DNS (no EDNS) response is
//     exactly 512 bytes / 513 bytes
//   fit1232 / over1232: the same for an EDNS query advertising 1232 (OPT included)
std::string big_zone_json();
// Rdata length that makes a one-TXT-record answer to `qname` exactly `total` bytes
// (with `opt` bytes of OPT RR in the response).
std::size_t txt_rdata_for_size(const std::string& qname, std::size_t total, std::size_t opt);
// TXT presentation text ("\"aaa\" \"bbb\"") whose rdata is exactly rdlen bytes.
std::string txt_of_rdata_length(std::size_t rdlen, char fill);

}  // namespace meridian::test
