// meridian as the primary of real secondaries: knotd and nsd each transfer the
// zone from meridian with TSIG, serve the same answers for every static name, and
// get a zone edit (new serial) through NOTIFY; `kdig AXFR` of meridian and of the
// secondary give the same records; unsigned and wrongly signed requests, and
// sources outside `allow`, are refused, each counted in /metrics; IXFR over UDP is
// the SOA alone. NOTIFY is signed with the secondary's key: both accept only signed
// NOTIFYs. knotd and
// nsd come from scripts/deps.sh (Debian `knot`, `nsd`): the test fails, not skips,
// without them.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <atomic>
#include <sstream>
#include <thread>
#include <tuple>

#include "integration/harness/dig.hpp"
#include "integration/harness/dns_client.hpp"
#include "integration/harness/knot_server.hpp"
#include "integration/harness/process.hpp"
#include "integration/support_backends/prometheus_text.hpp"

#include "admin/admin_client.hpp"

using namespace meridian::test;

namespace {

const char* const kSecret = "bWVyaWRpYW4tem9uZS10cmFuc2Zlci10ZXN0LWtleSE=";
const char* const kWrongSecret = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC13cm9uZyE=";

std::string zone_json(uint32_t serial, const std::vector<uint16_t>& notify_ports, const std::string& extra_records = "") {
  std::string notify;
  for (const uint16_t port : notify_ports) notify += (notify.empty() ? "\"127.0.0.1:" : ", \"127.0.0.1:") + std::to_string(port) + "\"";
  std::ostringstream z;
  z << R"({"origin": "xfr.test.", "ttl": 3600,
  "soa": {"mname": "ns1", "rname": "hostmaster", "serial": )" << serial << R"(, "refresh": 3600, "retry": 600,
          "expire": 1209600, "minimum": 300},
  "transfer": {"allow": [{"net": "127.0.0.1/32", "key": "xfr"}], "notify": [)" << notify << R"(]},
  "records": {
    "@":         {"NS": ["ns1", "ns2.example.net."], "MX": ["10 mail", "20 mx.example.net."],
                  "TXT": "\"v=spf1 -all\"", "A": "192.0.2.10", "CAA": "0 issue \"letsencrypt.org\""},
    "ns1":       {"A": "192.0.2.1", "AAAA": "2001:db8::1"},
    "mail":      {"A": {"ttl": 600, "data": ["192.0.2.25", "192.0.2.26"]}},
    "www":       {"CNAME": "app"},
    "app":       {"service": "web", "TXT": "\"dynamic beside static\""},
    "static":    {"A": "192.0.2.50", "AAAA": "2001:db8::50"},
    "*.wild":    {"A": "192.0.2.80", "TXT": "\"wildcard\""},
    "_sip._udp": {"SRV": "10 60 5060 static"},
    "sub":       {"NS": "ns.sub", "DS": "12345 13 2 e2d3c916f6deeac73294e8268fb5885044a833fc5459588f4a9184cfc41a5766"},
    "ns.sub":    {"A": "192.0.2.99"},
    "long":      {"TXT": "\")" << std::string(200, 'x') << R"(\""})" << extra_records << R"(
  }
})";
  return z.str();
}

std::string config() {
  return std::string(R"({
  "dns": {"listen": ["127.0.0.1:0"]},
  "zones": "zones/",
  "tsig": {"xfr": {"algorithm": "hmac-sha256", "secret_file": "xfr.key"}},
  "admin": {"listen": "127.0.0.1:0"},
  "services": {"web": {"policy": "failover", "ttl": 120,
               "regions": {"primary": {"endpoints": ["192.0.2.61", "192.0.2.62", "2001:db8::61"]},
                           "secondary": {"endpoints": ["192.0.2.71"]}}}}
})");
}

// meridian's /metrics, parsed (its admin address from the `listening` log line).
prom::Exposition scrape_metrics(const ServerProcess& meridian) {
  const std::string log = meridian.log();
  const std::string marker = "event=listening address=";
  for (std::size_t at = log.find(marker); at != std::string::npos; at = log.find(marker, at + 1)) {
    const std::size_t start = at + marker.size();
    const std::size_t end = log.find(' ', start);
    if (end == std::string::npos || log.compare(end, 22, " transports=admin-http") != 0) continue;
    const auto where = meridian::util::parse_host_port(log.substr(start, end - start));
    REQUIRE(where);
    const auto r = meridian::admin::admin_request(*where, "GET", "/metrics", "", seconds(30));
    REQUIRE_MESSAGE(r.ok, r.error);
    prom::Exposition e = prom::parse(r.body);
    REQUIRE_MESSAGE(e.ok(), e.error_text());
    return e;
  }
  FAIL("no admin-http listening line in the log:\n" << log);
  return {};
}

