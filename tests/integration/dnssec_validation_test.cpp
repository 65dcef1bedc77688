// A signed zone served by the real server, validated by an independent validator:
// delv (BIND 9) with the zone's DNSKEY as its trust anchor. Keys are made with
// `meridian dnssec keygen`; `meridian dnssec ds` prints the parent's DS.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include "integration/harness/dig.hpp"
#include "integration/harness/dns_client.hpp"
#include "integration/harness/fixtures.hpp"

using namespace meridian::test;

namespace {

std::string zone_json(const std::string& keys, const std::string& validity = "14d", const std::string& refresh = "7d") {
  return R"({
  "origin": "signed.test.", "ttl": 300,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1,
          "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 60},
  "dnssec": {"keys": ")" + keys + R"(", "algorithm": "ECDSAP256SHA256", "denial": "compact",
             "signature_validity": ")" + validity + R"(", "refresh": ")" + refresh + R"("},
  "records": {
    "@":     {"NS": ["ns1", "ns2"], "MX": "10 mail"},
    "ns1":   {"A": "192.0.2.1"},
    "ns2":   {"A": "192.0.2.2"},
    "mail":  {"A": "192.0.2.25"},
    "www":   {"A": ["192.0.2.10", "192.0.2.11"], "TXT": "signed"},
    "alias": {"CNAME": "www"},
    "*.wild": {"A": "192.0.2.50"},
    "secure": {"NS": "ns.secure", "DS": "12345 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118AAAAAAAAAAAAAAAAAAAAAAAA"},
    "ns.secure": {"A": "192.0.2.53"},
    "insecure": {"NS": "ns.example.net."}
  }
})";
}

// The DNSKEY line of a .key file: "signed.test. IN DNSKEY 257 3 13 BASE64".
std::string dnskey_line(const std::string& key_file) {
  const std::string text = read_file(key_file);
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (!line.empty() && line[0] != ';' && line.find("DNSKEY") != std::string::npos)
      return line.substr(0, line.find(';'));  // without ldns's trailing ";{id = ...}"
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return {};
}

// delv's trust-anchors clause for one DNSKEY line.
std::string trust_anchor(const std::string& line) {
  const std::size_t at = line.find("DNSKEY");
  std::istringstream rest(line.substr(at + 6));
  std::string flags, protocol, algorithm, key, part;
  rest >> flags >> protocol >> algorithm;
  while (rest >> part) key += part;
  return "trust-anchors {\n  signed.test. static-key " + flags + " " + protocol + " " + algorithm + " \"" + key +
         "\";\n};\n";
}

struct SignedServer {
  TempDir keys;
  std::string anchor_file;
  std::unique_ptr<TestServer> server;

  explicit SignedServer(const std::string& extra_dns = {}, const std::string& validity = "14d",
                        const std::string& refresh = "7d") {
    const CommandResult made = run_command({meridian_binary(), "dnssec", "keygen", "signed.test.", "-d", keys.path()});
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    const std::string base = made.out.substr(0, made.out.find('\n'));
    anchor_file = keys.write("anchors.conf", trust_anchor(dnskey_line(base + ".key")));
    ServerOptions o;
    o.example_zones = false;
    o.big_zone = false;
    o.extra_dns = extra_dns;
    o.zone_files["signed.test.json"] = zone_json(keys.path(), validity, refresh);
    server = std::make_unique<TestServer>(o);
    REQUIRE_MESSAGE(server->started(), server->error());
  }

  CommandResult delv(const std::string& name, const std::string& type) {
    REQUIRE(have_program("delv"));
    const Endpoint& ep = server->ep();
    return run_command({"delv", "@" + ep.host, "-p", std::to_string(ep.port), "-a", anchor_file, "+root=signed.test.",
                        name, type});
  }
};

