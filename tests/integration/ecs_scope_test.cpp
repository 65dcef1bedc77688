// The ECS scope over the wire, on the real binary: for a sample of client
// prefixes (IPv4, IPv6 and IPv6 forms that carry an IPv4 client; source prefixes
// from /0 to the full length) every address inside the reply's scope gets the
// same answer, on GeoIP2-City-Test and on the demo database. Then the IPv4-in-IPv6
// forms against gdnsd (its geoip plugin over the same .mmdb and the same map,
// configured as tools/bench does): the same answers. Skipped with a message when
// gdnsd is not installed.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "integration/harness/dns_client.hpp"
#include "integration/harness/process.hpp"

using namespace meridian::test;

namespace {

const char* const kZone = R"({
  "origin": "example.com.", "ttl": 3600,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900,
          "expire": 1209600, "minimum": 300},
  "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"}, "app": {"service": "web"}}
})";

// One endpoint per region and one region per key, so the answer names the key.
const std::vector<std::pair<std::string, std::string>> kRegions = {
    {"eu", "127.0.0.11"}, {"na", "127.0.0.21"}, {"as", "127.0.0.31"}, {"oc", "127.0.0.41"},
    {"sa", "127.0.0.51"}, {"af", "127.0.0.61"}, {"gb", "127.0.0.71"}, {"se", "127.0.0.81"},
    {"dflt", "127.0.0.91"}};
const std::vector<std::pair<std::string, std::string>> kContinents = {
    {"EU", "eu"}, {"NA", "na"}, {"AS", "as"}, {"OC", "oc"}, {"SA", "sa"}, {"AF", "af"}};

std::string meridian_config(const std::string& db, const std::string& caps) {
  std::string regions, geo;
  for (const auto& [name, addr] : kRegions)
    regions += std::string(regions.empty() ? "" : ", ") + "\"" + name + "\": {\"endpoints\": [\"" + addr + "\"]}";
  for (const auto& [key, region] : kContinents) geo += "\"" + key + "\": [\"" + region + "\"], ";
  return R"({
  "dns": {"listen": ["127.0.0.1:0"], "threads": 1, "ecs": {"max_prefix": )" + caps + R"(}},
  "zones": "zones/",
  "geoip": {"city": ")" + db + R"("},
  "services": {"web": {"policy": "geo", "ttl": 300, "answers": 1,
    "geo": {)" + geo + R"("country:GB": ["gb"], "country:SE": ["se"], "default": ["dflt"]},
    "regions": {)" + regions + R"(}}}
})";
}

struct Meridian {
  TempDir dir;
  ServerProcess proc;
  bool ok = false;
  Meridian(const std::string& db, const std::string& caps) {
    dir.write("zones/example.com.json", kZone);
    ok = proc.start(dir.write("meridian.json", meridian_config(db, caps)));
  }
  ~Meridian() {
    if (ok && proc.alive()) proc.stop();
  }
};

using Bytes16 = std::array<uint8_t, 16>;

struct Prefix {
  int family = 4;
  Bytes16 b{};
  unsigned len = 0;
};

unsigned width(int family) { return family == 4 ? 32u : 128u; }

Bytes16 fill_after(Bytes16 a, int family, unsigned prefix, bool ones) {
  for (unsigned i = prefix; i < width(family); ++i) {
    const auto mask = static_cast<uint8_t>(0x80 >> (i % 8));
    a[i / 8] = ones ? (a[i / 8] | mask) : (a[i / 8] & static_cast<uint8_t>(~mask));
  }
  return a;
}

Bytes16 random_after(std::mt19937_64& rng, Bytes16 a, int family, unsigned prefix) {
  for (unsigned i = prefix; i < width(family); ++i) {
    const auto mask = static_cast<uint8_t>(0x80 >> (i % 8));
    a[i / 8] = (rng() & 1) ? (a[i / 8] | mask) : (a[i / 8] & static_cast<uint8_t>(~mask));
  }
  return a;
}