double transfers(const prom::Exposition& e, const char* qtype, const char* outcome) {
  return e.value("meridian_transfers_total", {{"qtype", qtype}, {"outcome", outcome}}).value_or(-1);
}

struct Transfer {
  CommandResult run;
  std::vector<std::string> records;  // "owner ttl class type rdata", whitespace folded, sorted
};

// kdig AXFR (with -y KEY when given), from `source` when given.
Transfer kdig_axfr(const Endpoint& server, const std::string& key, const std::string& source = "") {
  std::vector<std::string> argv = {"kdig", "@" + server.host, "-p", std::to_string(server.port), "+tcp", "+time=10",
                                   "+retry=0", "AXFR", "xfr.test."};
  if (!key.empty()) argv.insert(argv.begin() + 1, {"-y", key});
  if (!source.empty()) argv.insert(argv.begin() + 1, {"-b", source});
  Transfer t;
  t.run = run_command(argv);
  std::istringstream lines(t.run.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == ';') continue;
    std::istringstream words(line);
    std::string word, folded;
    while (words >> word) folded += (folded.empty() ? "" : " ") + word;
    // The TSIG records of each message are not zone data.
    if (folded.find(" TSIG ") != std::string::npos) continue;
    t.records.push_back(folded);
  }
  std::sort(t.records.begin(), t.records.end());
  return t;
}

std::string key_arg(const char* secret) { return std::string("hmac-sha256:xfr:") + secret; }

std::string knot_sections(uint16_t primary_port) {
  return std::string("key:\n"
                     "  - id: xfr\n"
                     "    algorithm: hmac-sha256\n"
                     "    secret: ") + kSecret + "\n"
         "remote:\n"
         "  - id: primary\n"
         "    address: 127.0.0.1@" + std::to_string(primary_port) + "\n"
         "    key: xfr\n"
         "acl:\n"
         "  - id: from_primary\n"
         "    address: 127.0.0.1\n"
         "    key: xfr\n"  // meridian signs its NOTIFY with the key the secondary transfers with
         "    action: notify\n"
         "  - id: transfer_out\n"
         "    address: 127.0.0.1\n"
         "    key: xfr\n"
         "    action: transfer\n";
}

uint32_t soa_serial(const Message& m) {
  for (const auto& r : m.answer)
    if (r.type == qtype::SOA) {
      std::istringstream words(r.key());
      std::string w;
      std::vector<std::string> all;
      while (words >> w) all.push_back(w);
      if (all.size() >= 5) return static_cast<uint32_t>(std::stoul(all[4]));
    }
  return 0;
}

// Every static name of the zone asked of both: the same rcode, answer and authority.
void compare_static_answers(const Endpoint& primary, const Endpoint& secondary) {
    const std::vector<std::pair<std::string, uint16_t>> cases = {
        {"xfr.test", qtype::SOA},        {"xfr.test", qtype::NS},          {"xfr.test", qtype::MX},
        {"xfr.test", qtype::TXT},        {"xfr.test", qtype::A},           {"xfr.test", qtype::CAA},
        {"ns1.xfr.test", qtype::A},      {"ns1.xfr.test", qtype::AAAA},    {"mail.xfr.test", qtype::A},
        {"www.xfr.test", qtype::CNAME},  {"static.xfr.test", qtype::A},    {"static.xfr.test", qtype::AAAA},
        {"a.wild.xfr.test", qtype::A},   {"b.wild.xfr.test", qtype::TXT},  {"_sip._udp.xfr.test", qtype::SRV},
        {"sub.xfr.test", qtype::NS},     {"sub.xfr.test", qtype::DS},      {"x.sub.xfr.test", qtype::A},
        {"long.xfr.test", qtype::TXT},   {"app.xfr.test", qtype::TXT},     {"nothere.xfr.test", qtype::A},
        {"static.xfr.test", qtype::MX},
    };
    for (const auto& [name, type] : cases) {
      CAPTURE(name);
      CAPTURE(type);
      const Message m = ask_udp(primary, QuerySpec(name, type));
      const Message k = ask_udp(secondary, QuerySpec(name, type));
      REQUIRE(m.ok);
      REQUIRE(k.ok);
      INFO("meridian:\n" << m.describe() << "secondary:\n" << k.describe());
      CHECK(m.rcode == k.rcode);
      CHECK(join_lines(section_keys(m.answer)) == join_lines(section_keys(k.answer)));
      CHECK(join_lines(section_keys(m.authority)) == join_lines(section_keys(k.authority)));
    }
}