// unbound as a validating resolver: a stub zone to meridian, the zone's DNSKEY as
// trust anchor. Stopped on destruction.
class Unbound {
 public:
  Unbound(const TempDir& dir, const Endpoint& authority, const std::string& dnskey) {
    REQUIRE(have_program("unbound"));
    for (int attempt = 0; attempt < 3 && pid_ <= 0; ++attempt) {
      port_ = free_udp_tcp_port();
      const std::string conf = dir.write("unbound.conf",
          "server:\n"
          "  interface: 127.0.0.1\n  port: " + std::to_string(port_) + "\n"
          "  do-ip6: no\n  do-not-query-localhost: no\n  username: \"\"\n  chroot: \"\"\n"
          "  directory: \"" + dir.path() + "\"\n  pidfile: \"\"\n  use-syslog: no\n"
          "  logfile: \"\"\n  verbosity: 1\n  val-log-level: 2\n  num-threads: 1\n"
          "  access-control: 127.0.0.0/8 allow\n  qname-minimisation: no\n"
          // test. is one of unbound's default local zones (RFC 6761): let the stub answer.
          "  local-zone: \"test.\" nodefault\n"
          "  trust-anchor: \"" + dnskey + "\"\n"
          "stub-zone:\n  name: \"signed.test.\"\n  stub-addr: 127.0.0.1@" + std::to_string(authority.port) + "\n");
      log_ = dir.file("unbound.log");
      const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      pid_ = ::fork();
      if (pid_ == 0) {
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        const std::string program = *find_program("unbound");
        ::execl(program.c_str(), program.c_str(), "-d", "-c", conf.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
      }
      ::close(log_fd);
      // Ready when it answers (anything) on its port.
      const auto end = Clock::now() + kStartDeadline;
      bool ready = false;
      while (!ready && Clock::now() < end) {
        int status;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        QuerySpec q("signed.test.", qtype::SOA);
        ready = udp_exchange(endpoint(), build_query(q), std::chrono::milliseconds(500), std::chrono::milliseconds(500))
                    .has_value();
        if (!ready) std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (!ready && pid_ > 0) stop();
    }
    REQUIRE_MESSAGE(pid_ > 0, read_file(log_));
  }
  ~Unbound() { stop(); }
  Unbound(const Unbound&) = delete;
  Unbound& operator=(const Unbound&) = delete;

  Endpoint endpoint() const { return Endpoint{"127.0.0.1", port_}; }
  std::string log() const { return read_file(log_); }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status;
    const auto end = Clock::now() + kStopDeadline;
    while (::waitpid(pid_, &status, WNOHANG) == 0 && Clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (::waitpid(pid_, &status, WNOHANG) == 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

}  // namespace

TEST_CASE("unbound validates every answer type (AD) through a stub zone with the DNSKEY as trust anchor") {
  SignedServer s;
  TempDir resolver_dir;
  const std::string key_line = dnskey_line(std::filesystem::path(s.anchor_file).parent_path().string() + "/" +
                                           [&] {
                                             for (const auto& e : std::filesystem::directory_iterator(s.keys.path()))
                                               if (e.path().extension() == ".key") return e.path().filename().string();
                                             return std::string();
                                           }());
  Unbound unbound(resolver_dir, s.server->ep(), key_line);
  struct Case {
    const char* name;
    uint16_t type;
    int rcode;
    std::size_t answers;  // records of the asked type (0: none)
  };
  for (const Case c : {Case{"www.signed.test.", qtype::A, rcode::NOERROR, 2},
                       Case{"alias.signed.test.", qtype::A, rcode::NOERROR, 2},
                       Case{"anything.wild.signed.test.", qtype::A, rcode::NOERROR, 1},
                       Case{"anything.wild.signed.test.", qtype::AAAA, rcode::NOERROR, 0},
                       // Compact denial (RFC 9824): NOERROR, the name's NSEC with NXNAME.
                       Case{"nothing-here.signed.test.", qtype::A, rcode::NOERROR, 0},
                       Case{"deep.nothing.signed.test.", qtype::TXT, rcode::NOERROR, 0},
                       Case{"a.b.wild.signed.test.", qtype::A, rcode::NOERROR, 1},
                       Case{"www.signed.test.", qtype::AAAA, rcode::NOERROR, 0},
                       Case{"secure.signed.test.", 43, rcode::NOERROR, 1},
                       Case{"insecure.signed.test.", 43, rcode::NOERROR, 0}}) {
    CAPTURE(c.name);
    CAPTURE(c.type);
    QuerySpec q(c.name, c.type);
    q.rd = true;
    q.edns = Edns{};
    q.edns->do_bit = true;
    const Message m = ask_udp(unbound.endpoint(), q);
    INFO(m.describe());
    INFO(unbound.log());
    REQUIRE(m.ok);
    CHECK(m.rcode == c.rcode);
    CHECK(m.ad);
    CHECK(Message::of_type(m.answer, c.type).size() == c.answers);
  }
}

TEST_CASE("delv validates the signed zone's answers with its DNSKEY as trust anchor") {
  SignedServer s;
  struct Case {
    const char* name;
    const char* type;
    const char* expect;  // a record delv must print
  };
  for (const Case c : {Case{"www.signed.test.", "A", "192.0.2.10"}, Case{"www.signed.test.", "TXT", "\"signed\""},
                       Case{"signed.test.", "DNSKEY", "DNSKEY"}, Case{"signed.test.", "MX", "10 mail.signed.test."},
                       Case{"signed.test.", "SOA", "hostmaster"}, Case{"alias.signed.test.", "A", "192.0.2.11"}}) {
    CAPTURE(c.name);
    CAPTURE(c.type);
    const CommandResult r = s.delv(c.name, c.type);
    INFO((r.out + r.err));
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("; fully validated") != std::string::npos);
    CHECK(r.out.find(c.expect) != std::string::npos);
    CHECK(r.out.find("RRSIG") != std::string::npos);
  }
  // NODATA: the SOA and the name's compact NSEC prove that www has no AAAA.
  const CommandResult nodata = s.delv("www.signed.test.", "AAAA");
  INFO((nodata.out + nodata.err));
  CHECK(nodata.out.find("fully validated") != std::string::npos);
  CHECK(nodata.out.find("resolution failed") == std::string::npos);
  CHECK(s.server->log_clean());
}

TEST_CASE("an answer without the DO bit carries no signatures; meridian dnssec ds prints the KSK's DS") {
  SignedServer s;
  QuerySpec plain("www.signed.test.", qtype::A);
  plain.edns = Edns{};
  const Message m = ask_udp(s.server->ep(), plain);
  REQUIRE_MESSAGE(m.ok, m.error);
  CHECK(m.answer.size() == 2);
  for (const Record& r : m.answer) CHECK(r.type == qtype::A);
  QuerySpec with_do = plain;
  with_do.edns->do_bit = true;
  const Message signed_answer = ask_udp(s.server->ep(), with_do);
  CHECK(signed_answer.answer.size() == 3);
  CHECK(signed_answer.do_bit);

  const CommandResult ds = run_command({meridian_binary(), "dnssec", "ds", "signed.test.", "-d", s.keys.path()});
  INFO(ds.err);
  CHECK(ds.exit_code == 0);
  CHECK(ds.out.find("signed.test.\t3600\tIN\tDS\t") == 0);
  CHECK(ds.out.find(" 13 2 ") != std::string::npos);
}

namespace {

// A CSK for origin in dir's zones/keys/ (meridian dnssec keygen) and the zone signed
// with it, whose name `app` is service web; returns the trust anchor file delv is given.
std::string signed_app_zone(TempDir& dir, const std::string& origin) {
  std::filesystem::create_directories(dir.file("zones/keys"));
  const CommandResult made = run_command({meridian_binary(), "dnssec", "keygen", origin, "-d", dir.file("zones/keys")});
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  const std::string base = made.out.substr(0, made.out.find('\n'));
  std::string a = trust_anchor(dnskey_line(base + ".key"));
  a.replace(a.find("signed.test."), 12, origin);
  dir.write("zones/" + origin + "json", R"({"origin": ")" + origin + R"(", "ttl": 300, "dnssec": {"keys": "keys/"},
 "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 60},
 "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"}, "app": {"service": "web"}}})");
  return dir.write("anchors.conf", a);
}

}  // namespace