Bytes16 parse(const std::string& text, int& family) {
  Bytes16 b{};
  family = text.find(':') == std::string::npos ? 4 : 6;
  REQUIRE_MESSAGE(inet_pton(family == 4 ? AF_INET : AF_INET6, text.c_str(), b.data()) == 1, text);
  return b;
}

std::string text(const Bytes16& b, int family) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == 4 ? AF_INET : AF_INET6, b.data(), buf, sizeof buf);
  return buf;
}

struct Reply {
  bool ok = false;
  std::string answer;  // the A record's address, "" when none
  int scope = -1;      // -1: no ECS option in the reply
  std::string describe;
};

// app.example.com A with ECS ADDRESS/SOURCE (the address cut to the prefix).
Reply ask(const Endpoint& server, int family, const Bytes16& address, unsigned source) {
  const Bytes16 cut = fill_after(address, family, source, false);
  std::string ecs;
  ecs.push_back(0);
  ecs.push_back(static_cast<char>(family == 4 ? 1 : 2));
  ecs.push_back(static_cast<char>(source));
  ecs.push_back(0);
  ecs.append(reinterpret_cast<const char*>(cut.data()), (source + 7) / 8);
  QuerySpec q("app.example.com", qtype::A);
  q.edns = Edns{};
  q.edns->options.push_back({8, ecs});
  const Message m = ask_udp(server, q);
  Reply r;
  r.ok = m.ok && m.rcode == rcode::NOERROR;
  r.describe = m.describe();
  for (const auto& rec : m.answer)
    if (rec.type == qtype::A) r.answer = rec.rdata;
  if (const auto opt = m.option(8); opt && opt->size() >= 4) r.scope = static_cast<uint8_t>((*opt)[3]);
  return r;
}

std::vector<std::string> city_test_ips(int family) {
  std::ifstream in(source_path("tests/data/geoip/networks.json"));
  std::vector<std::string> out;
  for (const auto& row : nlohmann::json::parse(in))
    if (row["db"] == "GeoIP2-City-Test.mmdb" && row["family"] == (family == 4 ? "ipv4" : "ipv6"))
      out.push_back(row["ip"].get<std::string>());
  return out;
}

// IPv6 forms that carry an IPv4 client (RFC 4291, RFC 2765, RFC 6052, RFC 4380, RFC 3056).
struct Form {
  const char* name;
  const char* prefix;
  unsigned v4_at;
  bool inverted;
  unsigned embedding;  // bits that identify the form
};
const Form kForms[] = {{"mapped", "::ffff:0:0", 96, false, 96}, {"compatible", "::", 96, false, 96},
                       {"SIIT", "::ffff:0:0:0", 96, false, 96}, {"NAT64", "64:ff9b::", 96, false, 96},
                       {"Teredo", "2001::", 96, true, 32},      {"6to4", "2002::", 16, false, 16}};

Bytes16 embed(const Form& f, const Bytes16& v4, std::mt19937_64& rng) {
  int family = 6;
  Bytes16 a = parse(f.prefix, family);
  if (f.v4_at == 16) a = random_after(rng, a, 6, 48);          // 6to4: subnet and interface
  else if (f.inverted) a = random_after(rng, a, 6, 32);        // Teredo: server, flags, port
  for (unsigned i = 0; i < 4; ++i) a[f.v4_at / 8 + i] = f.inverted ? static_cast<uint8_t>(~v4[i]) : v4[i];
  return a;
}