// An edit with a new serial: the reload NOTIFYs the secondary, which transfers
// again at once (its own refresh would wait an hour). Returns the milliseconds it took.
long long edit_and_wait(const TempDir& dir, const std::string& zone_path, const std::vector<uint16_t>& notify,
                        const Endpoint& secondary, const std::string& logs) {
  dir.write("zones/xfr.test.json.tmp", zone_json(2026120602, notify, R"(, "added": {"A": "192.0.2.123"})"));
  std::rename(dir.file("zones/xfr.test.json.tmp").c_str(), zone_path.c_str());
  const auto edited = Clock::now();
  bool seen = false;
  while (!seen && Clock::now() < edited + seconds(30)) {
    const Message k = ask_udp(secondary, QuerySpec("added.xfr.test", qtype::A));
    seen = k.ok && k.rcode == rcode::NOERROR && k.answer.size() == 1;
    if (!seen) std::this_thread::sleep_for(milliseconds(100));
  }
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - edited).count();
  CHECK_MESSAGE(seen, "the secondary never served the edit:\n" << logs);
  return took;
}

// nsd (Debian `nsd`) in the foreground as a secondary of meridian, on its own
// port, with everything it writes under dir/nsd/; stopped on destruction.
class NsdSecondary {
 public:
  ~NsdSecondary() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    const auto end = Clock::now() + kStopDeadline;
    int status;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > end) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  // Starts nsd and waits until it serves the zone (transferred from primary).
  bool start(const std::string& nsd, const TempDir& dir, uint16_t port, const Endpoint& primary) {
    port_ = port;
    const std::string base = dir.file("nsd");
    const std::string conf = std::string("server:\n") +
        "  ip-address: 127.0.0.1@" + std::to_string(port) + "\n"
        "  port: " + std::to_string(port) + "\n"
        "  server-count: 1\n"
        "  username: \"\"\n"
        "  chroot: \"\"\n"
        "  zonesdir: \"" + base + "\"\n"
        "  zonelistfile: \"" + base + "/zone.list\"\n"
        "  xfrdfile: \"" + base + "/xfrd.state\"\n"
        "  xfrdir: \"" + base + "\"\n"
        "  pidfile: \"" + base + "/nsd.pid\"\n"
        "  database: \"\"\n"
        "  verbosity: 2\n"
        "  minimal-responses: yes\n"  // no NS in the authority of positive answers, as meridian
        "  rrl-ratelimit: 0\n"
        "remote-control:\n"
        "  control-enable: no\n"
        "key:\n"
        "  name: xfr\n"
        "  algorithm: hmac-sha256\n"
        "  secret: \"" + kSecret + "\"\n"
        "zone:\n"
        "  name: xfr.test.\n"
        "  zonefile: \"xfr.test.zone\"\n"
        "  request-xfr: 127.0.0.1@" + std::to_string(primary.port) + " xfr\n"
        "  allow-notify: 127.0.0.1 xfr\n"  // a signed NOTIFY only
        "  provide-xfr: 127.0.0.1 xfr\n";
    const std::string conf_path = dir.write("nsd/nsd.conf", conf);
    log_ = dir.file("nsd/nsd.log");
    const int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      ::execl(nsd.c_str(), nsd.c_str(), "-d", "-c", conf_path.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(log_fd);
    const auto end = Clock::now() + kStartDeadline;
    while (Clock::now() < end) {
      int status;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      const Message m = ask_udp_quick(QuerySpec("xfr.test.", qtype::SOA));
      if (m.ok && m.rcode == rcode::NOERROR && !m.answer.empty()) return true;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }
  Endpoint endpoint() const { return Endpoint{"127.0.0.1", port_}; }
  std::string log() const { return log_.empty() ? "" : read_file(log_); }

 private:
  Message ask_udp_quick(const QuerySpec& q) const {
    const auto r = udp_exchange(endpoint(), build_query(q), milliseconds(500), milliseconds(500));
    return r ? parse_message(*r) : Message{};
  }
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string log_;
};

}  // namespace

