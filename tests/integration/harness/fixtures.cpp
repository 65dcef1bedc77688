#include "integration/harness/fixtures.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace meridian::test {

TestServer::TestServer(const ServerOptions& options) {
  if (options.example_zones) {
    dir_.write("zones/example.com.json", read_file(source_path("tests/data/dns/example.com.json")));
    dir_.write("zones/example.net.json", read_file(source_path("tests/data/dns/example.net.json")));
  }
  if (options.big_zone) dir_.write("zones/big.test.json", big_zone_json());
  for (const auto& [name, text] : options.zone_files) dir_.write("zones/" + name, text);
  const std::string config = dir_.write("meridian.json", server_config("zones/", options.extra_dns));
  started_ = process_.start(config);
}

TestServer::~TestServer() {
  if (started_ && process_.alive()) process_.stop();
}

int TestServer::stop() { return process_.stop(); }

bool TestServer::log_clean() const {
  const std::string log = process_.log();
  return log.find("AddressSanitizer") == std::string::npos && log.find("runtime error") == std::string::npos &&
         log.find("LeakSanitizer") == std::string::npos && log.find("terminate called") == std::string::npos;
}

std::string txt_of_rdata_length(std::size_t rdlen, char fill) {
  // rdata = sequence of (length byte + up to 255 bytes).
  std::string out;
  while (rdlen > 0) {
    if (rdlen < 1) break;
    const std::size_t chunk = std::min<std::size_t>(255, rdlen - 1);
    if (!out.empty()) out += ' ';
    out += '"' + std::string(chunk, fill) + '"';
    rdlen -= chunk + 1;
  }
  return out;
}

std::size_t txt_rdata_for_size(const std::string& qname, std::size_t total, std::size_t opt) {
  const std::size_t question = encode_name(qname).size() + 4;
  // header + question + answer RR (owner pointer 2 + type/class/ttl/rdlength 10) + OPT
  const std::size_t fixed = 12 + question + 2 + 10 + opt;
  if (total < fixed) throw std::runtime_error("size too small");
  return total - fixed;
}

std::string big_zone_json() {
  nlohmann::json z;
  z["origin"] = "big.test.";
  z["ttl"] = 300;
  z["soa"] = {{"mname", "ns.example.com."}, {"rname", "hostmaster.example.com."}, {"serial", 1},
              {"refresh", 3600}, {"retry", 600}, {"expire", 86400}, {"minimum", 60}};
  nlohmann::json records;
  records["@"] = {{"NS", "ns.example.com."}};
  nlohmann::json txt = nlohmann::json::array();
  for (int i = 0; i < 30; ++i) {
    std::string s(100, 'a' + static_cast<char>(i % 26));
    s[0] = static_cast<char>('0' + i / 10);
    s[1] = static_cast<char>('0' + i % 10);
    txt.push_back('"' + s + '"');
  }
  records["txt30"] = {{"TXT", txt}};
  records["fit512"] = {{"TXT", txt_of_rdata_length(txt_rdata_for_size("fit512.big.test", 512, 0), 'f')}};
  records["over512"] = {{"TXT", txt_of_rdata_length(txt_rdata_for_size("over512.big.test", 513, 0), 'o')}};
  records["fit1232"] = {{"TXT", txt_of_rdata_length(txt_rdata_for_size("fit1232.big.test", 1232, 11), 'f')}};
  records["over1232"] = {{"TXT", txt_of_rdata_length(txt_rdata_for_size("over1232.big.test", 1233, 11), 'o')}};
  z["records"] = records;
  return z.dump(2) + "\n";
}

}  // namespace meridian::test