TEST_CASE("geo answers validate for clients of two regions, before and after a health change moves one") {
  TempDir dir;
  const std::string anchor_file = signed_app_zone(dir, "geo.test.");
  dir.write("health/README.txt", "override files go here\n");
  // Clients are told apart by their source address on loopback (delv -b).
  const std::string config = dir.write("meridian.json", R"({"dns": {"listen": ["127.0.0.1:0"], "threads": 1},
 "zones": "zones/", "health": "health/",
 "services": {"web": {"policy": "geo", "ttl": 300, "failover_ttl": 30,
   "geo": {"net:127.0.0.2/32": ["eu", "na"], "net:127.0.0.3/32": ["na", "eu"], "default": ["na", "eu"]},
   "regions": {"eu": {"endpoints": ["192.0.2.11", "192.0.2.12", "2001:db8::11"]},
               "na": {"endpoints": ["192.0.2.21"]}}}}})");
  ServerProcess server;
  REQUIRE_MESSAGE(server.start(config), server.error());
  REQUIRE(have_program("delv"));
  auto delv_from = [&](const std::string& source, const std::string& type) {
    const Endpoint& ep = server.v4();
    return run_command({"delv", "-b", source, "@" + ep.host, "-p", std::to_string(ep.port), "-a", anchor_file,
                        "+root=geo.test.", "app.geo.test.", type});
  };
  auto check = [&](const std::string& source, const std::string& type, const std::vector<std::string>& one_of) {
    CAPTURE(source);
    CAPTURE(type);
    const CommandResult r = delv_from(source, type);
    INFO((r.out + r.err));
    CHECK(r.out.find("fully validated") != std::string::npos);
    CHECK(r.out.find("resolution failed") == std::string::npos);
    CHECK(std::any_of(one_of.begin(), one_of.end(), [&](const std::string& a) { return r.out.find(a) != std::string::npos; }));
  };
  check("127.0.0.2", "A", {"192.0.2.11", "192.0.2.12"});
  check("127.0.0.2", "AAAA", {"2001:db8::11"});
  check("127.0.0.3", "A", {"192.0.2.21"});
  check("127.0.0.3", "AAAA", {"negative response"});  // na has no IPv6: NODATA, proven
  // eu goes down: its clients move to na (failover TTL, the same RRSIG as na's own clients get).
  dir.write("health/ops.json", R"({"web/eu": {"state": "down", "reason": "test"}})");
  bool moved = false;
  for (const auto end = Clock::now() + std::chrono::seconds(30); !moved && Clock::now() < end;) {
    moved = delv_from("127.0.0.2", "A").out.find("192.0.2.21") != std::string::npos;
    if (!moved) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  REQUIRE(moved);
  check("127.0.0.2", "A", {"192.0.2.21"});
  check("127.0.0.3", "A", {"192.0.2.21"});
  // Back up: the known sets' signatures are reused, nothing is signed again.
  dir.write("health/ops.json", R"({"web/eu": "auto"})");
  bool back = false;
  for (const auto end = Clock::now() + std::chrono::seconds(30); !back && Clock::now() < end;) {
    back = delv_from("127.0.0.2", "A").out.find("192.0.2.21") == std::string::npos;
    if (!back) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  REQUIRE(back);
  check("127.0.0.2", "A", {"192.0.2.11", "192.0.2.12"});
  const std::string log = server.log();
  CHECK(log.find("event=dnssec_signed") == log.rfind("event=dnssec_signed"));  // the zone was signed once
}

TEST_CASE("answers of 3 from a pool of 40 (more subsets than are signed) validate: DO answers are signed windows") {
  TempDir dir;
  const std::string anchor_file = signed_app_zone(dir, "pool.test.");
  std::string endpoints;
  for (int i = 100; i < 140; ++i) endpoints += (endpoints.empty() ? "\"192.0.2." : ", \"192.0.2.") + std::to_string(i) + "\"";
  const std::string config = dir.write("meridian.json", R"({"dns": {"listen": ["127.0.0.1:0"], "threads": 1},
 "zones": "zones/", "services": {"web": {"policy": "weighted", "ttl": 300, "answers": 3,
   "regions": {"r": {"endpoints": [)" + endpoints + "]}}}}}");
  ServerProcess server;
  REQUIRE_MESSAGE(server.start(config), server.error());
  REQUIRE(have_program("delv"));
  std::set<std::string> answers;
  for (int i = 0; i < 8; ++i) {
    const Endpoint& ep = server.v4();
    const CommandResult r = run_command({"delv", "@" + ep.host, "-p", std::to_string(ep.port), "-a", anchor_file,
                                         "+root=pool.test.", "app.pool.test.", "A"});
    INFO((r.out + r.err));
    CHECK(r.out.find("fully validated") != std::string::npos);
    CHECK(r.out.find("resolution failed") == std::string::npos);
    std::istringstream lines(r.out);
    std::string addresses;
    int count = 0;
    for (std::string line; std::getline(lines, line);)
      if (line.find("\tA\t") != std::string::npos) {
        addresses += line.substr(line.rfind('\t') + 1) + " ";
        ++count;
      }
    CHECK(count == 3);
    answers.insert(addresses);
  }
  CHECK(answers.size() > 1);  // different windows (8 draws from 40: all alike 1 time in 40^7)
}