TEST_CASE("zone transfer: Knot DNS as a TSIG-keyed secondary of meridian") {
  const auto knotd = find_program("knotd");
  REQUIRE_MESSAGE(knotd, "knotd is not installed (scripts/deps.sh installs Debian's knot)");
  REQUIRE_MESSAGE(have_program("kdig"), "kdig is not installed (knot-dnsutils)");
  TempDir dir;
  const uint16_t knot_port = free_udp_tcp_port();
  REQUIRE(knot_port != 0);
  dir.write("xfr.key", std::string(kSecret) + "\n");
  const std::string zone_path = dir.write("zones/xfr.test.json", zone_json(2026120601, {knot_port}));
  const std::string config_path = dir.write("meridian.json", config());
  const CommandResult check = run_command({meridian_binary(), "check", "--config", config_path});
  CHECK_MESSAGE(check.exit_code == 0, check.out << check.err);
  // A transferable zone with dynamic names: `meridian check` says what secondaries get.
  CHECK_MESSAGE((check.out + check.err).find("transferable and has dynamic names") != std::string::npos,
                check.out << check.err);

  ServerProcess meridian;
  REQUIRE_MESSAGE(meridian.start(config_path), meridian.error());
  const Endpoint primary = meridian.v4();

  SUBCASE("kdig: the transfer, and the refusals") {
    const Transfer signed_axfr = kdig_axfr(primary, key_arg(kSecret));
    INFO(signed_axfr.run.out << signed_axfr.run.err);
    CHECK(signed_axfr.run.exit_code == 0);
    // apex 8 + the SOA again, ns1 2, mail 2, www, app 3 fallback + TXT, static 2, wild 2, srv, sub 2, ns.sub, long
    CHECK(signed_axfr.records.size() == 27);
    // The dynamic name as a client no rule matches gets it: every endpoint of the first region.
    CHECK(std::count_if(signed_axfr.records.begin(), signed_axfr.records.end(), [](const std::string& r) {
            return r.rfind("app.xfr.test. 120 IN A", 0) == 0 || r.rfind("app.xfr.test. 120 IN AAAA", 0) == 0;
          }) == 3);

    const Transfer unsigned_axfr = kdig_axfr(primary, "");
    CHECK_MESSAGE(unsigned_axfr.records.empty(), unsigned_axfr.run.out);
    CHECK_MESSAGE((unsigned_axfr.run.out + unsigned_axfr.run.err).find("REFUSED") != std::string::npos, unsigned_axfr.run.out << unsigned_axfr.run.err);
    const Transfer wrong_key = kdig_axfr(primary, key_arg(kWrongSecret));
    CHECK(wrong_key.records.empty());
    CHECK_MESSAGE((wrong_key.run.out + wrong_key.run.err).find("BADSIG") != std::string::npos,
                  wrong_key.run.out << wrong_key.run.err);
    const Transfer wrong_name = kdig_axfr(primary, "hmac-sha256:other:" + std::string(kSecret));
    CHECK(wrong_name.records.empty());
    CHECK_MESSAGE((wrong_name.run.out + wrong_name.run.err).find("BADKEY") != std::string::npos,
                  wrong_name.run.out << wrong_name.run.err);
    // The right key from a source outside "allow"
    const Transfer elsewhere = kdig_axfr(primary, key_arg(kSecret), "127.0.0.2");
    CHECK(elsewhere.records.empty());
    CHECK_MESSAGE((elsewhere.run.out + elsewhere.run.err).find("REFUSED") != std::string::npos, elsewhere.run.out << elsewhere.run.err);

    // dig's AXFR (unsigned) is refused too; IXFR over UDP is the SOA alone.
    const CommandResult dig_axfr = run_command({"dig", "@127.0.0.1", "-p", std::to_string(primary.port), "+time=10",
                                                "+tries=1", "AXFR", "xfr.test."});
    CHECK_MESSAGE(dig_axfr.out.find("Transfer failed") != std::string::npos, dig_axfr.out);
    QuerySpec ixfr("xfr.test.", 251);
    const Message udp = ask_udp(primary, ixfr);
    REQUIRE(udp.ok);
    CHECK(udp.rcode == rcode::NOERROR);
    REQUIRE(udp.answer.size() == 1);
    CHECK(udp.answer[0].type == qtype::SOA);
    const Message udp_axfr = ask_udp(primary, QuerySpec("xfr.test.", qtype::AXFR));
    CHECK(udp_axfr.rcode == rcode::REFUSED);

    // Each request above counted by type and outcome; the two TSIG failures by error.
    const prom::Exposition m = scrape_metrics(meridian);
    CHECK(transfers(m, "AXFR", "served") == 1);
    CHECK(transfers(m, "AXFR", "refused") == 3);  // unsigned kdig, the key from outside "allow", dig
    CHECK(transfers(m, "AXFR", "tsig_failed") == 2);
    CHECK(transfers(m, "IXFR", "served") == 0);
    CHECK(transfers(m, "AXFR", "busy") == 0);
    CHECK(m.value("meridian_tsig_failures_total", {{"error", "BADSIG"}}).value_or(-1) == 1);
    CHECK(m.value("meridian_tsig_failures_total", {{"error", "BADKEY"}}).value_or(-1) == 1);
    CHECK(m.value("meridian_tsig_failures_total", {{"error", "BADTIME"}}).value_or(-1) == 0);
    CHECK(m.value("meridian_notify_sent_total").value_or(-1) == 0);  // no serial changed yet
  }

  SUBCASE("knotd transfers, answers as meridian does, and follows an edit through NOTIFY") {
    KnotServer knot;
    knot.prefer_port(knot_port);
    REQUIRE_MESSAGE(knot.start(*knotd, dir, {{"xfr.test.", "", "    master: primary\n    acl: [from_primary, transfer_out]\n"}},
                               knot_sections(primary.port)),
                    "knotd did not transfer the zone:\n" << knot.log() << "\nmeridian:\n" << meridian.log());
    REQUIRE_MESSAGE(knot.endpoint().port == knot_port, "knotd could not take the port meridian notifies");

    compare_static_answers(primary, knot.endpoint());
    // kdig AXFR of the secondary gives what meridian sent it.
    const Transfer from_meridian = kdig_axfr(primary, key_arg(kSecret));
    const Transfer from_knot = kdig_axfr(knot.endpoint(), key_arg(kSecret));
    CHECK(from_meridian.records.size() == 27);
    CHECK(join_lines(from_meridian.records) == join_lines(from_knot.records));

    const auto took = edit_and_wait(dir, zone_path, {knot_port}, knot.endpoint(), knot.log() + "\nmeridian:\n" + meridian.log());
    MESSAGE("the edit reached knotd in " << took << " ms");
    CHECK(soa_serial(ask_udp(knot.endpoint(), QuerySpec("xfr.test", qtype::SOA))) == 2026120602u);
    CHECK(meridian.log().find("notify_acknowledged") != std::string::npos);
    // knotd's transfers (its first, its refresh after the NOTIFY) and the NOTIFY, counted.
    const prom::Exposition m = scrape_metrics(meridian);
    CHECK(transfers(m, "AXFR", "served") + transfers(m, "IXFR", "served") >= 3);  // knotd twice, kdig once
    CHECK(m.value("meridian_notify_sent_total").value_or(-1) >= 1);
    CHECK(m.value("meridian_notify_total", {{"outcome", "acknowledged"}}).value_or(-1) == 1);
    CHECK(m.value("meridian_notify_total", {{"outcome", "abandoned"}}).value_or(-1) == 0);
    CHECK(m.value("meridian_tsig_failures_total", {{"error", "BADSIG"}}).value_or(-1) == 0);
  }
  CHECK(meridian.stop() == 0);
}