// Sends every probe at every listed source prefix and checks addresses inside the
// reply's scope (first, last, random) at their full length: the same answer.
void expect_truthful_scopes(const Endpoint& ep, const std::vector<Prefix>& probes, const std::string& what) {
  std::mt19937_64 rng(3);
  std::size_t answers = 0, checks = 0, wrong = 0, longer = 0;
  std::string first_wrong;
  for (const Prefix& p : probes) {
    const Reply r = ask(ep, p.family, p.b, p.len);
    INFO(what << " " << text(p.b, p.family) << "/" << p.len << "\n" << r.describe);
    REQUIRE(r.ok);
    REQUIRE(r.scope >= 0);
    ++answers;
    if (p.len == 0) {
      CHECK(r.scope == 0);  // "do not tailor": the packet source decides
      continue;
    }
    const auto scope = static_cast<unsigned>(r.scope);
    REQUIRE(scope <= width(p.family));
    if (scope > p.len) ++longer;
    const Bytes16 echoed = fill_after(p.b, p.family, p.len, false);
    std::vector<Bytes16> inside = {fill_after(echoed, p.family, scope, false), fill_after(echoed, p.family, scope, true),
                                   random_after(rng, echoed, p.family, scope)};
    for (const Bytes16& b : inside) {
      const Reply rb = ask(ep, p.family, b, width(p.family));
      ++checks;
      REQUIRE(rb.ok);
      if (rb.answer == r.answer) continue;
      ++wrong;
      if (wrong <= 10)
        first_wrong += "\n  " + text(p.b, p.family) + "/" + std::to_string(p.len) + " -> " + r.answer + " scope /" +
                       std::to_string(scope) + ", but " + text(b, p.family) + " -> " + rb.answer;
    }
  }
  MESSAGE(what << ": " << answers << " answers, " << checks << " addresses inside their scopes, " << longer
               << " scopes longer than the source prefix, " << wrong << " wrong");
  CHECK_MESSAGE(wrong == 0, what << ": addresses inside a scope with another answer:" << first_wrong);
}

std::vector<Prefix> probes_for(const std::vector<std::string>& v4_ips, const std::vector<std::string>& v6_ips) {
  std::vector<Prefix> out;
  std::mt19937_64 rng(5);
  for (const auto& ip : v4_ips) {
    int family = 4;
    const Bytes16 a = parse(ip, family);
    for (unsigned len : {0u, 8u, 16u, 20u, 23u, 24u, 25u, 28u, 30u, 31u, 32u}) out.push_back({4, a, len});
  }
  for (const auto& ip : v6_ips) {
    int family = 6;
    const Bytes16 a = parse(ip, family);
    for (unsigned len : {0u, 16u, 24u, 32u, 40u, 48u, 56u, 64u, 128u}) out.push_back({6, a, len});
  }
  // IPv4 clients in each IPv6 form, at source prefixes up to, at and past the embedding.
  for (std::size_t i = 0; i < v4_ips.size(); i += 3) {
    int family = 4;
    const Bytes16 v4 = parse(v4_ips[i], family);
    for (const Form& f : kForms) {
      const Bytes16 a = embed(f, v4, rng);
      for (unsigned len : {f.embedding - 1, f.embedding, f.v4_at + 8, f.v4_at + 24, f.v4_at + 32, 128u})
        if (len <= 128) out.push_back({6, a, len});
    }
  }
  return out;
}

// --- gdnsd, configured as tools/bench does for its geoip plugin

std::string gdnsd_config(const std::string& dir, uint16_t port, const std::string& db) {
  std::ostringstream c;
  c << "options => {\n  listen => [ 127.0.0.1:" << port << " ]\n  udp_threads => 1\n  tcp_threads => 1\n"
    << "  run_dir => \"" << dir << "/run\"\n  state_dir => \"" << dir << "/state\"\n}\n";
  c << "plugins => { geoip => {\n  maps => { m => {\n    geoip2_db => " << db << "\n    datacenters => [";
  for (const auto& [name, addr] : kRegions) c << " " << name;
  c << " ]\n    map => {\n      default => [ dflt ]\n";
  for (const auto& [key, region] : kContinents) {
    if (key == "EU") c << "      EU => { default => [ eu ], GB => [ gb ], SE => [ se ] }\n";
    else c << "      " << key << " => [ " << region << " ]\n";
  }
  c << "    }\n  } }\n  resources => { web => {\n    map => m\n    service_types => up\n    dcmap => {\n";
  for (const auto& [name, addr] : kRegions) c << "      " << name << " => { addrs_v4 => [ " << addr << " ] }\n";
  c << "    }\n  } }\n} }\n";
  return c.str();
}