namespace {

std::string first_key_line(const SignedServer& s) {
  for (const auto& e : std::filesystem::directory_iterator(s.keys.path()))
    if (e.path().extension() == ".key") return dnskey_line(e.path().string());
  return {};
}

}  // namespace

TEST_CASE("compact denial (RFC 9824): NXDOMAIN is NOERROR with the name's NSEC and NXNAME, validated by delv; DO=0 NXDOMAIN") {
  SignedServer s;
  for (const char* name : {"nothing-here.signed.test.", "deep.nothing.signed.test."}) {
    CAPTURE(name);
    QuerySpec q(name, qtype::A);
    q.edns = Edns{};
    q.edns->do_bit = true;
    const Message m = ask_udp(s.server->ep(), q);
    INFO(m.describe());
    REQUIRE(m.ok);
    CHECK(m.rcode == rcode::NOERROR);
    CHECK(m.answer.empty());
    bool own_nsec = false;
    for (const Record& r : m.authority)
      if (r.type == 47 && r.owner_lower() == name)
        own_nsec = r.rdata.find(std::string("\\000.") + name) == 0 &&
                   (r.rdata.find("TYPE128") != std::string::npos || r.rdata.find("NXNAME") != std::string::npos);
    CHECK(own_nsec);
    QuerySpec plain = q;
    plain.edns->do_bit = false;
    CHECK(ask_udp(s.server->ep(), plain).rcode == rcode::NXDOMAIN);
    const CommandResult r = s.delv(name, "A");
    INFO((r.out + r.err));
    CHECK(r.out.find("negative response, fully validated") != std::string::npos);
    CHECK(r.out.find("resolution failed") == std::string::npos);
  }
  // A wildcard answer's proof of the next closer name, the compact way.
  const CommandResult wild = s.delv("a.b.wild.signed.test.", "A");
  INFO((wild.out + wild.err));
  CHECK(wild.out.find("; fully validated") != std::string::npos);
  CHECK(wild.out.find("192.0.2.50") != std::string::npos);
  CHECK(s.server->log_clean());
}