namespace {

// delv's trust anchor for xfr.test. from a `meridian dnssec keygen` .key file.
std::string xfr_trust_anchor(const std::string& key_file) {
  std::istringstream text(read_file(key_file));
  std::string line;
  while (std::getline(text, line)) {
    if (line.empty() || line[0] == ';' || line.find("DNSKEY") == std::string::npos) continue;
    std::istringstream rest(line.substr(line.find("DNSKEY") + 6, line.find(';') - line.find("DNSKEY") - 6));
    std::string flags, protocol, algorithm, key, part;
    rest >> flags >> protocol >> algorithm;
    while (rest >> part) key += part;
    return "trust-anchors {\n  xfr.test. static-key " + flags + " " + protocol + " " + algorithm + " \"" + key +
           "\";\n};\n";
  }
  return {};
}

}  // namespace

TEST_CASE("zone transfer: a signed zone goes out with DNSKEY, RRSIGs and its NSEC chain; knotd serves it, delv validates") {
  const auto knotd = find_program("knotd");
  REQUIRE_MESSAGE(knotd, "knotd is not installed (scripts/deps.sh installs Debian's knot)");
  REQUIRE(have_program("kdig"));
  REQUIRE(have_program("delv"));
  TempDir dir;
  dir.write("xfr.key", std::string(kSecret) + "\n");
  std::filesystem::create_directories(dir.file("zones/keys"));
  const CommandResult made = run_command({meridian_binary(), "dnssec", "keygen", "xfr.test.", "-d", dir.file("zones/keys")});
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  const std::string anchors = dir.write("anchors.conf", xfr_trust_anchor(made.out.substr(0, made.out.find('\n')) + ".key"));
  std::string zone = zone_json(2026120601, {});
  zone.replace(zone.find("\"transfer\":"), 0, "\"dnssec\": {\"keys\": \"keys/\"},\n  ");
  dir.write("zones/xfr.test.json", zone);
  ServerProcess meridian;
  REQUIRE_MESSAGE(meridian.start(dir.write("meridian.json", config())), meridian.error());
  const Endpoint primary = meridian.v4();

  const Transfer axfr = kdig_axfr(primary, key_arg(kSecret));
  INFO(axfr.run.out << axfr.run.err);
  REQUIRE(axfr.run.exit_code == 0);
  auto count = [&](const std::string& needle) {
    return std::count_if(axfr.records.begin(), axfr.records.end(),
                         [&](const std::string& r) { return r.find(needle) != std::string::npos; });
  };
  CHECK(count(" IN DNSKEY ") == 1);
  CHECK(count(" RRSIG DNSKEY ") == 1);
  CHECK(count(" RRSIG SOA ") == 1);
  CHECK(count(" RRSIG A ") >= 4);       // apex, ns1, mail, static, the wildcard, app's fallback
  CHECK(count(" RRSIG NSEC ") >= 20);   // each name's NSEC and each gap's
  CHECK(count(" RRSIG NS ") == 1);      // the apex's; sub's NS (a cut) is not signed
  CHECK(count("ns.sub.xfr.test. 3600 IN RRSIG") == 0);  // glue

  KnotServer knot;
  REQUIRE_MESSAGE(knot.start(*knotd, dir, {{"xfr.test.", "", "    master: primary\n    acl: [from_primary, transfer_out]\n"}},
                             knot_sections(primary.port)),
                  "knotd did not transfer the zone:\n" << knot.log() << "\nmeridian:\n" << meridian.log());
  const Endpoint secondary = knot.endpoint();
  auto delv = [&](const std::string& name, const std::string& type) {
    return run_command({"delv", "@" + secondary.host, "-p", std::to_string(secondary.port), "-a", anchors,
                        "+root=xfr.test.", name, type});
  };
  for (const auto& [name, type, expect] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"static.xfr.test.", "A", "192.0.2.50"}, {"xfr.test.", "MX", "10 mail.xfr.test."},
           {"app.xfr.test.", "A", "192.0.2.61"}, {"x.wild.xfr.test.", "TXT", "wildcard"},
           {"static.xfr.test.", "TXT", "negative response, fully validated"},
           {"nothing.xfr.test.", "A", "negative response, fully validated"}}) {
    CAPTURE(name);
    CAPTURE(type);
    const CommandResult r = delv(name, type);
    INFO(r.out << r.err);
    CHECK(r.out.find("fully validated") != std::string::npos);
    CHECK(r.out.find(expect) != std::string::npos);
    CHECK(r.out.find("resolution failed") == std::string::npos);
  }
  CHECK(meridian.stop() == 0);
}