class Gdnsd {
 public:
  ~Gdnsd() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto end = Clock::now() + std::chrono::seconds(20);
    int status;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  bool start(const std::string& gdnsd, const TempDir& dir, const std::string& db) {
    const std::string root = dir.file("gdnsd");
    dir.write("gdnsd/zones/example.com",
              "$ORIGIN example.com.\n$TTL 3600\n"
              "@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300\n"
              "@ IN NS ns1.example.com.\nns1 IN A 192.0.2.1\napp 300 DYNA geoip!web\n");
    dir.write("gdnsd/run/.keep", "");
    dir.write("gdnsd/state/.keep", "");
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = free_udp_tcp_port();
      if (!port_) continue;
      dir.write("gdnsd/config", gdnsd_config(root, port_, db));
      log_ = dir.file("gdnsd/gdnsd.log");
      const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      pid_ = ::fork();
      if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // no stray gdnsd when the test is killed
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        ::execl(gdnsd.c_str(), gdnsd.c_str(), "-c", root.c_str(), "start", static_cast<char*>(nullptr));
        ::_exit(127);
      }
      ::close(log_fd);
      // Ready when it answers the SOA.
      const auto end = Clock::now() + std::chrono::seconds(30);
      while (Clock::now() < end) {
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        QuerySpec q("example.com", qtype::SOA);
        if (auto r = udp_exchange(endpoint(), build_query(q), std::chrono::milliseconds(500), std::chrono::milliseconds(500)))
          if (parse_message(*r).rcode == rcode::NOERROR) return true;
      }
      if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status;
        ::waitpid(pid_, &status, 0);
        pid_ = -1;
      }
    }
    return false;
  }

  Endpoint endpoint() const { return Endpoint{"127.0.0.1", port_}; }
  std::string log() const { return read_file(log_); }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

}  // namespace

TEST_CASE("ECS scope over the wire: GeoIP2-City-Test, caps /32 and /128") {
  Meridian m(source_path("tests/data/geoip/GeoIP2-City-Test.mmdb"), R"({"ipv4": 32, "ipv6": 128})");
  REQUIRE_MESSAGE(m.ok, m.proc.error());
  const auto v4 = city_test_ips(4);
  auto v6 = city_test_ips(6);
  REQUIRE(v4.size() >= 10);
  REQUIRE(v6.size() >= 10);
  if (v6.size() > 12) v6.resize(12);
  expect_truthful_scopes(m.proc.v4(), probes_for(v4, v6), "City-Test /32 /128");
}

TEST_CASE("ECS scope over the wire: demo database, default caps /24 and /56") {
  Meridian m(source_path("geodata/demo-city.mmdb"), R"({"ipv4": 24, "ipv6": 56})");
  REQUIRE_MESSAGE(m.ok, m.proc.error());
  const std::vector<std::string> v4 = {"127.0.0.1", "127.1.2.3", "127.2.255.254", "127.6.0.1", "10.200.1.1",
                                       "192.0.2.77", "198.51.100.1", "203.0.113.200", "8.8.8.8"};
  const std::vector<std::string> v6 = {"2001:db8:1::1", "2001:db8:2:ff::1", "2001:db8:ffff::1", "fd00::1", "::1"};
  expect_truthful_scopes(m.proc.v4(), probes_for(v4, v6), "demo /24 /56");
}