TEST_CASE("compact denial over the signing budget: NXDOMAIN from the precomputed NSEC chain, validated by unbound") {
  SignedServer s(R"("online_signatures_per_second": 0)");
  TempDir resolver_dir;
  Unbound unbound(resolver_dir, s.server->ep(), first_key_line(s));
  for (const char* name : {"nothing-here.signed.test.", "deep.nothing.signed.test.", "x.y.wild.signed.test."}) {
    CAPTURE(name);
    QuerySpec q(name, qtype::A);
    q.rd = true;
    q.edns = Edns{};
    q.edns->do_bit = true;
    const Message m = ask_udp(unbound.endpoint(), q);
    INFO(m.describe());
    INFO(unbound.log());
    REQUIRE(m.ok);
    const bool wildcard = std::string(name).find("wild") != std::string::npos;
    CHECK(m.rcode == (wildcard ? rcode::NOERROR : rcode::NXDOMAIN));
    CHECK(m.ad);
  }
}

TEST_CASE("signatures are renewed `refresh` before they expire, with no reload, and still validate") {
  // Valid 1 h, renewed 3596 s before expiry: due 4 s after each signing.
  SignedServer s({}, "1h", "3596s");
  auto soa_rrsig = [&] {
    QuerySpec q("signed.test.", qtype::SOA);
    q.edns = Edns{};
    q.edns->do_bit = true;
    const Message m = ask_udp(s.server->ep(), q);
    for (const Record& r : m.answer)
      if (r.type == 46) return r.rdata;  // "SOA 13 2 300 EXPIRATION INCEPTION TAG signed.test. SIG"
    return std::string();
  };
  auto window = [](const std::string& rrsig) {
    std::istringstream in(rrsig);
    std::string type, algorithm, labels, ttl, expiration, inception;
    in >> type >> algorithm >> labels >> ttl >> expiration >> inception;
    return expiration + " " + inception;
  };
  const std::string first = soa_rrsig();
  REQUIRE(!first.empty());
  std::string renewed;
  for (const auto end = Clock::now() + std::chrono::seconds(40); Clock::now() < end;) {
    const std::string now = soa_rrsig();
    if (!now.empty() && window(now) != window(first)) {
      renewed = now;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  INFO(first);
  REQUIRE_MESSAGE(!renewed.empty(), "the SOA's RRSIG kept its window for 40 s");
  CHECK(window(renewed) > window(first));  // YYYYMMDDHHmmSS: later is greater
  const CommandResult r = s.delv("www.signed.test.", "A");
  INFO((r.out + r.err));
  CHECK(r.out.find("; fully validated") != std::string::npos);
  const std::string log = s.server->process().log();
  CHECK(log.find("reload_start") == std::string::npos);
  CHECK(log.find("event=dnssec_signed") != log.rfind("event=dnssec_signed"));  // signed at least twice
}

TEST_CASE("a service answering 2 of 16 endpoints: every one of its 120 possible answers is signed") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("zones/keys"));
  const CommandResult made = run_command({meridian_binary(), "dnssec", "keygen", "many.test.", "-d", dir.file("zones/keys")});
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  dir.write("zones/many.test.json", R"({"origin": "many.test.", "ttl": 300, "dnssec": {"keys": "keys/"},
 "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900, "expire": 1209600, "minimum": 60},
 "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"}, "app": {"service": "web"}}})");
  std::string endpoints;
  for (int i = 1; i <= 16; ++i) endpoints += (i > 1 ? ", " : "") + std::string("\"192.0.2.") + std::to_string(100 + i) + "\"";
  const std::string config = dir.write("meridian.json", R"({"dns": {"listen": ["127.0.0.1:0"], "threads": 1},
 "zones": "zones/", "services": {"web": {"policy": "failover", "ttl": 300, "answers": 2,
   "regions": {"eu": {"endpoints": [)" + endpoints + R"(]}}}}})");
  ServerProcess server;
  REQUIRE_MESSAGE(server.start(config), server.error());
  // Each answer is a random pair: with only 64 of the 120 pairs signed (as before), 40
  // answers would all be signed with a chance of about 1e-11.
  for (int i = 0; i < 40; ++i) {
    QuerySpec q("app.many.test.", qtype::A);
    q.edns = Edns{};
    q.edns->do_bit = true;
    const Message m = ask_udp(server.v4(), q);
    INFO(m.describe());
    REQUIRE(m.ok);
    CHECK(Message::of_type(m.answer, qtype::A).size() == 2);
    CHECK(Message::of_type(m.answer, 46).size() == 1);
  }
  CHECK(server.log().find("dnssec_error") == std::string::npos);
}