TEST_CASE("zone transfer: NSD as a TSIG-keyed secondary of meridian") {
  const auto nsd = find_program("/usr/sbin/nsd");
  REQUIRE_MESSAGE(nsd, "nsd is not installed (scripts/deps.sh installs Debian's nsd)");
  TempDir dir;
  const uint16_t nsd_port = free_udp_tcp_port();
  REQUIRE(nsd_port != 0);
  dir.write("xfr.key", std::string(kSecret) + "\n");
  const std::string zone_path = dir.write("zones/xfr.test.json", zone_json(2026120601, {nsd_port}));
  ServerProcess meridian;
  REQUIRE_MESSAGE(meridian.start(dir.write("meridian.json", config())), meridian.error());
  NsdSecondary secondary;
  REQUIRE_MESSAGE(secondary.start(*nsd, dir, nsd_port, meridian.v4()),
                  "nsd did not transfer the zone:\n" << secondary.log() << "\nmeridian:\n" << meridian.log());
  compare_static_answers(meridian.v4(), secondary.endpoint());
  const Transfer from_meridian = kdig_axfr(meridian.v4(), key_arg(kSecret));
  const Transfer from_nsd = kdig_axfr(secondary.endpoint(), key_arg(kSecret));
  CHECK(from_meridian.records.size() == 27);
  CHECK(join_lines(from_meridian.records) == join_lines(from_nsd.records));
  const auto took = edit_and_wait(dir, zone_path, {nsd_port}, secondary.endpoint(), meridian.log());
  MESSAGE("the edit reached nsd in " << took << " ms");
  CHECK(soa_serial(ask_udp(secondary.endpoint(), QuerySpec("xfr.test", qtype::SOA))) == 2026120602u);
  CHECK(meridian.stop() == 0);
}

