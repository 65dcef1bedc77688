// Header-only helpers for the health, reload and admin integration tests: a
// meridian server with our own meridian.json (checks, services, admin), zones
// and health files in a temp dir; a small blocking HTTP client for the admin
// endpoint; polling helpers; answers of a dynamic name.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/harness/dig.hpp"
#include "integration/harness/dns_client.hpp"
#include "integration/harness/process.hpp"

namespace meridian::test::backends {

using json = nlohmann::json;

// Generous: ASan+UBSan on a loaded 2-core machine.
inline constexpr std::chrono::seconds kHealthDeadline{45};

// Polls cond every `every` until it holds or the deadline passes.
inline bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds deadline = kHealthDeadline,
                     std::chrono::milliseconds every = std::chrono::milliseconds(50)) {
  const auto end = Clock::now() + deadline;
  for (;;) {
    if (cond()) return true;
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(every);  // poll interval, bounded by the deadline
  }
}

// ---------------------------------------------------------------------------
// A blocking HTTP/1.1 request against 127.0.0.1:port (Connection: close, no body).

struct HttpResponse {
  bool ok = false;  // a status line came back
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string raw;
};

inline HttpResponse http_request(uint16_t port, const std::string& method, const std::string& target,
                                 const std::vector<std::string>& extra_headers = {},
                                 std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  HttpResponse r;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return r;
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    ::close(fd);
    return r;
  }
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (method != "GET") req += "Content-Length: 0\r\n";
  for (const auto& h : extra_headers) req += h + "\r\n";
  req += "\r\n";
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  const auto end = Clock::now() + timeout;
  char buf[16384];
  while (Clock::now() < end) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0) r.raw.append(buf, static_cast<std::size_t>(n));
    else if (n < 0 && errno == EINTR) continue;
    else break;
  }
  ::close(fd);
  const auto head_end = r.raw.find("\r\n\r\n");
  if (r.raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos) return r;
  r.ok = true;
  r.status = std::atoi(r.raw.c_str() + 9);
  std::istringstream head(r.raw.substr(0, head_end));
  std::string line;
  std::getline(head, line);
  while (std::getline(head, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    r.headers[name] = value;
  }
  r.body = r.raw.substr(head_end + 4);
  return r;
}

inline HttpResponse http_get(uint16_t port, const std::string& target, const std::vector<std::string>& extra_headers = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  return http_request(port, "GET", target, extra_headers, timeout);
}

// ---------------------------------------------------------------------------
// Zone and config builders.

inline json zone_json(const std::string& origin, uint32_t serial, const json& records) {
  return json{{"origin", origin},
              {"ttl", 3600},
              {"soa",
               {{"mname", "ns1"}, {"rname", "hostmaster"}, {"serial", serial}, {"refresh", 7200}, {"retry", 900},
                {"expire", 1209600}, {"minimum", 300}}},
              {"records", records}};
}

// example.test. with "app" (service web), "api" (service api) and some static data.
inline json standard_zone(uint32_t serial = 2026010101) {
  return zone_json("example.test.", serial,
                   json{{"@", {{"NS", json::array({"ns1"})}}},
                        {"ns1", {{"A", "192.0.2.1"}}},
                        {"www", {{"A", "192.0.2.80"}}},
                        {"app", {{"service", "web"}}}});
}

// A region of endpoints behind backends, checked by `check`.
inline json region(const std::vector<std::string>& endpoints, const std::vector<std::string>& backends,
                   const std::string& check, const json& min_healthy = json()) {
  json r{{"endpoints", endpoints}};
  if (!backends.empty()) {
    json list = json::array();
    for (const auto& b : backends) list.push_back({{"address", b}, {"weight", 1}});
    r["backends"] = list;
  }
  if (!check.empty()) r["check"] = check;
  if (!min_healthy.is_null()) r["min_healthy"] = min_healthy;
  return r;
}

// A "failover" service "web" over eu-west (first) then us-east.
inline json failover_service(const json& eu_west, const json& us_east, uint32_t ttl = 300, uint32_t failover_ttl = 30) {
  return json{{"policy", "failover"},
              {"ttl", ttl},
              {"failover_ttl", failover_ttl},
              {"order", json::array({"eu-west", "us-east"})},
              {"regions", {{"eu-west", eu_west}, {"us-east", us_east}}}};
}

inline json http_check(const json& extra = json::object()) {
  json c{{"type", "http"}, {"path", "/healthz"}, {"expect", json::array({200})}, {"interval", "200ms"},
         {"timeout", "150ms"}, {"rise", 2},      {"fall", 3},                     {"jitter", 0}};
  for (const auto& [k, v] : extra.items()) c[k] = v;
  return c;
}

inline json base_config(const json& checks, const json& services, const json& admin = json{{"listen", "127.0.0.1:0"}}) {
  return json{{"dns", {{"listen", json::array({"127.0.0.1:0"})}, {"threads", 1}}},
              {"zones", "zones/"},
              {"health", "health/"},
              {"admin", admin},
              {"checks", checks},
              {"services", services}};
}

// A server with static data only: example.test. (ns1, www) on 127.0.0.1 with one
// UDP thread, `dns_extra` merged into "dns", and an admin port for /metrics.
inline json static_dns_config(const json& dns_extra) {
  json dns{{"listen", json::array({"127.0.0.1:0"})}, {"threads", 1}};
  for (const auto& [k, v] : dns_extra.items()) dns[k] = v;
  return json{{"dns", dns}, {"zones", "zones/"}, {"admin", {{"listen", "127.0.0.1:0"}}}};
}
inline json static_zone() {
  return zone_json("example.test.", 1,
                   json{{"@", {{"NS", json::array({"ns1"})}}}, {"ns1", {{"A", "192.0.2.1"}}}, {"www", {{"A", "192.0.2.80"}}}});
}