TEST_CASE("IPv4 clients in IPv6 forms: the same answers as gdnsd") {
  const auto gdnsd = find_program("gdnsd").value_or(have_program("/usr/sbin/gdnsd") ? "/usr/sbin/gdnsd" : "");
  if (gdnsd.empty()) {
    MESSAGE("gdnsd is not installed (apt-get install gdnsd); comparison skipped");
    return;
  }
  const std::string db = source_path("tests/data/geoip/GeoIP2-City-Test.mmdb");
  Meridian m(db, R"({"ipv4": 32, "ipv6": 128})");
  REQUIRE_MESSAGE(m.ok, m.proc.error());
  Gdnsd g;
  REQUIRE_MESSAGE(g.start(gdnsd, m.dir, db), "gdnsd did not start:\n" << g.log());

  std::vector<std::string> v4 = city_test_ips(4);
  v4.insert(v4.end(), {"8.8.8.8", "127.0.0.1", "10.1.2.3"});
  std::mt19937_64 rng(9);
  std::size_t compared = 0, same_scope = 0;
  std::map<std::string, int> per_form;
  for (const auto& ip : v4) {
    int family = 4;
    const Bytes16 a4 = parse(ip, family);
    const Reply direct = ask(m.proc.v4(), 4, a4, 32);
    for (const Form& f : kForms) {
      const Bytes16 a = embed(f, a4, rng);
      for (unsigned len : {f.v4_at + 32, f.v4_at + 24, 128u}) {
        if (len > 128) continue;
        const Reply ours = ask(m.proc.v4(), 6, a, len);
        const Reply theirs = ask(g.endpoint(), 6, a, len);
        INFO(f.name << " " << text(a, 6) << "/" << len << " (IPv4 " << ip << ")\nmeridian:\n"
                    << ours.describe << "\ngdnsd:\n" << theirs.describe);
        REQUIRE(ours.ok);
        REQUIRE(theirs.ok);
        CHECK(ours.answer == theirs.answer);
        // The IPv4 client inside, as if it had asked itself.
        if (len >= f.v4_at + 32) CHECK(ours.answer == direct.answer);
        CHECK(ours.scope >= static_cast<int>(f.v4_at));
        // One region per key, all up: gdnsd merging networks by datacenter list and
        // meridian by decision merge alike, so the scopes agree too.
        CHECK(ours.scope == theirs.scope);
        ++compared;
        ++per_form[f.name];
        if (ours.scope == theirs.scope) ++same_scope;
      }
    }
  }
  MESSAGE(compared << " queries compared with gdnsd, " << same_scope << " with the same scope");
  CHECK(per_form.size() == 6);
  CHECK(compared >= 60);
}

TEST_CASE("meridian explain: an IPv4 client in 6to4 is explained as that IPv4 client") {
  Meridian m(source_path("tests/data/geoip/GeoIP2-City-Test.mmdb"), R"({"ipv4": 32, "ipv6": 128})");
  const std::string cfg = m.dir.file("meridian.json");
  const CommandResult js = run_command({meridian_binary(), "explain", "app.example.com", "A", "--client", "127.0.0.1",
                                        "--ecs", "2002:5102:458e::/48", "--json", "--config", cfg});
  INFO(js.out << js.err);
  REQUIRE(js.exit_code == 0);
  const auto j = nlohmann::json::parse(js.out);
  CHECK(j["address_used"] == "81.2.69.142");
  CHECK(j["ipv4_in_ipv6"] == "6to4 2002:5102:458e::");
  CHECK(j["geoip"]["country"] == "GB");
  CHECK(j["matched_key"] == "country:GB");
  CHECK(j["chosen_regions"] == nlohmann::json::array({"gb"}));
  CHECK(j["ecs_scope"] == 16 + 31);  // 81.2.69.142/31 decides
  const CommandResult text = run_command({meridian_binary(), "explain", "app.example.com", "A", "--client",
                                          "2001:0:4136:e378:8000:63bf:aefd:ba71", "--config", cfg});
  INFO(text.out << text.err);
  REQUIRE(text.exit_code == 0);
  CHECK(text.out.find("-> address 81.2.69.142 (packet source, IPv4 in Teredo") != std::string::npos);
  CHECK(text.out.find("chosen gb") != std::string::npos);
}