TEST_CASE("zone transfer: a zone of 100k names transfers while a fixed-rate query load loses nothing") {
  REQUIRE_MESSAGE(have_program("kdig"), "kdig is not installed (knot-dnsutils)");
  TempDir dir;
  constexpr int kNames = 100000;
  std::string records;
  records.reserve(kNames * 40);
  for (int i = 0; i < kNames; ++i)
    records += ",\n    \"h" + std::to_string(i) + "\": {\"A\": \"10." + std::to_string(i >> 16) + "." +
               std::to_string((i >> 8) & 255) + "." + std::to_string(i & 255) + "\"}";
  dir.write("xfr.key", std::string(kSecret) + "\n");
  dir.write("zones/xfr.test.json", zone_json(2026120601, {}, records));
  ServerProcess meridian;
  REQUIRE_MESSAGE(meridian.start(dir.write("meridian.json", config()), seconds(120)), meridian.error());
  const Endpoint primary = meridian.v4();

  // One query every 2 ms, each waiting for its answer, until the transfer is done.
  std::atomic<bool> transferring{true};
  std::atomic<unsigned> sent{0}, answered{0};
  std::atomic<long long> slowest_ms{0};
  std::thread load([&] {
    const Bytes query = build_query(QuerySpec("static.xfr.test", qtype::A));
    auto next = Clock::now();
    for (unsigned i = 0; i < 200000 && (transferring.load() || i < 100); ++i) {
      std::this_thread::sleep_until(next);
      next += milliseconds(2);
      const auto asked = Clock::now();
      ++sent;
      const auto reply = udp_exchange(primary, query, seconds(5), seconds(5));  // no resend: a loss shows
      if (reply && parse_message(*reply).rcode == rcode::NOERROR) ++answered;
      const long long ms = std::chrono::duration_cast<milliseconds>(Clock::now() - asked).count();
      if (ms > slowest_ms.load()) slowest_ms = ms;
    }
  });
  const auto started = Clock::now();
  const Transfer t = kdig_axfr(primary, key_arg(kSecret));
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - started).count();
  transferring = false;
  load.join();
  CHECK_MESSAGE(t.run.exit_code == 0, t.run.err);
  CHECK(t.records.size() == static_cast<std::size_t>(kNames) + 27);  // the 100k names and the test zone
  MESSAGE("100k-name transfer in " << took << " ms; " << answered.load() << "/" << sent.load()
                                   << " queries answered meanwhile, slowest " << slowest_ms.load() << " ms");
  CHECK(sent.load() >= 100);
  CHECK(answered.load() == sent.load());
  CHECK(meridian.stop() == 0);
}