// Writes a file atomically (temp file + rename), so a watcher never sees half of it.
inline void write_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp-writing";
  {
    FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw std::runtime_error("cannot write " + tmp);
    std::fwrite(content.data(), 1, content.size(), f);
    std::fclose(f);
  }
  std::filesystem::rename(tmp, path);
}

// ---------------------------------------------------------------------------
// A running meridian with our own files.

class Meridian {
 public:
  // zones: file name -> JSON; health: file name -> text.
  bool start(const json& config, const std::map<std::string, json>& zones,
             const std::map<std::string, std::string>& health = {}) {
    for (const auto& [name, z] : zones) dir.write("zones/" + name, z.dump(2) + "\n");
    std::filesystem::create_directories(dir.file("health"));
    for (const auto& [name, text] : health) dir.write("health/" + name, text);
    config_path = dir.write("meridian.json", config.dump(2) + "\n");
    if (config.contains("admin") && config["admin"].contains("token")) token = config["admin"]["token"].get<std::string>();
    if (!process.start(config_path)) {
      error = process.error();
      return false;
    }
    // The listening lines name the DNS and admin addresses.
    std::istringstream lines(process.log());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.find("event=listening") == std::string::npos) continue;
      const auto at = line.find("address=");
      std::string addr = line.substr(at + 8);
      addr = addr.substr(0, addr.find(' '));
      const auto colon = addr.rfind(':');
      const uint16_t port = static_cast<uint16_t>(std::stoi(addr.substr(colon + 1)));
      if (line.find("transports=admin-http") != std::string::npos) admin_port = port;
      else if (line.find("transports=udp,tcp") != std::string::npos && dns.port == 0) dns = Endpoint{addr.substr(0, colon), port};
    }
    if (dns.port == 0) {
      error = "no DNS listening line:\n" + process.log();
      return false;
    }
    return true;
  }

  ~Meridian() {
    if (process.alive()) process.stop();
  }

  HttpResponse get(const std::string& target, bool with_token = true) const {
    std::vector<std::string> headers;
    if (with_token && !token.empty()) headers.push_back("Authorization: Bearer " + token);
    return http_get(admin_port, target, headers);
  }
  json status() const {
    const HttpResponse r = get("/status");
    if (!r.ok || r.status != 200) return json();
    return json::parse(r.body, nullptr, false);
  }
  std::string metrics() const { return get("/metrics").body; }

  // The A records of a name: sorted addresses and the TTL of the first.
  struct Answer {
    bool ok = false;
    int rcode = -1;
    std::vector<std::string> addresses;
    uint32_t ttl = 0;
    std::string text;
  };
  Answer a(const std::string& name) const {
    Answer out;
    QuerySpec q{name, qtype::A};
    const Message m = ask_udp(dns, q);
    out.ok = m.ok;
    out.rcode = m.rcode;
    out.text = m.describe();
    for (const auto& r : Message::of_type(m.answer, qtype::A)) out.addresses.push_back(r.rdata);
    std::sort(out.addresses.begin(), out.addresses.end());
    if (!m.answer.empty()) out.ttl = m.answer.front().ttl;
    return out;
  }
  // The single address answered for name, or "" (none, several, no answer).
  std::string one(const std::string& name) const {
    const Answer r = a(name);
    return r.addresses.size() == 1 ? r.addresses.front() : "";
  }
  bool wait_answer(const std::string& name, const std::string& address,
                   std::chrono::milliseconds deadline = kHealthDeadline) const {
    return wait_for([&] { return one(name) == address; }, deadline);
  }

  std::string log() const { return process.log(); }
  std::size_t log_count(const std::string& needle) const {
    const std::string text = log();
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
  }
  bool wait_log(const std::string& needle, std::size_t count = 1, std::chrono::milliseconds deadline = kHealthDeadline) const {
    return wait_for([&] { return log_count(needle) >= count; }, deadline);
  }
  void sighup() const { ::kill(process.pid(), SIGHUP); }
  bool log_clean() const {
    const std::string text = log();
    return text.find("AddressSanitizer") == std::string::npos && text.find("runtime error") == std::string::npos &&
           text.find("LeakSanitizer") == std::string::npos && text.find("terminate called") == std::string::npos;
  }

  TempDir dir;
  ServerProcess process;
  std::string config_path;
  std::string token;
  std::string error;
  Endpoint dns;
  uint16_t admin_port = 0;
};

// The serial of an SOA's rdata in presentation form (mname rname serial refresh ...).
inline uint32_t serial_in_soa_text(const std::string& rdata) {
  std::istringstream in(rdata);
  std::string mname, rname;
  uint32_t serial = 0;
  in >> mname >> rname >> serial;
  return serial;
}

// The SOA serial served for origin, 0 when there is none; the rcode in *rcode_out.
inline uint32_t soa_serial(const Meridian& m, const std::string& origin, int* rcode_out = nullptr) {
  const Message r = ask_udp(m.dns, QuerySpec{origin, qtype::SOA});
  if (rcode_out) *rcode_out = r.ok ? r.rcode : -1;
  if (!r.ok || r.answer.size() != 1) return 0;
  return serial_in_soa_text(r.answer[0].rdata);
}

}  // namespace meridian::test::backends
