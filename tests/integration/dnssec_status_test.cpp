// What an operator sees of DNSSEC on a running server: /status (keys and tags, the
// signature expiry horizon, denial mode, cache sizes), /metrics (signatures made,
// cache hits, compact NSECs signed online and held) and `_explain.NAME TXT`.
#include <doctest/doctest.h>

#include <ctime>
#include <filesystem>

#include "integration/harness/dig.hpp"
#include "integration/harness/dns_client.hpp"
#include "integration/support_backends/meridian_fixture.hpp"
#include "integration/support_backends/prometheus_text.hpp"

using namespace meridian::test;
using namespace meridian::test::backends;

namespace {

Message ask_do(const Endpoint& ep, const std::string& name, uint16_t type) {
  QuerySpec q(name, type);
  q.edns = Edns{};
  q.edns->do_bit = true;
  return ask_udp(ep, q);
}

double metric(const std::string& text, const std::string& name, const std::map<std::string, std::string>& labels = {}) {
  return prom::parse(text).value(name, labels).value_or(-1);
}

}  // namespace

TEST_CASE("/status, /metrics and _explain show the keys, the expiry horizon and the signature caches") {
  Meridian m;
  std::filesystem::create_directories(m.dir.file("zones/keys"));
  const CommandResult made =
      run_command({meridian_binary(), "dnssec", "keygen", "status.test.", "-d", m.dir.file("zones/keys")});
  REQUIRE_MESSAGE(made.exit_code == 0, made.err);
  // "DIR/Kstatus.test.+013+TAG": the tag /status must show.
  const std::string base = made.out.substr(0, made.out.find('\n'));
  const int tag = std::stoi(base.substr(base.rfind('+') + 1));
  const json config = {
      {"dns", {{"listen", json::array({"127.0.0.1:0"})}, {"threads", 1}}},
      {"zones", "zones/"},
      {"health", "health/"},
      {"admin", {{"listen", "127.0.0.1:0"}, {"token", "t"}}},
      {"services",
       {{"web", {{"policy", "failover"}, {"ttl", 300}, {"order", {"eu"}}, {"answers", "all"},
                 {"regions", {{"eu", {{"endpoints", {"192.0.2.11", "192.0.2.12"}}}}}}}}}}};
  const json zone = json::parse(R"({"origin": "status.test.", "ttl": 300, "dnssec": {"keys": "keys/"},
    "soa": {"mname": "ns1", "rname": "hostmaster", "serial": 1, "refresh": 7200, "retry": 900, "expire": 1209600,
            "minimum": 60},
    "records": {"@": {"NS": "ns1"}, "ns1": {"A": "192.0.2.1"}, "app": {"service": "web"}}})");
  REQUIRE_MESSAGE(m.start(config, {{"status.test.json", zone}}), m.error);
  REQUIRE(wait_for([&] { return !m.status().is_null(); }));

  const json status = m.status();
  INFO(status.dump(2));
  REQUIRE(status.contains("dnssec"));
  const json& dnssec = status["dnssec"];
  REQUIRE(dnssec["zones"].size() == 1);
  const json& z = dnssec["zones"][0];
  CHECK(z["zone"] == "status.test.");
  REQUIRE(z["keys"].size() == 1);
  CHECK(z["keys"][0]["tag"] == tag);
  CHECK(z["keys"][0]["role"] == "CSK");
  const auto now = static_cast<int64_t>(std::time(nullptr));
  CHECK(z["expiration"].get<int64_t>() > now + 13 * 86400);  // 14 days by default
  CHECK(z["refresh_at"].get<int64_t>() < z["expiration"].get<int64_t>());
  CHECK(z["denial"] == "compact");
  CHECK(dnssec["answer_signatures"].get<int64_t>() >= 1);  // app's address set
  CHECK(dnssec["compact_denial"]["online_signatures_per_second"] == 1000);

  // Three names that do not exist, each asked twice: three signed online, then cache hits.
  const double signed_before = metric(m.metrics(), "meridian_dnssec_online_signatures_total");
  CHECK(signed_before == 0);
  for (int round = 0; round < 2; ++round)
    for (const char* name : {"no1.status.test.", "no2.status.test.", "no3.status.test."}) {
      const Message a = ask_do(m.dns, name, qtype::A);
      REQUIRE(a.ok);
      CHECK(a.rcode == rcode::NOERROR);
    }
  const std::string metrics = m.metrics();
  CHECK(metric(metrics, "meridian_dnssec_online_signatures_total") == 3);
  CHECK(metric(metrics, "meridian_dnssec_online_cache_entries") == 3);
  CHECK(metric(metrics, "meridian_dnssec_online_over_budget_total") == 0);
  CHECK(metric(metrics, "meridian_dnssec_signatures_made_total", {{"kind", "zone"}}) > 0);
  CHECK(metric(metrics, "meridian_dnssec_signatures_made_total", {{"kind", "answer"}}) >= 1);
  CHECK(metric(metrics, "meridian_dnssec_answer_cache_entries") >= 1);
  const json after = m.status()["dnssec"]["compact_denial"];
  CHECK(after["signed"] == 3);
  CHECK(after["cache_entries"] == 3);

  const DigResult explain = dig(m.dns, {"_explain.app.status.test", "TXT"});
  INFO(explain.output);
  CHECK(explain.output.find("dnssec: zone status.test. signed with CSK " + std::to_string(tag)) != std::string::npos);
  CHECK(explain.output.find("denial compact") != std::string::npos);

  // The start and a reload of the changed zone sign its dynamic answers before the
  // publish (with the state mutex released): the publish itself signs none.
  CHECK(metric(metrics, "meridian_dnssec_publish_answer_signatures_total") == 0);
  const double answers_before = metric(metrics, "meridian_dnssec_signatures_made_total", {{"kind", "answer"}});
  json changed = zone;
  changed["soa"]["serial"] = 2;
  changed["records"]["extra"] = {{"A", "192.0.2.99"}};
  write_atomic(m.dir.file("zones/status.test.json"), changed.dump(2) + "\n");
  m.sighup();
  REQUIRE(m.wait_log("event=reload_done", 1));
  REQUIRE(wait_for([&] { return m.one("extra.status.test.") == "192.0.2.99"; }));
  const std::string reloaded = m.metrics();
  CHECK(metric(reloaded, "meridian_dnssec_signatures_made_total", {{"kind", "answer"}}) > answers_before);  // new window
  CHECK(metric(reloaded, "meridian_dnssec_publish_answer_signatures_total") == 0);
  const Message app = ask_do(m.dns, "app.status.test.", qtype::A);
  REQUIRE(app.ok);
  CHECK(Message::of_type(app.answer, qtype::A).size() == 2);
  CHECK(Message::of_type(app.answer, 46).size() == 1);  // RRSIG

  // A health change to a set never signed ({.11} alone) is what a publish signs itself.
  m.dir.write("health/ops.json", R"({"web/eu/192.0.2.12": {"state": "down", "reason": "test"}})");
  REQUIRE(wait_for([&] { return m.one("app.status.test.") == "192.0.2.11"; }));
  CHECK(metric(m.metrics(), "meridian_dnssec_publish_answer_signatures_total") >= 1);
  const Message one = ask_do(m.dns, "app.status.test.", qtype::A);
  CHECK(Message::of_type(one.answer, 46).size() == 1);
  CHECK(m.log_clean());
}
